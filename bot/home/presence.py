"""Where people have been seen acting with zapbot: which channels' open previews their App Home may show.

zapbot does not ask for Slack's `channels:read` / `groups:read` scopes, so it cannot list a channel's
members. What it does know: a `/zap` or a mention typed in a channel, or a click on a zapbot message there,
came from someone Slack was showing that channel to (for a private channel, a member). Each such act is
recorded here, and a preview that "anyone" in its channel may confirm is shown on the Home of the people
seen in that channel within the window (HOME_SEEN_DAYS), and of nobody else there (bot/home/queries.py).

The limit of that rule, and why it is the one chosen: someone who left a private channel keeps seeing its
"anyone" previews on their Home until the window since their last act there runs out (Slack's
`member_left_channel` event would need those same scopes). A click made on the Home itself never counts:
its channel comes from our own block id, not from Slack.

It also keeps who has opened zapbot's Home tab lately: only their Homes are re-published when a preview
changes (bot/home/refresh.py). Anyone else's Home is drawn afresh when they first open it anyway.

Keys (beside bot.store's, under the same prefix `{p}`):
    {p}:seen:{channel}      zset  Slack user ID -> when they last acted there; the newest MAX_PEOPLE kept,
                                  the key expires a window after the last act
    {p}:seen:home:{team}    zset  Slack user ID -> when they last opened the Home tab; the same limits
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, cast

from bot.errors import BotError
from bot.store import Store

log = logging.getLogger(__name__)

MAX_PEOPLE = 1000  # per channel: the most recently seen
REWRITE_SECONDS = 60.0  # an act within this long of the last one recorded (in this process) writes nothing
_REMEMBERED = 10_000  # (key, user) pairs this process remembers writing, for REWRITE_SECONDS

# One act: the person's time, the channel's list cut to the newest MAX_PEOPLE, the key kept a window.
# KEYS: the channel's zset. ARGV: user, now, window seconds, max people.
_SAW = """
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('ZREMRANGEBYRANK', KEYS[1], 0, -tonumber(ARGV[4]) - 1)
redis.call('EXPIRE', KEYS[1], math.ceil(tonumber(ARGV[3])))
return 1
"""


class Presence:
    """Who has been seen acting with zapbot in which channel, within `window` seconds."""

    def __init__(
        self,
        store: Store,
        *,
        window: float,
        clock: Callable[[], float] = time.time,
        turn: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._store = store
        self._window = window
        self._clock = clock
        self._turn = turn  # waits out the acks of a burst (bot/ops/give_way.py `GiveWay.turn`)
        self._saw = store.redis.register_script(_SAW)
        self._written: dict[tuple[str, str], float] = {}
        # Acts seen and not written yet, and the one task that writes them (`saw_soon`).
        self._pending: dict[tuple[str, str], float] = {}
        self._writer: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"Presence(window={self._window:.0f}s)"

    def key(self, channel: str) -> str:
        return f"{self._store.prefix}:seen:{channel}"

    def home_key(self, team: str) -> str:
        return f"{self._store.prefix}:seen:home:{team}"

    def recent(self, channel: str, user: str) -> bool:
        """True when this process recorded `user` in `channel` moments ago: no need to write it again."""
        return self._fresh(self.key(channel), user)

    def saw_soon(self, channel: str, user: str) -> None:
        """Record that `user` acted with zapbot in `channel` now (Slack named the channel, not us): in the
        background, after the acks of a burst, with every other act of the moment in one round trip. A
        burst of a thousand people costs each ack a dict entry, and none of them is dropped (up to
        `_REMEMBERED` waiting; past that, a person's next act records them)."""
        if not channel or not user:
            return
        key = self.key(channel)
        if (key, user) in self._pending or self._fresh(key, user) or len(self._pending) >= _REMEMBERED:
            return
        self._pending[(key, user)] = self._clock()
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write_pending(), name="presence")

    async def written(self) -> None:
        """Until every act seen so far has been written, or has failed to be (tests, and a clean stop)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        if self._turn is not None:
            await self._turn()
        while self._pending:
            acts, self._pending = self._pending, {}
            results = await asyncio.gather(
                *(self._record(key, user, at) for (key, user), at in acts.items()), return_exceptions=True
            )
            if failed := [r for r in results if isinstance(r, BaseException)]:
                # Best effort: a Home shows a little less until the person's next act. Redis's failures are
                # expected now and then; anything else is a bug worth a warning.
                level = logging.INFO if all(isinstance(f, BotError) for f in failed) else logging.WARNING
                what = type(failed[0]).__name__
                log.log(level, "did not record %d of %d acts seen: %s", len(failed), len(acts), what)

    async def opened_home(self, team: str, user: str) -> None:
        """Record that `user` opened zapbot's Home tab now."""
        if user:
            await self._record(self.home_key(team), user)

    async def home_openers(self, team: str, users: Sequence[str]) -> list[str]:
        """Those of `users` (in their order) who opened the Home tab within the window."""
        if not users:
            return []
        since = self._clock() - self._window
        key = self.home_key(team)
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for user in users:
                pipe.zscore(key, user)
            scores = await self._store.call(cast(Awaitable[list[Any]], pipe.execute()))
        return [
            u for u, score in zip(users, scores, strict=True) if score is not None and float(score) >= since
        ]

    def _fresh(self, key: str, user: str) -> bool:
        at = self._written.get((key, user))
        return at is not None and self._clock() - at < REWRITE_SECONDS

    async def _record(self, key: str, user: str, now: float | None = None) -> None:
        if self._fresh(key, user):
            return
        now = self._clock() if now is None else now
        args = [user, f"{now:.3f}", repr(self._window), str(MAX_PEOPLE)]
        await self._store.call(self._store.batched.script(self._saw, [key], args))
        if len(self._written) >= _REMEMBERED:
            self._written.clear()
        self._written[(key, user)] = now

    async def seen_in(self, user: str, channels: Sequence[str]) -> set[str]:
        """Those of `channels` where `user` was seen within the window (one round trip)."""
        unique = list(dict.fromkeys(channels))
        if not unique:
            return set()
        since = self._clock() - self._window
        async with self._store.redis.pipeline(transaction=False) as pipe:
            for channel in unique:
                pipe.zscore(self.key(channel), user)
            scores = await self._store.call(cast(Awaitable[list[Any]], pipe.execute()))
        return {
            channel
            for channel, score in zip(unique, scores, strict=True)
            if score is not None and float(score) >= since
        }

    async def people(self, channel: str, limit: int) -> list[str]:
        """Up to `limit` people seen in `channel` within the window, the most recent first."""
        since = self._clock() - self._window
        found = self._store.redis.zrevrangebyscore(self.key(channel), "+inf", repr(since), start=0, num=limit)
        return await self._store.call(cast(Awaitable[list[str]], found))
