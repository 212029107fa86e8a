"""Helpers for the team confirmation tests: a bot started with a policy file, what people were told."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.helpers import text_of
from tests.support.redis_reads import stream_entries

WRITE = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'


def write_policy(directory: Path, text: str) -> Path:
    path = directory / "policy.yml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


@asynccontextmanager
async def bot_with_policy(
    settings: Settings, http: aiohttp.ClientSession, slack: FakeSlack, policy_file: Path, **build: Any
) -> AsyncIterator[RunningBot]:
    """The real bot, built from settings whose POLICY_FILE is `policy_file`."""
    with_policy = settings.model_copy(update={"policy_file": policy_file})
    async with running_bot(with_policy, http, slack.response_url_base, **build) as bot:
        yield bot


StartBot = Callable[[str], AbstractAsyncContextManager[RunningBot]]


def policy_bot(
    bot_settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack, tmp_path: Path
) -> StartBot:
    """A fixture (`start_bot = pytest.fixture(policy_bot)` in a test module): `async with start_bot(yaml)`
    runs the real bot with that policy file."""

    def start(policy_text: str) -> AbstractAsyncContextManager[RunningBot]:
        return bot_with_policy(bot_settings, http_session, fake_slack, write_policy(tmp_path, policy_text))

    return start


def told(slack: FakeSlack, key: str) -> str:
    """Everything posted to the response URL `key` (what only the person who clicked saw)."""
    return "\n".join(text_of(p.json) for p in slack.response_posts if p.key == key)


async def told_at(slack: FakeSlack, key: str, timeout: float = 5.0) -> str:  # noqa: ASYNC109
    """Wait until something was posted to the response URL `key`; return all of it."""
    await wait_until(
        lambda: [p for p in slack.response_posts if p.key == key],
        1,
        timeout,
        lambda: repr(slack.response_posts),
    )
    return told(slack, key)


async def audit_entries(client: redis.asyncio.Redis) -> list[dict[str, str]]:
    """Every entry of the audit stream, oldest first."""
    return [fields for _, fields in await stream_entries(client, "zapbot:audit")]
