"""The main path end to end, through the bot's real HTTP endpoint, a real Redis and the stand-ins:
/zap -> preview -> Confirm/Cancel/expiry -> result in the thread."""

from __future__ import annotations

import asyncio
import re
import time

import aiohttp
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack, SlackCall
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import assert_valid_blocks, buttons, command_to_preview, text_of
from tests.support.metrics import idle

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'


async def test_command_acks_at_once_and_posts_a_preview_with_buttons(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """/zap acks with a note only the caller sees, then posts the preview in the channel with buttons."""
    response = await bot.slack.command(COMMAND, user="U1", channel="C1")
    assert response.status == 200
    assert "preview" in response.json()["text"].lower()
    [preview_request] = await fake_zapier.wait_for("preview")
    assert preview_request.query["preview_only"] == "true"
    assert preview_request.headers["x-api-key"] == "test-zapier-key"
    assert preview_request.json == {
        "instructions": "Send a joke about pirates delivering pizza",
        "app": "SlackAPI",
        "action": "channel_message",
        "action_type": "write",
        "params": {"channel": {"mode": "guess", "value": "#general"}},
    }
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C1"
    assert "thread_ts" not in post.args  # a slash command's preview is the root of a new thread
    assert set(buttons(post)) == {"zap_confirm", "zap_edit", "zap_cancel"}
    shown = text_of(post)
    assert "<@U1>" in shown and "Channel Message" in shown and "pirates delivering pizza" in shown
    assert "#general" in shown and "guessed by the AI" in shown  # where each value came from
    assert "Expires" in shown
    assert_valid_blocks(post.args["blocks"])
    preview_id = buttons(post)["zap_cancel"]
    stored = await redis_client.hgetall(f"zapbot:preview:{preview_id}")
    assert stored["state"] == "pending" and stored["message_ts"] == post.answer["ts"]
    assert await redis_client.ttl(f"zapbot:preview:{preview_id}") > 0
    assert fake_zapier.of("execute") == []  # a preview runs nothing


async def test_confirm_runs_exactly_what_was_previewed_and_posts_the_result_in_the_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """Confirm sends the resolved params locked, skipping guessing; threads the result; closes the preview."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    response = await bot.slack.block_action(
        "zap_confirm", previewed.preview_id, user="U2", message_ts=previewed.ts
    )
    assert response.status == 200
    [run] = await fake_zapier.wait_for("execute")
    assert run.query.get("skip_param_guessing") == "true"
    assert "preview_only" not in run.query
    assert run.json["params"] == {
        "channel": {"mode": "locked", "value": "#general"},
        "text": {"mode": "locked", "value": "Send a joke about pirates delivering pizza"},
    }
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    result = posts[1]
    assert result.args["thread_ts"] == previewed.ts and result.args["channel"] == "C1"
    shown = text_of(result)
    assert "success" in shown and "Channel Message" in shown and "Message Text" in shown
    assert "01HLOG" in shown  # the execution_log_id in small print
    assert_valid_blocks(result.args["blocks"])
    updates = await fake_slack.wait_for("chat.update", 2)
    assert updates[-1].args["ts"] == previewed.ts
    assert "Confirmed by <@U2>" in text_of(updates[-1]) and buttons(updates[-1]) == {}
    stored = await redis_client.hgetall(f"zapbot:preview:{previewed.preview_id}")
    assert stored["state"] == "succeeded" and stored["decided_by"] == "U2"
    execution = await redis_client.hgetall(f"zapbot:execution:{run_answer_log_id(result)}")
    assert execution["status"] == "success" and execution["confirmed_by"] == "U2"
    assert execution["message_ts"] == result.answer["ts"] and execution["thread_ts"] == previewed.ts


def run_answer_log_id(result_post: SlackCall) -> str:
    """The execution_log_id shown in a result message's footer."""
    [log_id] = re.findall(r"execution_log_id `([^`]+)`", text_of(result_post))
    return str(log_id)


async def test_many_concurrent_confirms_run_the_action_once(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Twenty people clicking Confirm at once run the action exactly once; the others are told why not."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_zapier.latency = 0.2
    clicks = [
        bot.slack.block_action("zap_confirm", previewed.preview_id, user=f"U{n}", message_ts=previewed.ts)
        for n in range(20)
    ]
    responses = await asyncio.gather(*clicks)
    assert all(r.status == 200 for r in responses)
    await fake_slack.wait_for_response_posts(19)
    await fake_slack.wait_for("chat.postMessage", 2)
    await idle(bot)
    assert len(fake_zapier.of("execute")) == 1
    told = [text_of(p.json) for p in fake_slack.response_posts]
    assert all("already confirmed" in t for t in told), told


async def test_cancel_closes_the_preview_and_a_later_confirm_runs_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Cancel replaces the buttons with 'Cancelled by'; a later Confirm runs nothing, says who cancelled."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_cancel", previewed.preview_id, user="U3", message_ts=previewed.ts)
    [update] = await fake_slack.wait_for("chat.update")
    assert "Cancelled by <@U3>" in text_of(update) and buttons(update) == {}
    await bot.slack.block_action("zap_confirm", previewed.preview_id, user="U1", message_ts=previewed.ts)
    [told] = await fake_slack.wait_for_response_posts(1)
    assert "<@U3> cancelled" in text_of(told.json)
    assert told.json["response_type"] == "ephemeral"
    assert fake_zapier.of("execute") == []


async def test_an_expired_preview_is_marked_and_cannot_be_confirmed(
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
) -> None:
    """A preview past PREVIEW_TTL_SECONDS is updated to 'Expired' by the sweeper and a click runs nothing."""
    settings = bot_settings.model_copy(update={"preview_ttl_seconds": 1})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        [update] = await fake_slack.wait_for("chat.update", timeout=5.0)
        assert update.args["ts"] == previewed.ts and "Expired" in text_of(update) and buttons(update) == {}
        await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
        [told] = await fake_slack.wait_for_response_posts(1)
        assert "expired" in text_of(told.json)
    assert fake_zapier.of("execute") == []


async def test_a_click_on_an_unknown_or_foreign_preview_runs_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A forged value, or a real preview id clicked from another channel, runs nothing."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", "forged-id", message_ts=previewed.ts)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, channel="C999", message_ts=previewed.ts)
    told = await fake_slack.wait_for_response_posts(2)
    assert all("don't know this preview" in text_of(t.json) for t in told)
    assert fake_zapier.of("execute") == []


