"""Background work started by handlers after they ack Slack: strong references, a bound, and a drain."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

from bot.give_way import GiveWay

log = logging.getLogger(__name__)


class TooBusy(Exception):
    """More background tasks are in flight than the bound allows."""


class BackgroundTasks:
    """Holds every task it starts (asyncio keeps only weak references) and refuses work past `limit`."""

    def __init__(self, limit: int = 1000, *, give_way: GiveWay | None = None) -> None:
        self._limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self.give_way = give_way  # when set, each task starts after the acks of a burst (bot/give_way.py)

    @property
    def in_flight(self) -> int:
        return len(self._tasks)

    @property
    def accepting(self) -> bool:
        return not self._closing and len(self._tasks) < self._limit

    def spawn(self, coro: Coroutine[Any, Any, None], *, name: str) -> None:
        if not self.accepting:
            coro.close()
            raise TooBusy(name)
        task = asyncio.create_task(self._guarded(coro, name), name=name)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(self, coro: Coroutine[Any, Any, None], name: str) -> None:
        if self.give_way is not None:
            try:
                await self.give_way.turn()
            except asyncio.CancelledError:
                coro.close()  # cancelled (a drain) before it started
                raise
        try:
            await coro
        except asyncio.CancelledError:
            raise
        except Exception:
            # The task's own code reports failures to the user; this is the last net, for the log only.
            log.exception("background task %s failed", name)

    async def drain(self, grace: float) -> int:
        """Stop accepting work and wait up to `grace` s for what is in flight. Returns how many were cut."""
        self._closing = True
        if not self._tasks:
            return 0
        _, pending = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        return len(pending)
