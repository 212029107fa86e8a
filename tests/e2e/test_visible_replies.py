"""Replies a person can see (issue 21, item 4), against the realistic Slack stand-in through the bot's real
HTTP endpoint: answers to a top-level mention, a form for a channel the bot cannot post in, and an Edit
form that opens before a slow permission check."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.slack_workspace import Ephemeral, Membership
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import command_to_preview, text_of
from tests.support.policy_helpers import WRITE, bot_with_policy, write_policy

pytestmark = pytest.mark.realistic_slack

MENTION_TS = "1700000300.000001"


def shown_to(slack: FakeSlack, user: str, channel: str = "C1") -> list[str]:
    """The texts of the ephemerals Slack showed `user` in `channel`."""
    return [e.text for e in slack.seen_by(user, channel) if isinstance(e, Ephemeral)]


def form_values(channel: str | None = None) -> dict[str, Any]:
    """A complete form submission (`view.state.values`), with a picked conversation when `channel` is set."""

    def chosen(value: str) -> dict[str, Any]:
        return {"selected_option": {"text": {"type": "plain_text", "text": value}, "value": value}}

    values: dict[str, Any] = {
        "app": {"zap_form_app": {"type": "external_select", **chosen("SlackAPI")}},
        "action:SlackAPI": {
            "zap_form_action": {"type": "external_select", **chosen("channel_message:write")}
        },
        "type": {"zap_form_type": {"type": "static_select", "selected_option": None}},
        "instructions": {"zap_form_instructions": {"type": "plain_text_input", "value": "Say hi"}},
        "params": {"zap_form_params": {"type": "plain_text_input", "value": None}},
    }
    if channel is not None:
        values["channel"] = {
            "zap_form_channel": {"type": "conversations_select", "selected_conversation": channel}
        }
    return values


@pytest.mark.parametrize("text", ["help", "SlackAPI"], ids=["help", "incomplete"])
async def test_answers_to_a_top_level_mention_are_shown_in_the_channel(
    bot: RunningBot, fake_slack: FakeSlack, text: str
) -> None:
    """`@zapbot help` or an incomplete command, mentioned at the top level of a channel: the answer is an
    ephemeral in the channel (no thread_ts), which Slack shows; before, it went into the mention's thread,
    which has no replies, so Slack showed nothing."""
    fake_slack.add_user_message("C1", MENTION_TS, user="U1", text=f"<@UBOT> {text}")
    await bot.slack.mention(text, ts=MENTION_TS)

    [whisper] = await fake_slack.wait_for_accepted("chat.postEphemeral")
    assert "thread_ts" not in whisper.args
    assert [e.shown for e in fake_slack.ephemerals] == [True]
    assert shown_to(fake_slack, "U1") == [whisper.args["text"]]
    assert "/zap" in whisper.args["text"] or "zap" in text_of(whisper).lower()


async def test_an_answer_to_a_mention_inside_a_thread_stays_in_that_thread(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    """A mention that is itself a reply in a thread: the thread has replies, so the answer goes there and
    Slack shows it."""
    root = "1700000200.000001"
    fake_slack.add_user_message("C1", root, user="U2", text="a question")
    fake_slack.add_user_message("C1", MENTION_TS, user="U1", text="<@UBOT> help", thread_ts=root)
    await bot.slack.mention("help", ts=MENTION_TS, thread_ts=root)

    [whisper] = await fake_slack.wait_for_accepted("chat.postEphemeral")
    assert whisper.args["thread_ts"] == root
    assert [e.shown for e in fake_slack.ephemerals] == [True]


async def test_a_form_for_a_channel_the_bot_is_not_in_is_refused_inside_the_modal(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The form's submission is answered with `response_action: errors` (the modal stays open, saying to
    invite the bot) when the bot is not in the channel the form came from, or the conversation picked in
    the shortcut's form does not exist for it; nothing is previewed. A channel it is in closes the modal,
    tells the person "Asking Zapier…" where they see it, and posts the preview."""
    fake_slack.channels.remove_bot("C5")
    fake_slack.channels.archive("C6")
    fake_slack.channels.set("G404", Membership.UNKNOWN)

    from_command = await bot.slack.view_submission(
        "zap_form_submit", form_values(), private_metadata=json.dumps({"channel": "C5"}), user="U3"
    )
    picked = await bot.slack.view_submission("zap_form_submit", form_values(channel="G404"), user="U3")
    archived = await bot.slack.view_submission("zap_form_submit", form_values(channel="C6"), user="U3")

    assert from_command.json()["response_action"] == "errors"
    assert "/invite @zapbot" in from_command.json()["errors"]["instructions"]
    assert picked.json()["response_action"] == "errors"
    assert "/invite @zapbot" in picked.json()["errors"]["channel"]
    assert "archived" in archived.json()["errors"]["channel"]
    assert fake_zapier.requests == []

    fine = await bot.slack.view_submission("zap_form_submit", form_values(channel="C8"), user="U3")
    assert fine.status == 200 and fine.text == ""
    [post] = await fake_slack.wait_for_accepted("chat.postMessage")
    assert post.args["channel"] == "C8"
    assert shown_to(fake_slack, "U3", "C8") == ["Asking Zapier for a preview of `SlackAPI channel_message`…"]


async def test_edit_opens_its_form_before_a_slow_permission_check_and_refuses_inside_it(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    tmp_path: Path,
) -> None:
    """confirm_by a user group whose lookup Slack rate-limits for 4 s (longer than a trigger_id lives): the
    Edit click still opens its form with the fresh trigger (Slack takes it), and once the check is done the
    same form says why this person may not edit. Before, the check came first and the trigger expired."""
    fake_slack.users_in_group["S0OPS"] = ["U5"]
    policy = write_policy(tmp_path, "channels:\n  C1:\n    confirm_by: [S0OPS]\n")
    async with bot_with_policy(bot_settings, http_session, fake_slack, policy) as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        fake_slack.rate_limit("usergroups.users.list", retry_after=4)
        trigger = fake_slack.mint_trigger()

        await bot.slack.block_action(
            "zap_edit", previewed.preview_id, user="U2", message_ts=previewed.ts, trigger_id=trigger
        )

        [opened] = await fake_slack.wait_for_accepted("views.open", timeout=3)
        [filled] = await fake_slack.wait_for_accepted("views.update", timeout=10)
        assert opened.args["trigger_id"] == trigger
        assert filled.args["view_id"] == opened.answer["view"]["id"]
        refusal = filled.args["view"]
        assert "can edit this preview" in refusal["blocks"][0]["text"]["text"]
        assert "submit" not in refusal
        assert len(fake_slack.of("usergroups.users.list")) == 2  # refused once, then answered
