"""`/zap` acked before Bolt's middleware chain (bot/slack/fast_ack.py): the same answers and refusals.

The first `/zap` always goes through Bolt (its authorization must have passed once); the tests below send
one first, then check that the fast path answers what Bolt answers.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from typing import Any

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.models.blocks import SectionBlock
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import Deps
from bot.slack.fast_ack import FastCommands, ack_response
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier

FAST = "bot.slack.fast_ack"
FORM = "application/x-www-form-urlencoded"
COMMAND = 'SlackAPI channel_message channel~="#general" Say hello'


def fast_acks(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.name == FAST and "before Bolt" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("text", [COMMAND, "help", "", "nonsense! here", "ratings Gmail"])
async def test_the_fast_answer_is_bolts_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, text: str
) -> None:
    """The first /zap goes through Bolt, the second skips its chain: same status, content type and body."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    through_bolt = await bot.slack.command(text)
    assert fast_acks(caplog) == 0

    fast = await bot.slack.command(text)

    assert fast_acks(caplog) == 1
    assert (fast.status, fast.text) == (through_bolt.status, through_bolt.text)
    assert without_date(fast.headers) == without_date(through_bolt.headers)


def without_date(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in headers.items() if k.lower() != "date")


_BLOCKS = [{"type": "section", "text": {"type": "mrkdwn", "text": "Asking Zapier… “hi” <#C1>"}}]


@pytest.mark.parametrize(
    "message",
    [
        {},
        {"text": "plain"},
        {"text": "{looks like JSON}"},
        {"text": "", "blocks": []},
        {"text": "Asking Zapier…", "blocks": _BLOCKS},
        {"text": "only to you", "response_type": "ephemeral"},
        {"text": "to everyone", "response_type": "in_channel", "blocks": _BLOCKS},
        {"blocks": _BLOCKS},
        {"text": "links", "unfurl_links": False},  # a shape ack_response leaves to Bolt
        {"text": "x", "blocks": [SectionBlock(text="a Block object")]},
    ],
)
async def test_the_ack_is_built_as_bolt_builds_it(message: dict[str, Any]) -> None:
    """`ack_response` against Bolt's own AsyncAck and aiohttp adapter, both served by aiohttp: the same
    status, headers and bytes."""

    async def bolts(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await AsyncAck()(**message))  # type: ignore[no-untyped-call]

    async def ours(request: web.Request) -> web.Response:
        return await ack_response(message)

    app = web.Application()
    app.router.add_get("/bolt", bolts)
    app.router.add_get("/ours", ours)
    async with TestClient(TestServer(app, host="127.0.0.1")) as client:
        answers = [await client.get(path) for path in ("/bolt", "/ours")]
        bolt, fast = [(r.status, without_date(r.headers), await r.read()) for r in answers]

    assert fast == bolt


async def test_forged_or_stale_signatures_are_still_refused(
    bot: RunningBot, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """With the fast path on, a bad signature or an old timestamp still gets Bolt's 401 and runs nothing."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    assert (await bot.slack.command(COMMAND)).status == 200
    await fake_zapier.wait_for("preview")
    body = "command=%2Fzap&text=SlackAPI+channel_message+hi&team_id=T1&channel_id=C1&user_id=U1"

    forged = await bot.slack.post_raw(body, content_type=FORM, signature="v0=" + "0" * 64)
    stale = await bot.slack.post_raw(body, content_type=FORM, timestamp=int(time.time()) - 600)

    assert (forged.status, stale.status) == (401, 401)
    assert fast_acks(caplog) == 0
    assert len(fake_zapier.requests) == 1


async def test_text_with_payload_and_other_commands_on_the_fast_path(
    bot: RunningBot, fake_zapier: FakeZapier, fake_slack: FakeSlack, caplog: pytest.LogCaptureFixture
) -> None:
    """`payload` in the text stays a command (Bolt's parsing bug); an SSL check still gets Bolt's answer."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    assert (await bot.slack.command(COMMAND)).status == 200

    response = await bot.slack.command("SlackAPI channel_message show me the payload")
    ssl_check = await bot.slack.post_raw("ssl_check=1&token=legacy-verification-token", content_type=FORM)

    assert response.status == 200 and ssl_check.status == 200
    assert fast_acks(caplog) == 1
    requests = await fake_zapier.wait_for("preview", 2)  # in either order: each runs in its own task
    assert sorted(r.json["instructions"] for r in requests) == ["Say hello", "show me the payload"]


def app_with(**kw: Any) -> AsyncApp:
    client = AsyncWebClient(token="xoxb-test", base_url="http://127.0.0.1:9/api/")  # never called here
    return AsyncApp(client=client, signing_secret="secret", process_before_response=True, **kw)


async def test_middleware_of_our_own_turns_the_fast_path_off() -> None:
    """The fast path runs only where Bolt has nothing but its built-in middleware: it never skips ours."""

    async def audit(next: Any) -> None:
        await next()

    async def before(next: Any) -> None:
        await next()

    plain, used, authorizing = app_with(), app_with(), app_with(before_authorize=before)
    used.use(audit)
    deps: Deps = None  # type: ignore[assignment]  # FastCommands only keeps it, for commands to come

    assert FastCommands(plain, deps, signing_secret="secret").enabled
    assert not FastCommands(used, deps, signing_secret="secret").enabled
    assert not FastCommands(authorizing, deps, signing_secret="secret").enabled


async def test_a_failed_authorization_never_turns_the_fast_path_on(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """When Slack refuses the token, Bolt answers the /zap 200 with its apology and runs nothing; that
    200 must not count as "authorization passed": the next /zap goes through Bolt again, is refused
    again, and nothing reaches Zapier."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    fake_slack.fail("auth.test", "invalid_auth", times=2)

    first = await bot.slack.command(COMMAND)
    second = await bot.slack.command(COMMAND)

    assert (first.status, second.status) == (200, 200)
    assert "Asking Zapier" not in first.text + second.text
    assert fast_acks(caplog) == 0
    assert fake_zapier.requests == []
