"""The App Home tab through the real bot: `app_home_opened` events and Home button clicks, signed as Slack
sends them; what the bot publishes (`views.publish`) read from the Slack stand-in.

The policy: in C1 only U5 may confirm; elsewhere anyone may.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import urlencode

import pytest
import redis.asyncio

from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack, SlackCall
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import Previewed, buttons, command_to_preview, text_of
from tests.support.policy_helpers import WRITE, StartBot, policy_bot
from tests.support.rating_helpers import eventually
from tests.support.slack_requests import APP_ID

start_bot = pytest.fixture(policy_bot)

POLICY = "channels:\n  C1:\n    confirm_by: [U5]\n"


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[RunningBot]:
    async with start_bot(POLICY) as running:
        yield running


async def open_home(bot: RunningBot, slack: FakeSlack, user: str) -> dict[str, Any]:
    """`user` opens zapbot's Home tab; the view the bot published for them."""
    before = len(slack.of("views.publish"))
    event = {"type": "app_home_opened", "user": user, "channel": f"D{user}", "tab": "home", "event_ts": "1.2"}
    response = await bot.slack.event(event)
    assert response.status == 200, response.text
    calls = await slack.wait_for_accepted("views.publish", before + 1)
    [call] = [c for c in calls[before:] if c.args["user_id"] == user]
    view: dict[str, Any] = call.args["view"]
    assert view["type"] == "home" and 0 < len(view["blocks"]) <= 100
    return view


