"""Background work gives way to Slack's requests, so that acks stay fast during a burst.

Slack gives the bot 3 s to answer a request; a preview may take a little longer without harm. When a workflow
fires hundreds of `/zap` at once, each command's background work (sending its Zapier call, then handling the
answer: Redis, Slack) would otherwise share the event loop with the acks still to come and slow every one of
them (bench/ measured the bot's ack p99 at several times the floor's). So background work waits while
requests keep arriving less than `quiet` seconds apart, for a lull, and for at most `max_wait` seconds: at
the pace of people (or of 20 in flight) there is always a lull and nothing waits.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable


class GiveWay:
    def __init__(
        self, *, quiet: float = 0.005, max_wait: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._quiet = quiet
        self._max_wait = max_wait
        self._clock = clock
        self._last_request = -1e9
        self._lull: asyncio.Future[None] | None = None
        self._watcher: asyncio.Task[None] | None = None  # a strong reference: asyncio keeps weak ones

    def request_arrived(self) -> None:
        """Called for each request from Slack, as it arrives."""
        self._last_request = self._clock()

    async def turn(self) -> None:
        """Return at once, unless Slack's requests are arriving right now: then after a lull (bounded)."""
        if self._clock() - self._last_request >= self._quiet:
            return
        if self._lull is None or self._lull.done():
            self._lull = asyncio.get_running_loop().create_future()
            self._watcher = asyncio.create_task(self._watch(self._lull), name="give-way")
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(self._lull), self._max_wait)

    async def _watch(self, lull: asyncio.Future[None]) -> None:
        # Polls a timestamp, not an event: a request only moves the time of the last one.
        while (gap := self._clock() - self._last_request) < self._quiet:  # noqa: ASYNC110
            await asyncio.sleep(max(self._quiet - gap, 0.001))
        lull.set_result(None)
