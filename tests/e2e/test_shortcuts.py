"""Shortcuts through the bot's real HTTP endpoint: save, run (with more words), list, forget, and the names
that are refused because they would clash with built-in words, app keys or another shortcut."""

from __future__ import annotations

import json
import time

import redis.asyncio

from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import assert_valid_blocks, text_of
from tests.support.metrics import idle

STANDUP = 'standup = SlackAPI channel_message channel=C42 title~="Daily standup" Post my standup:'


async def _told(bot: RunningBot, slack: FakeSlack, text: str, **kw: str) -> str:
    """Send `/zap text`; return what the caller alone was told."""
    before = len(slack.response_posts)
    assert (await bot.slack.command(text, **kw)).status == 200
    told = (await slack.wait_for_response_posts(before + 1))[before]
    assert told.json["response_type"] == "ephemeral"
    assert_valid_blocks(told.json["blocks"])
    return text_of(told.json)


async def test_save_keeps_the_shortcut_for_the_workspace_with_who_and_when(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """`/zap save NAME = ...` stores the parsed definition in Redis with who saved it and when."""
    started = time.time()
    shown = await _told(bot, fake_slack, f"save {STANDUP}", user="U5", team="T1")
    assert "Saved the shortcut `standup`" in shown and "`/zap standup`" in shown
    stored = json.loads(await redis_client.hget("zapbot:shortcuts:T1", "standup") or "{}")
    assert stored["saved_by"] == "U5" and started - 1 <= stored["saved_at"] <= time.time() + 1
    assert stored["request"]["app"] == "SlackAPI" and stored["request"]["action"] == "channel_message"
    assert stored["request"]["instructions"] == "Post my standup:"
    assert fake_zapier.requests == []  # saving calls nothing


async def test_running_a_shortcut_appends_the_words_given_with_it(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap standup more words` previews the saved action and params with the words appended."""
    await _told(bot, fake_slack, f"save {STANDUP}")
    await bot.slack.command("standup yesterday: shipped the form; today: tests", channel="C9")
    [preview] = await fake_zapier.wait_for("preview")
    assert preview.json == {
        "instructions": "Post my standup: yesterday: shipped the form; today: tests",
        "app": "SlackAPI",
        "action": "channel_message",
        "action_type": "write",
        "params": {
            "channel": {"mode": "locked", "value": "C42"},
            "title": {"mode": "guess", "value": "Daily standup"},
        },
    }
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C9"
    assert fake_zapier.of("guess") == []  # a shortcut is not guessed
    await bot.slack.command("Standup capitals work too")
    assert (await fake_zapier.wait_for("preview", 2))[1].json["instructions"].endswith("capitals work too")


async def test_a_shortcut_without_instructions_needs_them_when_run(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A shortcut saved without instructions asks for them when run alone, and previews with them."""
    await _told(bot, fake_slack, "save email-bob = GmailV2API send_email to=bob@example.com")
    assert "needs instructions" in await _told(bot, fake_slack, "email-bob")
    await bot.slack.command("email-bob say lunch is at noon")
    [preview] = await fake_zapier.wait_for("preview")
    assert preview.json["instructions"] == "say lunch is at noon"
    assert preview.json["params"] == {"to": {"mode": "locked", "value": "bob@example.com"}}


async def test_shortcuts_lists_them_and_forget_removes_one(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """`/zap shortcuts` lists each with its /zap line and who saved it; `/zap forget` removes one, after
    which the name is plain English again."""
    await _told(bot, fake_slack, f"save {STANDUP}", user="U5")
    await _told(
        bot, fake_slack, "save leads = GoogleSheetsV2API add_row:write sheet=S1 Add a lead", user="U6"
    )
    listed = await _told(bot, fake_slack, "shortcuts")
    assert listed.index("`leads`") < listed.index("`standup`")  # by name
    assert "`/zap GoogleSheetsV2API add_row sheet=S1 Add a lead`" in listed
    assert '`/zap SlackAPI channel_message channel=C42 title~=\\"Daily standup\\" Post my standup:`' in listed
    assert "saved by <@U5>" in listed and "saved by <@U6>" in listed
    forgot = await _told(bot, fake_slack, "forget standup")
    assert "Forgot the shortcut `standup`" in forgot
    assert await redis_client.hkeys("zapbot:shortcuts:T1") == ["leads"]
    assert "no shortcut called `standup`" in await _told(bot, fake_slack, "forget standup")
    await bot.slack.command("standup went well")
    [guess] = await fake_zapier.wait_for("guess")
    assert guess.json["query"] == "standup went well"


async def test_names_that_would_clash_are_refused(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """A built-in word, an app key, a malformed name, or a name already taken cannot be saved; the
    existing shortcut is kept and its owner named."""
    for text, expected in [
        ("save apps = SlackAPI channel_message hi", "`apps` is a built-in word"),
        ("save HELP = SlackAPI channel_message hi", "`help` is a built-in word"),
        ("save SlackAPI = SlackAPI channel_message hi", "looks like an app key"),
        ("save my shortcut = SlackAPI channel_message hi", "one word of letters and digits"),
        ("save standup SlackAPI channel_message hi", "has no `=`"),
        ("save standup = hello there", "Expected an app key"),
        ("save standup = SlackAPI", "Missing the ACTION"),
        ("save standup = SlackAPI channel_message:nope hi", "not an action type"),
        ("save = SlackAPI channel_message hi", "has no name"),
    ]:
        shown = await _told(bot, fake_slack, text)
        assert expected in shown, (text, shown)
    assert await redis_client.exists("zapbot:shortcuts:T1") == 0
    await _told(bot, fake_slack, f"save {STANDUP}", user="U5")
    taken = await _told(bot, fake_slack, "save standup = GmailV2API send_email hi", user="U7")
    assert "already exists" in taken and "saved by <@U5>" in taken and "/zap forget standup" in taken
    kept = json.loads(await redis_client.hget("zapbot:shortcuts:T1", "standup") or "{}")
    assert kept["request"]["app"] == "SlackAPI"


async def test_built_in_words_still_win_over_text_that_looks_like_a_shortcut(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap shortcuts` is the built-in list even in a workspace with shortcuts; it previews nothing."""
    await _told(bot, fake_slack, f"save {STANDUP}")
    assert "Shortcuts of this workspace" in await _told(bot, fake_slack, "shortcuts")
    await idle(bot)
    assert fake_zapier.requests == []


async def test_shortcuts_belong_to_their_workspace(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Another workspace neither sees nor runs a shortcut; there the name is plain English."""
    await _told(bot, fake_slack, f"save {STANDUP}", team="T1")
    assert "no shortcuts yet" in await _told(bot, fake_slack, "shortcuts", team="T2")
    await bot.slack.command("standup notes for today", team="T2")
    [guess] = await fake_zapier.wait_for("guess")
    assert guess.json["query"] == "standup notes for today"
    assert fake_zapier.of("preview") == []
