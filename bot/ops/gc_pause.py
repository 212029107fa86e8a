"""The garbage collector waits while a burst of Slack's requests is acked (ZAPBOT_FAST_PATHS: `gc_pause`).

Each `/zap` of a burst leaves objects that live until the burst is over: its queued work, its coroutine, the
context of its request (bot/ops/give_way.py holds them until the acks are done). The collector's passes
over the young generations walk those again and again, and each pass of a few ms holds up every request in
flight: bench.gc_trace counted 15-32 collections, 7.5-13 ms in all, during the acks of one burst of 1,000.

So from the second of two requests less than give_way's `quiet` apart, the collector is off until no
request has come for `settle` seconds; the objects of the burst are then walked once. Reference counting
frees almost everything meanwhile; what only the collector frees (cycles) waits at most `longest` seconds,
after which the collector is on again and stays on until requests pause for `settle`: a load that never
pauses runs with the collector on, as without this behaviour. If anything else turned the collector off,
this leaves it alone. bench/README.md has what it buys.
"""

from __future__ import annotations

import asyncio
import gc
import time
from collections.abc import Callable


class GcPause:
    def __init__(
        self, *, settle: float = 0.05, longest: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._settle = settle
        self._longest = longest
        self._clock = clock
        self._since: float | None = None  # when this turned the collector off; None while it is on
        self._last = -1e9  # the latest request of a burst
        self._lapsed = False  # the pause ran its `longest`: none again until requests pause

    @property
    def paused(self) -> bool:
        return self._since is not None

    def burst_request(self) -> None:
        """A request arrived in a burst (bot/ops/give_way.py decides what a burst is)."""
        now = self._clock()
        if self._lapsed and now - self._last >= self._settle:
            self._lapsed = False
        self._last = now
        if self._since is not None or self._lapsed or not gc.isenabled():
            return
        gc.disable()
        self._since = now
        asyncio.get_running_loop().call_later(self._settle, self._check)

    def stop(self) -> None:
        """The collector on again now, if this turned it off (a shutdown: no burst is coming)."""
        if self._since is not None:
            self._since = None
            gc.enable()

    def _check(self) -> None:
        if self._since is None:
            return
        now = self._clock()
        if now - self._since >= self._longest:
            self._lapsed = True
        elif now - self._last < self._settle:  # requests still coming: look again when they may have paused
            next_look = min(self._last + self._settle, self._since + self._longest) - now
            asyncio.get_running_loop().call_later(max(next_look, 0.001), self._check)
            return
        self.stop()