async def test_a_person_of_another_workspace_in_a_shared_channel_can_confirm(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Slack Connect: the clicker's team.id is their own workspace's. The preview is found by its channel,
    not by the clicker's team, so the click counts (the policy still decides who may act)."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, team="T999", message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert "success" in text_of(posts[1])
    assert len(fake_zapier.of("execute")) == 1


async def test_a_mention_previews_in_the_mention_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """@zapbot with the same grammar previews as a reply in the mention's thread, and confirms there."""
    response = await bot.slack.mention(
        "SlackAPI channel_message say hi", ts="1700000100.000001", channel="C7"
    )
    assert response.status == 200
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C7" and post.args["thread_ts"] == "1700000100.000001"
    request = (await fake_zapier.wait_for("preview"))[0]
    assert request.json["instructions"] == "say hi"
    await bot.slack.block_action(
        "zap_confirm", buttons(post)["zap_confirm"], channel="C7", message_ts=post.answer["ts"]
    )
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == "1700000100.000001"


async def test_help_and_incomplete_commands_answer_only_the_caller_and_call_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap`, `/zap help` and incomplete commands answer with usage and what is missing; no Zapier call."""
    for text, expected in [
        ("", "Usage"),
        ("help", "Usage"),
        ("SlackAPI", "Missing the ACTION"),
        ("SlackAPI channel_message", "Missing the instructions"),
        ("SlackAPI channel_message channel=", "has no value"),
        ('SlackAPI channel_message title="unclosed', "never closed"),
        ("SlackAPI channel_message:nope hi", "not an action type"),
    ]:
        response = await bot.slack.command(text)
        assert response.status == 200
        body = response.json()
        assert expected in text_of(body), (text, body)
        assert body.get("response_type", "ephemeral") == "ephemeral"
        assert_valid_blocks(body["blocks"])
    await idle(bot)
    assert fake_zapier.requests == []
    assert fake_slack.of("chat.postMessage") == []


async def test_every_param_mode_reaches_zapier_as_written(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """locked, guess, choose_from and ignored params, quoted values and curly quotes all arrive as meant."""
    text = (
        'GoogleSheetsV2API add_row:write sheet=S123 title=“Weekly report” owner~="Ada L" '
        'tab=[Q1,"Q 2"] notes=! Add a row for <@U5|ada> &amp; <#C42|ops>'
    )
    await bot.slack.command(text)
    [request] = await fake_zapier.wait_for("preview")
    assert request.json == {
        "instructions": "Add a row for @ada & #ops",
        "app": "GoogleSheetsV2API",
        "action": "add_row",
        "action_type": "write",
        "params": {
            "sheet": {"mode": "locked", "value": "S123"},
            "title": {"mode": "locked", "value": "Weekly report"},
            "owner": {"mode": "guess", "value": "Ada L"},
            "tab": {"mode": "choose_from", "value": ["Q1", "Q 2"]},
            "notes": {"mode": "ignored"},
        },
    }
    [post] = await fake_slack.wait_for("chat.postMessage")
    await bot.slack.block_action("zap_confirm", buttons(post)["zap_confirm"], message_ts=post.answer["ts"])
    [run] = await fake_zapier.wait_for("execute")
    assert run.json["params"]["notes"] == {"mode": "ignored"}
    assert run.json["params"]["tab"] == {"mode": "locked", "value": "Q1"}
    assert all(p["mode"] in ("locked", "ignored") for p in run.json["params"].values())


async def test_a_search_action_type_is_sent(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """ACTION:search sends action_type search."""
    await bot.slack.command("GmailV2API find_email:search Find the last email from Bob")
    [request] = await fake_zapier.wait_for("preview")
    assert request.json["action_type"] == "search"


async def test_forged_or_stale_signatures_get_401_and_call_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A wrong signature, a missing one, or a timestamp over five minutes old is refused with 401."""
    body = "command=%2Fzap&text=SlackAPI+channel_message+hi&team_id=T1&channel_id=C1&user_id=U1"
    form = "application/x-www-form-urlencoded"
    forged = await bot.slack.post_raw(body, content_type=form, signature="v0=" + "0" * 64)
    stale = await bot.slack.post_raw(body, content_type=form, timestamp=int(time.time()) - 600)
    assert forged.status == 401 and stale.status == 401
    await idle(bot)
    assert fake_zapier.requests == []
    assert [c for c in fake_slack.calls if c.method != "auth.test"] == []


async def test_a_command_mentioning_payload_still_works(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Regression for Bolt's parsing bug: text containing 'payload' is a command like any other."""
    response = await bot.slack.command("SlackAPI channel_message show me the payload of the last webhook")
    assert response.status == 200
    [request] = await fake_zapier.wait_for("preview")
    assert request.json["instructions"] == "show me the payload of the last webhook"


async def test_zapier_refusing_the_preview_is_explained_with_its_own_words(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A 422 on the preview tells the caller Zapier's error text and that nothing was run."""
    fake_zapier.script("preview", Reply(status=422, json={"error": "Unknown action: channel_mesage"}))
    await bot.slack.command("SlackAPI channel_mesage hi")
    [told] = await fake_slack.wait_for_response_posts(1)
    shown = text_of(told.json)
    assert "Unknown action: channel_mesage" in shown and "Nothing was run" in shown
    assert fake_slack.of("chat.postMessage") == []


async def test_a_timeout_on_a_confirmed_run_says_the_outcome_is_unknown_and_is_not_retried(
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
) -> None:
    """A confirmed write that times out is reported as 'outcome unknown' in the thread and never retried."""
    settings = bot_settings.model_copy(update={"zapier_timeout_seconds": 0.3})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        fake_zapier.script("execute", Reply(delay=1.0, json={}, off_spec=True))
        await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
        posts = await fake_slack.wait_for("chat.postMessage", 2)
        shown = text_of(posts[1])
        assert "outcome is unknown" in shown and posts[1].args["thread_ts"] == previewed.ts
        await idle(bot)  # a retry would come from the run still in flight
        assert len(fake_zapier.of("execute")) == 1


async def test_a_param_the_preview_could_not_pin_down_falls_back_to_the_original_request(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """When a resolved value cannot be locked, the run sends the original request and the result says so."""
    fake_zapier.script(
        "preview",
        Reply(
            json={
                "execution_log_id": "01HPREVIEW",
                "action_used": "Send Channel Message",
                "input_params": {},
                "resolved_params": {"channel": {"nested": {"deep": ["x"]}}},
                "status": "preview",
                "results": [],
            }
        ),
    )
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    [run] = await fake_zapier.wait_for("execute")
    assert "skip_param_guessing" not in run.query
    assert run.json["params"] == {"channel": {"mode": "guess", "value": "#general"}}
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert "could not be pinned down" in text_of(posts[1])


async def test_a_long_result_is_shortened_and_the_full_result_stays_reachable(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Values too long for Slack are cut within limits; 'Show full result' sends all of it to the clicker
    (~20,000 characters: a few private messages, each within Slack's total)."""
    long_value = "x" * 10_000 + " <!channel> & the end"
    fake_zapier.script(
        "execute",
        Reply(
            json={
                "execution_log_id": "01HRUN",
                "action_used": "Find Row",
                "input_params": {},
                "results": [{"body": long_value, "n": 1}] * 2,
                "result_field_labels": {"body": "Body"},
                "status": "success",
            }
        ),
    )
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    result = posts[1]
    assert_valid_blocks(result.args["blocks"])
    assert "<!channel>" not in text_of(result)
    assert buttons(result)["zap_full_result"] == "01HRUN"
    await bot.slack.block_action("zap_full_result", "01HRUN", message_ts=result.answer["ts"], user="U9")
    shown = await fake_slack.wait_for_response_posts(1)
    async with asyncio.timeout(10):  # the full result may take several messages; wait for its end
        while "the end" not in (full := "".join(text_of(p.json) for p in fake_slack.response_posts)):  # noqa: ASYNC110 - polling a stand-in
            await asyncio.sleep(0.02)
    assert "the end" in full and "&lt;!channel&gt;" in full and "<!channel>" not in full
    for post in fake_slack.response_posts:
        assert_valid_blocks(post.json["blocks"])
    assert shown
