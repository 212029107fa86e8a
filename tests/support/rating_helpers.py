"""What the rating tests share: fast settings, a command run to its result, and waiting on Redis."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons, command_to_preview

T = TypeVar("T")

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'

# Short delays so that a delivery happens within tens of milliseconds; each test may override some.
FAST: dict[str, Any] = {
    "rating_delay_seconds": 0.05,
    "rating_retry_seconds": 0.05,
    "rating_retry_max_seconds": 2.0,
    "rating_timeout_seconds": 2.0,
}
POLL = 0.02


@asynccontextmanager
async def rating_bot(
    settings: Settings, http: aiohttp.ClientSession, slack: FakeSlack, **overrides: Any
) -> AsyncIterator[RunningBot]:
    """The real bot with fast rating delivery (FAST, then `overrides`), polling its queue every 20 ms.

    `expiry_interval` and `rating_poll_interval` among `overrides` go to build_app; the rest are settings.
    """
    build_keys = ("expiry_interval", "rating_poll_interval")
    build = {key: overrides.pop(key) for key in build_keys if key in overrides}
    build.setdefault("rating_poll_interval", POLL)
    fast = settings.model_copy(update={**FAST, **overrides})
    async with running_bot(fast, http, slack.response_url_base, **build) as bot:
        yield bot


@dataclass(frozen=True)
class Ran:
    """A command run to its result: the run's execution and message, and the preview's."""

    execution_log_id: str
    ts: str  # the result message, in the preview's thread
    thread_ts: str  # the preview message
    preview_log_id: str


async def run_to_result(
    bot: RunningBot, slack: FakeSlack, redis_client: redis.asyncio.Redis, text: str = COMMAND
) -> Ran:
    """/zap, Confirm, and wait until the result is posted and recorded (so reactions on it count)."""
    previewed = await command_to_preview(bot, slack, text)
    before = len(slack.of("chat.postMessage"))
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    result = (await slack.wait_for("chat.postMessage", before + 1))[before]
    ts = str(result.answer["ts"])
    execution_log_id = buttons(result)["zap_feedback"]
    await eventually(lambda: redis_client.get(f"zapbot:message:C1:{ts}"))
    preview_log_id = await eventually(lambda: redis_client.get(f"zapbot:message:C1:{previewed.ts}"))
    return Ran(execution_log_id, ts, previewed.ts, str(preview_log_id))


async def eventually(check: Callable[[], Awaitable[T | None]], timeout: float = 10.0) -> T:  # noqa: ASYNC109
    """Poll `check()` until it returns something truthy; fail with the last value after `timeout` s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = await check()
        if value:
            return value
        if loop.time() >= deadline:
            raise AssertionError(f"still {value!r} after {timeout:.1f}s")
        await asyncio.sleep(0.01)


def execution(redis_client: redis.asyncio.Redis, execution_log_id: str) -> Awaitable[dict[str, str]]:
    return redis_client.hgetall(f"zapbot:execution:{execution_log_id}")  # type: ignore[return-value]


async def settled(redis_client: redis.asyncio.Redis, execution_log_id: str) -> dict[str, str]:
    """The execution once its newest rating and feedback have been delivered (nothing left pending)."""

    async def check() -> dict[str, str] | None:
        fields = await execution(redis_client, execution_log_id)
        done = fields.get("delivery") == "delivered"
        current = fields.get("delivered_version") == fields.get("delivery_version")
        return fields if done and current else None

    found = await eventually(check)
    assert found is not None
    return found


@dataclass(frozen=True)
class World:
    """Everything a rating test works with: the stand-ins, Redis, and settings pointing at them."""

    settings: Settings
    http: aiohttp.ClientSession
    slack: FakeSlack
    zapier: FakeZapier
    redis: redis.asyncio.Redis
    redis_url: str

    def bot(self, **overrides: Any) -> AbstractAsyncContextManager[RunningBot]:
        return rating_bot(self.settings, self.http, self.slack, **overrides)

    async def run_to_result(self, bot: RunningBot, text: str = COMMAND) -> Ran:
        return await run_to_result(bot, self.slack, self.redis, text)

    async def fields(self, execution_log_id: str) -> dict[str, str]:
        return await execution(self.redis, execution_log_id)

    async def until(self, execution_log_id: str, **wanted: str) -> dict[str, str]:
        """The execution's fields once every `wanted` field has the given value."""

        async def check() -> dict[str, str] | None:
            fields = await execution(self.redis, execution_log_id)
            return fields if all(fields.get(k) == v for k, v in wanted.items()) else None

        found = await eventually(check)
        assert found is not None
        return found

    async def settled(self, execution_log_id: str) -> dict[str, str]:
        return await settled(self.redis, execution_log_id)

    async def applied(self, execution_log_id: str, user: str, name: str, *, added: bool = True) -> None:
        """Wait until `user`'s reaction `name` (added, or removed) has been counted on the execution.

        Reactions are counted in the background after Slack gets its 200, in no set order: a test that
        looks at an intermediate state waits for the events it sent first.
        """
        key = f"zapbot:execution:{execution_log_id}:reactions"

        async def check() -> bool:
            raw = await self.redis.hget(key, user)
            entry = json.loads(raw).get(name) if raw else None
            return entry is not None and (entry[0] != 0) == added

        await eventually(check)


async def react(bot: RunningBot, name: str, *, ts: str, user: str = "U2", added: bool = True) -> None:
    """A signed reaction_added (or reaction_removed) from `user` on message `ts` in C1, answered 200."""
    response = await bot.slack.reaction(name, ts=ts, user=user, added=added)
    assert response.status == 200, response.text


@pytest.fixture
def world(  # noqa: PLR0917 - pytest hands fixtures over as positional arguments
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
) -> World:
    """The stand-ins, Redis and settings of one test, together. Test modules import this fixture."""
    return World(bot_settings, http_session, fake_slack, fake_zapier, redis_client, redis_url)
