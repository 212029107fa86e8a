"""Socket Mode reconnects with a fresh URL (issue 21, item 6), against the realistic stand-in, whose URLs are
single use: after a failed handshake at start or after a dropped connection the bot asks
`apps.connections.open` again instead of retrying a spent URL forever, and /readyz says whether the socket
is connected."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_rates import SlackLimits
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.socket_bot import running_socket_bot, socket_settings

pytestmark = pytest.mark.realistic_slack

PING = 0.3  # slack-sdk waits this long between connection attempts


@pytest.fixture
def settings(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str) -> Settings:
    """Socket Mode settings; apps.connections.open (Tier 1) scaled up so that a slow machine's extra
    reconnect cannot stall a test for a minute (the tests count the calls instead)."""
    fake_slack.limits = SlackLimits().scaled(60)
    return socket_settings(fake_slack, fake_zapier, redis_url)


async def readyz(http: aiohttp.ClientSession, bot: RunningBot) -> tuple[int, dict[str, Any]]:
    async with http.get(bot.url + "/readyz") as response:
        return response.status, await response.json()


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Poll the async `check()` until it returns True; AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)


async def test_a_failed_first_handshake_is_followed_by_a_fresh_url(
    settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> None:
    """The first URL's handshake fails: the bot asks apps.connections.open for another URL and connects
    with it (before, slack-sdk retried the spent URL forever); /readyz then reports the socket connected
    and a command over it is acked."""
    fake_slack.socket.fail_next_handshakes(1)

    async with running_socket_bot(settings, http_session, fake_slack, socket_ping_interval=PING) as bot:
        [connection] = await fake_slack.socket.wait_connected()
        [failed] = fake_slack.socket.failed_handshakes
        assert connection.ticket != failed
        assert 2 <= len(fake_slack.of("apps.connections.open")) <= 3
        assert len(fake_slack.socket.refused_tickets) <= 1  # at most one retry of the spent URL
        await eventually(lambda: _ready(http_session, bot))
        assert (await readyz(http_session, bot))[1]["socket"] == "ok"
        response = await bot.slack.command("help")
        assert response.status == 200


async def test_a_dropped_connection_reconnects_with_a_fresh_url_and_readiness_follows(
    settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> None:
    """Slack drops the connection and the next two handshakes fail: /readyz answers 503 naming the socket
    while it is down, the bot keeps asking for fresh URLs (never retrying a spent one more than once) and
    reconnects; /readyz is 200 again and commands are acked over the new connection."""
    async with running_socket_bot(settings, http_session, fake_slack, socket_ping_interval=PING) as bot:
        await eventually(lambda: _ready(http_session, bot))
        opened_before = len(fake_slack.of("apps.connections.open"))
        fake_slack.socket.fail_next_handshakes(2)

        await fake_slack.socket.close_all()

        await eventually(lambda: _socket_down(http_session, bot))
        await fake_slack.socket.wait_connected(timeout=10)
        await eventually(lambda: _ready(http_session, bot))
        assert len(fake_slack.socket.failed_handshakes) == 2
        opened = len(fake_slack.of("apps.connections.open")) - opened_before
        assert 3 <= opened <= 5  # one fresh URL per failed handshake, and the one that worked
        assert len(fake_slack.socket.refused_tickets) <= 2
        response = await bot.slack.command("help")
        assert response.status == 200


async def _ready(http: aiohttp.ClientSession, bot: RunningBot) -> bool:
    return (await readyz(http, bot))[0] == 200


async def _socket_down(http: aiohttp.ClientSession, bot: RunningBot) -> bool:
    status, body = await readyz(http, bot)
    return status == 503 and body.get("failing") == ["socket"] and "down" in body["socket"]
