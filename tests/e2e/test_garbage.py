"""Garbage gets a 4xx and one log line (issue 15), through the bot's real HTTP server.

Before the signature is checked nothing may raise: each malformed request is answered 400, 401 or 413
with exactly one WARNING line from the gate (bot/slack/request.py) and no traceback, on every path: with
the fast paths on and armed (a `/zap` and a reaction already went through Bolt) and with them off.
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import logging
import time
from collections.abc import AsyncIterator

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import SIGNING_SECRET, RunningBot, running_bot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier

FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
COMMAND = "command=%2Fzap&text=SlackAPI+channel_message+hi&team_id=T1&channel_id=C1&user_id=U1"
REACTION = json.dumps(
    {
        "type": "event_callback",
        "team_id": "T1",
        "api_app_id": "A1",
        "event": {"type": "reaction_added", "user": "U1", "reaction": "+1", "item": {"type": "message"}},
    }
)


@pytest.fixture(params=["on", "off"])
async def bot(
    request: pytest.FixtureRequest,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_url: str,
    http_session: aiohttp.ClientSession,
) -> AsyncIterator[RunningBot]:
    """The real bot with ZAPBOT_FAST_PATHS on (armed by one /zap and one reaction through Bolt), or off."""
    settings: Settings = settings_for(fake_slack, fake_zapier, redis_url, zapbot_fast_paths=request.param)
    async with running_bot(settings, http_session, fake_slack.response_url_base) as running:
        assert (await running.slack.command("help")).status == 200
        assert (await running.slack.reaction("eyes", ts="1.2", user="UWARM")).status == 200
        yield running


async def post(
    bot: RunningBot, http: aiohttp.ClientSession, body: bytes, content_type: str, **headers: str
) -> int:
    """POST raw bytes to /slack/events, signed (as Slack signs) unless headers say otherwise."""
    timestamp = headers.pop("timestamp", str(int(time.time())))
    digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{timestamp}:".encode() + body, hashlib.sha256)
    sent = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": timestamp,
        "X-Slack-Signature": "v0=" + digest.hexdigest(),
        **headers,
    }
    async with http.post(bot.url + "/slack/events", data=io.BytesIO(body), headers=sent) as response:
        await response.read()
        return response.status


def one_warning(caplog: pytest.LogCaptureFixture) -> None:
    """Exactly one record at WARNING or above: the gate's, without a traceback."""
    loud = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [(r.name, r.levelname, r.exc_info) for r in loud] == [("bot.slack.request", "WARNING", None)]
    assert "Traceback" not in caplog.text


@pytest.mark.parametrize(
    "timestamp",
    [
        *["", "abc", "1e9", "-5", "1 7", "\u0661\u0667" + "\u0660" * 8, "9" * 5000],
        # The same id in every pytest-xdist worker (each collects the tests itself): not the time itself.
        pytest.param(str(int(time.time())) + ".5", id="now-and-a-half"),
    ],
)
@pytest.mark.parametrize("body", [COMMAND, REACTION])
async def test_a_malformed_timestamp_is_a_400(
    bot: RunningBot,
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    timestamp: str,
    body: str,
) -> None:
    """A timestamp that is empty, not an integer, or absurdly long: 400 and one warning, nothing raised."""
    content_type = FORM if body == COMMAND else JSON
    caplog.clear()
    status = await post(bot, http_session, body.encode(), content_type, timestamp=timestamp)
    assert status == 400
    one_warning(caplog)


async def test_a_missing_timestamp_or_signature_is_refused(
    bot: RunningBot, http_session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """No timestamp header: 400; no signature header, or a forged one: 401; one warning each."""
    async with http_session.post(
        bot.url + "/slack/events", data=COMMAND.encode(), headers={"Content-Type": FORM}
    ) as response:
        assert response.status == 400
    one_warning(caplog)
    for signature in ("", "v0=" + "0" * 64, "garbage", "v0=" + "é" * 64):
        caplog.clear()
        status = await post(bot, http_session, COMMAND.encode(), FORM, **{"X-Slack-Signature": signature})
        assert status == 401
        one_warning(caplog)


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        (b"[1, 2]", JSON),
        (b"[1, 2]", FORM),
        (b'"a string"', JSON),
        (b"7", JSON),
        (b"null", JSON),
        (b"{not json", JSON),
        (b"", FORM),
        (b"", JSON),
        (b"payload=%5B%5D", FORM),  # payload=[]
        (b"payload=7", FORM),
        (b"payload=%22text%22", FORM),
        (b"payload=not+json", FORM),
        (COMMAND.encode() + b"&payload=7", FORM),
        (b"command=%2Fzap&text=\xff\xfe", FORM),  # not UTF-8
        (b'{"type": "event_callback", "event": "\xff"}', JSON),
    ],
)
async def test_a_signed_body_that_is_not_slacks_is_a_400(
    bot: RunningBot,
    http_session: aiohttp.ClientSession,
    caplog: pytest.LogCaptureFixture,
    body: bytes,
    content_type: str,
) -> None:
    """Correctly signed, but none of Slack's shapes (a JSON array, string or number, `payload=[]`,
    `payload=7`, broken JSON, an empty body, bytes that are not UTF-8): 400 and one warning."""
    caplog.clear()
    assert await post(bot, http_session, body, content_type) == 400
    one_warning(caplog)


async def test_a_huge_body_is_a_413_without_reading_it_all(
    bot: RunningBot, http_session: aiohttp.ClientSession, caplog: pytest.LogCaptureFixture
) -> None:
    """A body past the size limit (here 5 MB) is refused with 413 and one warning; the bot still serves."""
    caplog.clear()
    assert await post(bot, http_session, b"x" * 5_000_000, FORM) == 413
    one_warning(caplog)
    assert (await bot.slack.command("help")).status == 200
