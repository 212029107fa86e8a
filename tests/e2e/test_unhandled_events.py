"""Events nobody handles are acked (issue 15): Slack retries anything but a 2xx and may disable the
subscription, so every signed event the app has no listener for gets 200 over HTTP, and every Socket Mode
envelope (also one without a payload, or of a type nobody knows) is acked over the socket."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.socket_bot import running_socket_bot, socket_settings

UNHANDLED_EVENTS: list[dict[str, Any]] = [
    {
        "type": "message",
        "subtype": "message_changed",
        "channel": "C1",
        "message": {"type": "message", "user": "U1", "text": "edited", "ts": "1.1"},
        "previous_message": {"type": "message", "user": "U1", "text": "first", "ts": "1.1"},
        "event_ts": "1.2",
        "ts": "1.2",
    },
    {"type": "message", "channel": "C1", "user": "U1", "text": "hello", "ts": "1.3"},
    {"type": "channel_created", "channel": {"id": "C9", "name": "new", "created": 1, "creator": "U1"}},
    {"type": "app_home_opened", "user": "U1", "channel": "D1", "tab": "home", "event_ts": "1.4"},
    {"type": "member_joined_channel", "user": "U2", "channel": "C1", "team": "T1", "event_ts": "1.5"},
    {"type": "app_uninstalled", "event_ts": "1.6"},
    {"type": "something_slack_adds_next_year", "event_ts": "1.7"},
]
RATE_LIMITED = {
    "token": "x",
    "type": "app_rate_limited",
    "team_id": "T1",
    "minute_rate_limited": 1518467820,
    "api_app_id": "A0ZAPBOT",
}


@pytest.mark.parametrize("event", UNHANDLED_EVENTS, ids=lambda e: e.get("subtype") or e["type"])
async def test_an_unhandled_event_gets_200_over_http(bot: RunningBot, event: dict[str, Any]) -> None:
    """A signed event_callback no listener handles is answered 200 (Bolt alone answers 404)."""
    response = await bot.slack.event(event)
    assert response.status == 200


async def test_app_rate_limited_gets_200_over_http(bot: RunningBot) -> None:
    """Slack's `app_rate_limited` notice (not an event_callback) is answered 200 too."""
    response = await bot.slack.post_raw(json.dumps(RATE_LIMITED), content_type="application/json")
    assert response.status == 200


async def test_an_unhandled_interaction_still_gets_bolts_answer(bot: RunningBot) -> None:
    """Only Events API deliveries are acked blindly: an unknown button is still Bolt's 404, so that a
    mistake in our own blocks shows."""
    response = await bot.slack.block_action("nobody_handles_this", "v", message_ts="1.1")
    assert response.status == 404


@pytest.fixture
async def socket_bot(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, http_session: aiohttp.ClientSession
) -> AsyncIterator[RunningBot]:
    """The real bot in Socket Mode, connected to the Socket Mode stand-in."""
    settings: Settings = socket_settings(fake_slack, fake_zapier, redis_url)
    async with running_socket_bot(settings, http_session, fake_slack) as running:
        yield running


async def test_every_unhandled_event_envelope_is_acked(socket_bot: RunningBot) -> None:
    """Each unhandled event, and `app_rate_limited`, sent as an events_api envelope, is acked (the
    sender waits for the ack and fails without one)."""
    for event in UNHANDLED_EVENTS:
        assert (await socket_bot.slack.event(event)).status == 200
    response = await socket_bot.slack.post_raw(json.dumps(RATE_LIMITED), content_type="application/json")
    assert response.status == 200


@pytest.mark.parametrize(
    "envelope",
    [
        {"type": "events_api"},  # no payload
        {"type": "events_api", "payload": None},
        {"type": "events_api", "payload": [1, 2]},
        {"payload": {"type": "event_callback"}},  # no type
        {"type": "some_new_kind", "payload": {"anything": 1}},
        {"type": "some_new_kind", "payload": "text"},
        {"type": "events_api", "payload": {}},
        {"type": "interactive", "payload": {"type": "unknown_interaction"}},
    ],
    ids=json.dumps,
)
async def test_every_envelope_is_acked_even_without_a_payload_or_of_an_unknown_type(
    socket_bot: RunningBot, fake_slack: FakeSlack, envelope: dict[str, Any]
) -> None:
    """Envelopes slack-sdk never hands to Bolt (no payload, no type, a payload that is a list) and ones
    Bolt has no listener for (an unknown type, an empty payload) are all acked."""
    [connection] = fake_slack.socket.open_connections
    envelope_id = f"env-odd-{time.monotonic_ns()}"
    await connection.ws.send_str(json.dumps({"envelope_id": envelope_id, **envelope}))
    ack = await fake_slack.socket.wait_for_ack(envelope_id)
    assert ack.envelope_id == envelope_id
