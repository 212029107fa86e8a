"""The garbage collector waits while a burst is acked (ZAPBOT_FAST_PATHS: `gc_pause`).

Each `/zap` of a burst leaves objects that live until the burst ends: its queued work, its coroutine, the
context of its request (bot/ops/give_way.py holds them all until the acks are done). The collector's passes
over the young generations walk those again and again while requests wait. In a burst of 1,000 acks the
bench counted 25 collections (10 ms of the event loop, a young-generation pass of up to 2.4 ms among them)
without this, and 1 (0.1 ms) with it; a pass of a few ms also looked like the end of the burst to
give_way, which then let work through in the middle of the acks (bench/README.md has the figures).

So while give_way holds work back for a burst, the collector is off, and it is back on when the burst
ends: the objects of the burst are then walked once instead of at every pass. Reference counting frees
almost everything meanwhile; what only the collector frees (cycles) waits at most `longest` seconds, after
which the collector runs again whatever the load, and stays on until the burst ends. A load that never
pauses therefore runs with the collector on, as without this behaviour. If anything else turned the
collector off, this leaves it alone.
"""

from __future__ import annotations

import asyncio
import gc


class GcPause:
    def __init__(self, *, longest: float = 1.0) -> None:
        self._longest = longest
        self._timer: asyncio.TimerHandle | None = None  # set while this has the collector off
        self._lapsed = False  # this burst's pause ran its `longest`: none again until the burst ends

    @property
    def paused(self) -> bool:
        return self._timer is not None

    def pause(self) -> None:
        """A burst is being acked: the collector off, unless it already is, or this burst's pause lapsed."""
        if self._timer is not None or self._lapsed or not gc.isenabled():
            return
        gc.disable()
        self._timer = asyncio.get_running_loop().call_later(self._longest, self._lapse)

    def resume(self) -> None:
        """The burst is over: the collector on again (if this turned it off)."""
        self._lapsed = False
        self._stop()

    def _lapse(self) -> None:
        self._timer = None  # the timer that calls this is done
        self._lapsed = True
        gc.enable()

    def _stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
            gc.enable()
