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
from contextvars import Context
from typing import Any, cast

from bot.errors import BotError
from bot.store import Store

log = logging.getLogger(__name__)

MAX_PEOPLE = 1000  # per channel: the most recently seen
REWRITE_SECONDS = 60.0  # an act within this long of the last one recorded (in this process) writes nothing
_REMEMBERED = 10_000  # (key, user) pairs this process remembers writing, for REWRITE_SECONDS

# Acts, each: the person's time in the channel's list, the list cut to the newest MAX_PEOPLE, the key kept
# a window. KEYS: each act's channel zset. ARGV: window seconds, max people, then each act's time and user.
_SAW = """
local window, most = math.ceil(tonumber(ARGV[1])), tonumber(ARGV[2])
for i = 1, #KEYS do
  redis.call('ZADD', KEYS[i], ARGV[1 + 2 * i], ARGV[2 + 2 * i])
  redis.call('ZREMRANGEBYRANK', KEYS[i], 0, -most - 1)
  redis.call('EXPIRE', KEYS[i], window)
end
return #KEYS
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
            # Many requests' acts in one write: it belongs to none of their contexts (request ids).
            self._writer = asyncio.create_task(self._write_pending(), name="presence", context=Context())

    async def written(self) -> None:
        """Until every act seen so far has been written, or has failed to be (tests, and a clean stop)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    async def _write_pending(self) -> None:
        while self._pending:
            if self._turn is not None:
                await self._turn()  # each batch after the acks of a burst that may have begun meanwhile
            acts, self._pending = self._pending, {}
            try:
                await self._record(acts)
            except BotError as exc:
                # Best effort: a Home shows a little less until the person's next act.
                log.info("did not record %d acts seen: %s", len(acts), type(exc).__name__)

    async def opened_home(self, team: str, user: str) -> None:
        """Record that `user` opened zapbot's Home tab now."""
        if user:
            await self._record({(self.home_key(team), user): self._clock()})

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

    async def _record(self, acts: dict[tuple[str, str], float]) -> None:
        """Write `acts` ((key, user) -> when) in one script call, but for those written moments ago."""
        acts = {act: at for act, at in acts.items() if not self._fresh(*act)}
        if not acts:
            return
        args = [repr(self._window), str(MAX_PEOPLE)]
        for (_, user), at in acts.items():
            args += [f"{at:.3f}", user]
        await self._store.call(self._store.batched.script(self._saw, [key for key, _ in acts], args))
        if len(self._written) + len(acts) > _REMEMBERED:
            self._written.clear()
        self._written.update(acts)

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
