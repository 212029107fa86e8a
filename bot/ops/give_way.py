"""Background work gives way to Slack's requests, so that acks stay fast during a burst.

Slack gives the bot 3 s to answer a request; a preview may take a little longer without harm. When a workflow
fires hundreds of `/zap` at once, each command's background work (sending its Zapier call, then handling the
answer: Redis, Slack) would otherwise share the event loop with the acks still to come and slow every one of
them (bench/ measured the bot's ack p99 at several times the floor's). So while requests arrive less than
`quiet` seconds apart, background work queues at `turn()`, and the queue lets one piece through per turn of
the event loop once requests pause or once the oldest has waited `max_wait` seconds: never a flood that
would stall the acks behind it.

`max_wait` (0.6 s) is about as long as a burst of 1,000 commands takes to ack on a 2-core machine (bench/:
1,700-3,500 acks/s), so that such a burst is acked whole before its previews begin; a longer burst, or load
that never pauses, delays each preview by `max_wait` at most. It was 1 s once, when waiting work was a task:
the scale phase then showed 4.9 instead of 2.9 ms of CPU per command. It went to 0.25 s; with waiting work a
queue entry (`defer`), 0.6 s measured the same or better in the scale phase (238 and 285 commands/s on one
core, against 210 and 222 with 0.25 s) and put the ack p99 level with the floor's (0.91-1.05x over three
runs of the ack phase, against 0.98-1.33x).

A burst is two requests less than `quiet` apart: one request on its own (the pace of people, even twenty
of them a second) is not one, so its work, and the handling of Zapier's answers meanwhile, never waits.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable

from bot.ops.gc_pause import GcPause


class GiveWay:
    def __init__(
        self,
        *,
        quiet: float = 0.005,
        max_wait: float = 0.6,
        clock: Callable[[], float] = time.monotonic,
        gc_pause: GcPause | None = None,
    ) -> None:
        self._quiet = quiet
        self._max_wait = max_wait
        self._clock = clock
        self._last_request = -1e9
        self._previous_request = -1e9
        # Each waiting piece: when it began to wait, and a future to resolve (`turn`) or a function to call
        # (`defer`) when its turn comes.
        self._waiting: deque[tuple[float, asyncio.Future[None] | Callable[[], None]]] = deque()
        self._scheduled = False
        self._gc_pause = gc_pause  # the garbage collector waits during a burst too (bot/ops/gc_pause.py)

    def request_arrived(self) -> None:
        """Called for each request from Slack, as it arrives."""
        self._previous_request, self._last_request = self._last_request, self._clock()
        if self._gc_pause is not None and self._last_request - self._previous_request < self._quiet:
            self._gc_pause.burst_request()

    def stop(self) -> None:
        """No more requests are coming (a shutdown): nothing waits for a burst to end any more."""
        if self._gc_pause is not None:
            self._gc_pause.stop()

    def _in_burst(self, now: float) -> bool:
        return (
            now - self._last_request < self._quiet
            and self._last_request - self._previous_request < self._quiet
        )

    async def turn(self) -> None:
        """Return at once, unless a burst of Slack's requests is arriving right now: then when this work's
        turn is."""
        now = self._clock()
        if not self._waiting and not self._in_burst(now):
            return
        turn = asyncio.get_running_loop().create_future()
        self._waiting.append((now, turn))
        self._schedule(0.0)
        await turn

    def defer(self, start: Callable[[], None]) -> bool:
        """Queue `start`, to be called when this work's turn comes, if a burst is arriving right now (True);
        else do nothing (False) and let the caller start the work at once. Unlike `turn()` this costs a
        burst no task and no turn of the event loop per piece of work, only a place in the queue."""
        now = self._clock()
        if not self._waiting and not self._in_burst(now):
            return False
        self._waiting.append((now, start))
        self._schedule(0.0)
        return True

    def _schedule(self, delay: float) -> None:
        if not self._scheduled:
            self._scheduled = True
            asyncio.get_running_loop().call_later(delay, self._release_one)

    def _release_one(self) -> None:
        self._scheduled = False
        while self._waiting and _cancelled(self._waiting[0][1]):  # cancelled while waiting (a drain)
            self._waiting.popleft()
        if not self._waiting:
            return
        now = self._clock()
        since_request = now - self._last_request
        if not self._in_burst(now) or now - self._waiting[0][0] >= self._max_wait:
            waiter = self._waiting.popleft()[1]
            if isinstance(waiter, asyncio.Future):
                waiter.set_result(None)
            else:
                waiter()
            self._schedule(0.0)  # the next one on the loop's next turn, after any request that came in
        else:
            self._schedule(min(self._quiet - since_request, self._max_wait))


def _cancelled(waiter: asyncio.Future[None] | Callable[[], None]) -> bool:
    return isinstance(waiter, asyncio.Future) and waiter.done()
