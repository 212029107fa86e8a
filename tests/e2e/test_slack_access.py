"""Uninstall and revoked tokens (issue 21, item 7), end to end with the realistic Slack stand-in: the real
bot over HTTP, a real Redis. Slack refusing the bot token pauses the work that calls Slack, says so once in
the log, in /readyz and in a metric, and everything resumes when the token works again."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import command_to_preview, text_of

pytestmark = pytest.mark.realistic_slack

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'
RECHECK = 0.2


@asynccontextmanager
async def bot_with_recheck(
    settings: Settings, http: aiohttp.ClientSession, slack: FakeSlack, **build: Any
) -> AsyncIterator[RunningBot]:
    """The real bot, asking `auth.test` every RECHECK seconds while Slack refuses its token."""
    async with running_bot(
        settings, http, slack.response_url_base, slack_recheck_seconds=RECHECK, **build
    ) as bot:
        yield bot


async def readyz(http: aiohttp.ClientSession, bot: RunningBot) -> tuple[int, dict[str, Any]]:
    async with http.get(bot.url + "/readyz") as response:
        return response.status, await response.json()


async def revoked_metric(http: aiohttp.ClientSession, bot: RunningBot) -> str:
    async with http.get(bot.url + "/metrics") as response:
        lines = (await response.text()).splitlines()
    [line] = [line for line in lines if line.startswith("zapbot_slack_token_revoked ")]
    return line.split()[1]


async def eventually(check: Callable[[], Awaitable[bool]], timeout: float = 5.0) -> None:  # noqa: ASYNC109
    """Poll the async `check()` until it returns True; AssertionError after `timeout` seconds."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.05)


def slack_work(slack: FakeSlack) -> list[str]:
    """Every Slack call but the token checks."""
    return [c.method for c in slack.calls if c.method != "auth.test"]


async def test_a_revoked_token_pauses_delivery_until_auth_test_passes_again(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Slack answers token_revoked to the outbox's first call after a Confirm: the bot logs one ERROR,
    /readyz answers 503 naming slack, zapbot_slack_token_revoked is 1, and no further Slack work is tried
    while auth.test keeps failing. Restored, auth.test passes, readiness and the metric recover, and the
    queued result lands in the preview's thread."""
    caplog.set_level(logging.INFO)
    async with bot_with_recheck(bot_settings, http_session, fake_slack) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        assert await revoked_metric(http_session, bot) == "0.0"
        fake_slack.revoke_token("token_revoked")

        await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
        await fake_zapier.wait_for("execute")
        await eventually(lambda: _status_is(http_session, bot, 503))
        _, body = await readyz(http_session, bot)
        assert body["failing"] == ["slack"] and "token_revoked" in body["slack"]
        assert await revoked_metric(http_session, bot) == "1.0"
        work = slack_work(fake_slack)
        # Rechecks meanwhile (none pass), for longer than the outbox's first retry (about 1 s) waits.
        await fake_slack.wait_for("auth.test", len(fake_slack.of("auth.test")) + 12, timeout=10)
        assert slack_work(fake_slack) == work  # paused: nothing else was tried

        fake_slack.restore_token()
        result = await wait_until(
            lambda: [c for c in fake_slack.accepted("chat.postMessage") if c.args.get("thread_ts")],
            1,
            5.0,
            lambda: repr(slack_work(fake_slack)),
        )
        assert result[0].args["thread_ts"] == previewed.ts and "success" in text_of(result[0])
        await eventually(lambda: _status_is(http_session, bot, 200))
        assert (await readyz(http_session, bot))[1]["slack"] == "ok"
        assert await revoked_metric(http_session, bot) == "0.0"
    errors = [r for r in caplog.records if r.name == "bot.slack.access" and r.levelno == logging.ERROR]
    assert len(errors) == 1 and "token_revoked" in errors[0].getMessage()
    assert fake_slack.bot_token not in caplog.text


async def _status_is(http: aiohttp.ClientSession, bot: RunningBot, status: int) -> bool:
    return (await readyz(http, bot))[0] == status


@pytest.mark.parametrize(
    "event",
    [
        {"type": "app_uninstalled"},
        {"type": "tokens_revoked", "tokens": {"oauth": [], "bot": ["UBOT"]}},
    ],
    ids=["app_uninstalled", "tokens_revoked"],
)
async def test_uninstall_events_pause_the_keeper_until_the_token_works(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    event: dict[str, Any],
) -> None:
    """app_uninstalled or tokens_revoked (bot tokens) is answered 200 and makes /readyz 503 naming it; a
    preview that falls due meanwhile is not expired in Slack (no chat.update) while the token fails; once
    auth.test passes again, the keeper resumes and the preview shows as expired."""
    settings = bot_settings.model_copy(update={"preview_ttl_seconds": 1})
    async with bot_with_recheck(settings, http_session, fake_slack) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        fake_slack.revoke_token("account_inactive")  # as Slack answers after an uninstall

        response = await bot.slack.event(event)

        assert response.status == 200
        status, body = await readyz(http_session, bot)
        assert status == 503 and body["failing"] == ["slack"] and event["type"] in body["slack"]
        await fake_slack.wait_for("auth.test", len(fake_slack.of("auth.test")) + 6, timeout=10)  # > 1 s
        assert fake_slack.of("chat.update") == []

        fake_slack.restore_token()
        [update] = await fake_slack.wait_for_accepted("chat.update", timeout=5)
        assert update.args["ts"] == previewed.ts and "expired" in text_of(update).lower()
        assert (await readyz(http_session, bot))[0] == 200