def home_buttons(view: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(block_id, button) of every button on a Home view."""
    return [
        (str(block.get("block_id", "")), element)
        for block in view["blocks"]
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]


async def click_on_home(bot: RunningBot, user: str, block_id: str, button: dict[str, Any]) -> None:
    """`user` clicks `button` on their Home tab: a block_actions from a view, as Slack sends it (no
    channel, no response_url, no message)."""
    payload = {
        "type": "block_actions",
        "user": {"id": user, "username": f"user-{user.lower()}", "team_id": "T1"},
        "api_app_id": APP_ID,
        "token": "legacy-verification-token",
        "container": {"type": "view", "view_id": "V1"},
        "trigger_id": "trig-home",
        "team": {"id": "T1", "domain": "test"},
        "view": {"id": "V1", "type": "home", "team_id": "T1", "blocks": [], "private_metadata": ""},
        "actions": [
            {
                "action_id": button["action_id"],
                "block_id": block_id,
                "value": button.get("value", ""),
                "type": "button",
                "action_ts": "1.3",
            }
        ],
    }
    body = urlencode({"payload": json.dumps(payload)})
    response = await bot.slack.post_raw(body, content_type="application/x-www-form-urlencoded")
    assert response.status == 200, response.text


async def run_in_channel(
    bot: RunningBot, slack: FakeSlack, redis_client: redis.asyncio.Redis, user: str, channel: str
) -> tuple[Previewed, SlackCall]:
    """`user` asks in `channel` and confirms there: the preview and the result's post, once recorded."""
    previewed = await command_to_preview(bot, slack, WRITE, user=user, channel=channel)
    before = len(slack.of("chat.postMessage"))
    await bot.slack.block_action(
        "zap_confirm", previewed.confirm_value, user=user, channel=channel, message_ts=previewed.ts
    )
    result = (await slack.wait_for("chat.postMessage", before + 1))[before]
    await eventually(lambda: redis_client.get(f"zapbot:message:{channel}:{result.answer['ts']}"))
    return previewed, result


@pytest.mark.realistic_slack
async def test_each_person_sees_only_previews_they_may_confirm_and_their_own_runs_and_ratings(
    bot: RunningBot, fake_slack: FakeSlack, redis_client: redis.asyncio.Redis
) -> None:
    """Two people's Homes: U5 sees U1's preview in C1 (only U5 may confirm it) with Confirm and Cancel
    buttons carrying the channel buttons' action ids and values, and no runs or ratings; U6 sees their own
    pending preview in C2, their run with its outcome and a link to its thread, and their 👍, but not
    U1's preview. U1 (who may not confirm their own C1 preview) sees neither preview, nor U7's vote."""
    for_u5 = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    ran, result = await run_in_channel(bot, fake_slack, redis_client, "U6", "C2")
    waiting_u6 = await command_to_preview(bot, fake_slack, WRITE, user="U6", channel="C2")
    result_ts = str(result.answer["ts"])
    await bot.slack.reaction("+1", user="U6", channel="C2", ts=result_ts)
    await bot.slack.reaction("-1", user="U7", channel="C2", ts=result_ts)
    log_id = buttons(result)["zap_feedback"]
    await eventually(lambda: redis_client.hlen(f"zapbot:execution:{log_id}:votes"))

    u5 = await open_home(bot, fake_slack, "U5")
    shown = {(button["action_id"], button.get("value")) for _, button in home_buttons(u5)}
    assert shown == {("zap_confirm", for_u5.confirm_value), ("zap_cancel", for_u5.preview_id)}
    assert "No runs of yours yet" in text_of(u5) and "You have not rated" in text_of(u5)
    assert waiting_u6.preview_id not in text_of(u5)

    u6 = await open_home(bot, fake_slack, "U6")
    shown = {(button["action_id"], button.get("value")) for _, button in home_buttons(u6)}
    assert shown == {("zap_confirm", waiting_u6.confirm_value), ("zap_cancel", waiting_u6.preview_id)}
    runs_and_votes = text_of(u6)
    assert "succeeded" in runs_and_votes and "asked by you" in runs_and_votes
    assert f"https://test.slack.com/archives/C2/p{ran.ts.replace('.', '')}" in runs_and_votes
    assert ":+1:" in runs_and_votes and ":-1:" not in runs_and_votes
    assert for_u5.preview_id not in runs_and_votes

    u1 = await open_home(bot, fake_slack, "U1")
    assert home_buttons(u1) == []
    assert "Nothing waits for you" in text_of(u1) and "You have not rated" in text_of(u1)
    assert "one shared Zapier account" in text_of(u1)  # per-user accounts are off here


@pytest.mark.realistic_slack
async def test_a_confirm_from_the_home_tab_goes_through_the_same_policy(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A Confirm clicked on the Home tab (no channel in the payload) is handled by the channel's listener
    and policy: a bystander's click with the same button is refused, to them only, and runs nothing; the
    named confirmer's click runs the preview and updates its message in C1."""
    previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    view = await open_home(bot, fake_slack, "U5")
    [(block_id, confirm)] = [
        (b, button) for b, button in home_buttons(view) if button["action_id"] == "zap_confirm"
    ]

    await click_on_home(bot, "U2", block_id, confirm)
    [refusal] = await fake_slack.wait_for("chat.postEphemeral")
    assert refusal.args["user"] == "U2" and refusal.args["channel"] == "C1"
    assert "Only <@U5> can confirm this" in text_of(refusal)
    assert fake_zapier.of("execute") == []

    await click_on_home(bot, "U5", block_id, confirm)
    await fake_zapier.wait_for("execute")
    updates = await fake_slack.wait_for("chat.update", 2)
    assert all(u.args["channel"] == "C1" and u.args["ts"] == previewed.ts for u in updates[:1])
    assert "Confirmed by <@U5>" in text_of(updates[-1])


@pytest.mark.realistic_slack
async def test_a_home_click_naming_another_channel_is_refused_by_the_lifecycle(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The channel a Home button names is checked against the preview's own, as for any click: a Confirm
    whose block names C2 for a C1 preview runs nothing."""
    await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    view = await open_home(bot, fake_slack, "U5")
    [(block_id, confirm)] = [
        (b, button) for b, button in home_buttons(view) if button["action_id"] == "zap_confirm"
    ]
    await click_on_home(bot, "U5", block_id.replace(":C1:", ":C2:"), confirm)
    [answer] = await fake_slack.wait_for("chat.postEphemeral")
    assert answer.args["user"] == "U5"
    assert "I don't know this preview" in text_of(answer) and "nothing was run" in text_of(answer)
    assert fake_zapier.of("execute") == []
