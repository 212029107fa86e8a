"""What keeps runs honest while this process lives: it renews the leases of the runs it holds, records
outcomes Redis missed, expires old previews, and ends the runs of processes that died (any replica may;
each run is ended once). One loop per process."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time

from bot.errors import BotError
from bot.ops.stopping import wait_stopped
from bot.runs.lifecycle import Runs
from bot.runs.ports import Availability

log = logging.getLogger(__name__)

STOP_SECONDS = 5.0  # past one Redis command's socket timeout: a lost cancellation ends by then


class Keeper:
    def __init__(self, runs: Runs, *, interval: float, access: Availability | None = None) -> None:
        self._runs = runs
        self._access = access  # while Slack refuses the token, expiry and orphans wait (they message Slack)
        # Renew well within a lease, and sweep at least as often as asked.
        self._interval = min(interval, runs.runs.lease_seconds / 3)
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="run-keeper")

    async def stop(self) -> None:
        # A flag as well as cancel(): redis-py sometimes loses a cancellation that arrives during a command.
        self._stopping.set()
        if self._task is not None:
            self._task.cancel()
            await wait_stopped("the run keeper", self._task, STOP_SECONDS)

    async def tend(self) -> None:
        """One round: renew, record, expire, end orphans."""
        runs = self._runs
        await runs.runs.renew(sorted(runs.held), sorted(runs.asking), time.time() + runs.runs.lease_seconds)
        if runs.unrecorded:
            await runs.record_pending()
        if self._access is not None and not self._access.usable:
            return
        await runs.expire_due()
        await runs.end_orphans()

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.tend()
            except BotError as exc:
                log.warning("run keeping skipped: %s", exc)
            except Exception:
                log.exception("run keeping failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), self._interval)
