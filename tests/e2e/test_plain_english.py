"""Plain English through the bot's real HTTP endpoint: guess -> preview of the best match -> switching to
another candidate (on any replica) -> confirm; no match; what counts as an app key."""

from __future__ import annotations

import aiohttp
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack, SlackCall
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import assert_valid_blocks, buttons, text_of
from tests.support.metrics import idle

WORDS = "send an email to Bob about lunch on Friday"


def switch_buttons(call: SlackCall) -> dict[str, str]:
    """label -> value of every "Not this?" button in a posted or updated message."""
    found = {}
    for block in call.args.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button" and element["action_id"].startswith("zap_switch_"):
                found[element["text"]["text"]] = element["value"]
    return found


def action_ids(call: SlackCall) -> dict[str, str]:
    """action_id -> value of every button (the switch buttons have one action_id each)."""
    found = {}
    for block in call.args.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


async def test_plain_english_previews_the_best_guess_and_offers_the_next_ones(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """Words that are not an app key go to guess-actions; the best match is previewed at once with the
    same Confirm/Cancel buttons, the next candidates are offered as buttons and kept with the preview."""
    response = await bot.slack.command(WORDS, user="U1", channel="C1")
    assert response.status == 200
    assert "Looking for the Zapier action" in response.json()["text"]
    [guess] = await fake_zapier.wait_for("guess")
    assert guess.json == {"query": WORDS, "action_types": ["write", "search", "read"], "count": 5}
    assert guess.headers["x-api-key"] == "test-zapier-key"
    [preview] = await fake_zapier.wait_for("preview")
    assert preview.query == {"preview_only": "true"}
    assert preview.json == {
        "instructions": WORDS,
        "app": "GmailV2API",
        "action": "send_email",
        "action_type": "write",
        "params": {},
    }
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C1" and "thread_ts" not in post.args
    assert {"zap_confirm", "zap_cancel"} <= set(buttons(post))
    shown = text_of(post)
    assert "Send Email" in shown and "best fit" in shown and "Preview" in shown
    offered = switch_buttons(post)
    assert list(offered) == [
        "Microsoft Outlook: Send Email",
        "Slack: Send Direct Message",
        "Gmail: Find Email",
    ]
    assert_valid_blocks(post.args["blocks"])
    preview_id = buttons(post)["zap_cancel"]
    stored = await redis_client.hgetall(f"zapbot:preview:{preview_id}")
    assert stored["state"] == "pending" and "MicrosoftOutlookCLIAPI" in stored["candidates"]
    assert fake_zapier.of("execute") == []


async def test_switching_replaces_the_preview_in_place_and_confirm_runs_the_chosen_action(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """Picking another candidate previews it with the same instructions, updates the same message (the old
    preview can no longer be confirmed), and Confirm then runs the chosen action, result in the thread."""
    await bot.slack.command(WORDS)
    [post] = await fake_slack.wait_for("chat.postMessage")
    ts, old_id = post.answer["ts"], buttons(post)["zap_cancel"]
    await bot.slack.block_action(
        "zap_switch_1", switch_buttons(post)["Microsoft Outlook: Send Email"], user="U2", message_ts=ts
    )
    previews = await fake_zapier.wait_for("preview", 2)
    assert previews[1].json["app"] == "MicrosoftOutlookCLIAPI"
    assert previews[1].json["instructions"] == WORDS
    [update] = await fake_slack.wait_for("chat.update")
    assert update.args["channel"] == "C1" and update.args["ts"] == ts
    shown = text_of(update)
    assert "<@U2> switched this preview to *Microsoft Outlook: Send Email*" in shown
    assert "<@U1> wants to run" in shown  # still the requester's preview
    assert list(switch_buttons(update)) == [
        "Gmail: Send Email",
        "Slack: Send Direct Message",
        "Gmail: Find Email",
    ]
    assert_valid_blocks(update.args["blocks"])
    new_id = buttons(update)["zap_cancel"]
    assert new_id != old_id
    assert (await redis_client.hgetall(f"zapbot:preview:{old_id}"))["state"] == "cancelled"
    new = await redis_client.hgetall(f"zapbot:preview:{new_id}")
    assert new["state"] == "pending" and new["message_ts"] == ts and new["requested_by"] == "U1"

    await bot.slack.block_action("zap_confirm", old_id, user="U3", message_ts=ts)  # a stale click
    [told] = await fake_slack.wait_for_response_posts(1)
    assert "cancelled" in text_of(told.json)
    await bot.slack.block_action("zap_confirm", new_id, user="U3", message_ts=ts)
    [run] = await fake_zapier.wait_for("execute")
    assert run.json["app"] == "MicrosoftOutlookCLIAPI" and run.json["action"] == "send_email"
    assert run.query.get("skip_param_guessing") == "true"
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == ts and "success" in text_of(posts[1])
    assert len(fake_zapier.of("execute")) == 1


async def test_a_switch_click_is_handled_by_any_replica(
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
) -> None:
    """The candidates live in Redis with the preview: a second bot process handles the click."""
    await bot.slack.command(WORDS)
    [post] = await fake_slack.wait_for("chat.postMessage")
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as other:
        value = switch_buttons(post)["Slack: Send Direct Message"]
        await other.slack.block_action("zap_switch_2", value, message_ts=post.answer["ts"])
        [update] = await fake_slack.wait_for("chat.update")
    assert update.args["ts"] == post.answer["ts"]
    assert (await fake_zapier.wait_for("preview", 2))[1].json["action"] == "direct_message"


async def test_a_mention_in_plain_english_previews_in_its_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """@zapbot with plain words guesses the same way and previews in the mention's thread."""
    await bot.slack.mention("find the email from Bob", ts="1700000200.000001", channel="C7")
    [guess] = await fake_zapier.wait_for("guess")
    assert guess.json["query"] == "find the email from Bob"
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C7" and post.args["thread_ts"] == "1700000200.000001"
    assert (await fake_zapier.wait_for("preview"))[0].json["action"] == "find_email"
    assert (await fake_zapier.wait_for("preview"))[0].json["action_type"] == "search"


async def test_no_match_says_so_with_a_hint_and_posts_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """When Zapier guesses nothing, only the caller hears so, with how to phrase it or find the keys."""
    await bot.slack.command("xyzzy plugh frobnicate")
    [told] = await fake_slack.wait_for_response_posts(1)
    shown = text_of(told.json)
    assert "couldn't find a Zapier action" in shown and "xyzzy plugh frobnicate" in shown
    assert "/zap apps" in shown
    assert told.json["response_type"] == "ephemeral"
    assert_valid_blocks(told.json["blocks"])
    await idle(bot)
    assert fake_zapier.of("preview") == [] and fake_slack.of("chat.postMessage") == []


async def test_only_key_shaped_first_words_are_app_keys(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`SlackAPI …` and `WebhooksCLIAPI@1.0.9 …` run directly; `GitHub …`, `OK …` and `slackapi …` are
    plain English (app keys start upper-case and end in API), so they are guessed, not sent as app keys."""
    await bot.slack.command("SlackAPI channel_message say hi")
    await bot.slack.command("WebhooksCLIAPI@1.0.9 catch_hook:read see what came in")
    previews = await fake_zapier.wait_for("preview", 2)
    assert sorted(p.json["app"] for p in previews) == ["SlackAPI", "WebhooksCLIAPI@1.0.9"]
    assert fake_zapier.of("guess") == []
    for words in (
        "GitHub open an issue about login",
        "OK send hi to the team",
        "slackapi channel_message hi",
    ):
        await bot.slack.command(words)
    guesses = await fake_zapier.wait_for("guess", 3)
    assert sorted(g.json["query"] for g in guesses) == sorted(
        ["GitHub open an issue about login", "OK send hi to the team", "slackapi channel_message hi"]
    )
    await fake_slack.wait_for("chat.postMessage", 4)  # two direct previews, two guessed ones
    assert {p.json["app"] for p in fake_zapier.of("preview")} <= {
        "SlackAPI",
        "WebhooksCLIAPI@1.0.9",
        "GmailV2API",
        "MicrosoftOutlookCLIAPI",
    }


async def test_when_the_best_guess_cannot_be_previewed_the_others_are_offered_as_commands(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Zapier refusing to preview the best match is explained in its words, with the other candidates as
    exact /zap lines; nothing is posted in the channel."""
    fake_zapier.script("preview", Reply(status=400, json={"error": "Gmail is not connected."}))
    await bot.slack.command(WORDS)
    [told] = await fake_slack.wait_for_response_posts(1)
    shown = text_of(told.json)
    assert "Gmail: Send Email" in shown and "Gmail is not connected." in shown and "Nothing was run" in shown
    assert f"/zap MicrosoftOutlookCLIAPI send_email {WORDS}" in shown
    assert fake_slack.of("chat.postMessage") == []


async def test_a_switch_after_confirm_changes_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Once someone confirmed, a click on another candidate is refused and previews nothing new."""
    await bot.slack.command(WORDS)
    [post] = await fake_slack.wait_for("chat.postMessage")
    ts = post.answer["ts"]
    await bot.slack.block_action("zap_confirm", buttons(post)["zap_confirm"], user="U2", message_ts=ts)
    await fake_zapier.wait_for("execute")
    await bot.slack.block_action("zap_switch_1", action_ids(post)["zap_switch_1"], user="U3", message_ts=ts)
    [told] = await fake_slack.wait_for_response_posts(1)
    assert "<@U2> already confirmed" in text_of(told.json)
    assert len(fake_zapier.of("preview")) == 1
    assert all("switched" not in text_of(u) for u in fake_slack.of("chat.update"))


async def test_forged_switch_clicks_change_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """An unknown preview id, an index out of range, or a click from another channel changes nothing."""
    await bot.slack.command(WORDS)
    [post] = await fake_slack.wait_for("chat.postMessage")
    preview_id, ts = buttons(post)["zap_cancel"], post.answer["ts"]
    await bot.slack.block_action("zap_switch_1", "forged:1", message_ts=ts)
    await bot.slack.block_action("zap_switch_9", f"{preview_id}:9", message_ts=ts)
    await bot.slack.block_action("zap_switch_1", f"{preview_id}:1", channel="C999", message_ts=ts)
    told = await fake_slack.wait_for_response_posts(3)
    assert all("don't know this preview" in text_of(t.json) for t in told)
    assert len(fake_zapier.of("preview")) == 1 and fake_slack.of("chat.update") == []


async def test_an_unreadable_guess_answer_is_explained(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A guess-actions answer that is not a list of actions tells the caller it could not be read."""
    fake_zapier.script("guess", Reply(json={"actions": "soon"}, off_spec=True))
    await bot.slack.command(WORDS)
    [told] = await fake_slack.wait_for_response_posts(1)
    assert "could not be read" in text_of(told.json)
    assert fake_zapier.of("preview") == []
