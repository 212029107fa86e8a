"""Full garbage collections held while a burst of Slack's requests is being acked.

A full (oldest-generation) collection walks every object alive. During and just after a burst those include
each command's pending work (1,000 previews in flight: well over 100,000 objects), and bench/ measured such
passes at 11-72 ms, a stall for every ack in flight, against an ack p99 of 20-30 ms. The young and middle
generations are still collected as usual (passes of 1-6 ms); only the full pass waits, for the end of the
burst (bot/ops/give_way.py decides when that is, and for how long at most), so that a workload that
never pauses
still gets its full collections.
"""

from __future__ import annotations

import gc

HELD = 1_000_000  # middle-generation passes before a full one: never, within any hold


class FullCollectionHold:
    def __init__(self) -> None:
        self._saved: tuple[int, int, int] | None = None
        self._released_at = -1e9
        self._full_passes_at_release = -1

    def hold(self, now: float, *, cooldown: float) -> bool:
        """Hold full collections from now on. False when already holding, or when the last hold ended less
        than `cooldown` s ago and no full collection has run since: the one it may have held back comes
        first, so that bursts back to back, or load that never pauses, still get their full collections."""
        if self._saved is not None:
            return False
        if now - self._released_at < cooldown and _full_passes() == self._full_passes_at_release:
            return False
        self._saved = gc.get_threshold()
        young, middle, _ = self._saved
        gc.set_threshold(young, middle, HELD)
        return True

    def release(self, now: float) -> None:
        if self._saved is not None:
            gc.set_threshold(*self._saved)
            self._saved = None
            self._released_at, self._full_passes_at_release = now, _full_passes()


def _full_passes() -> int:
    return int(gc.get_stats()[2]["collections"])
