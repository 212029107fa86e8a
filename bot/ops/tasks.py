"""Background work started by handlers after they ack Slack: strong references, a bound, and a drain."""

from __future__ import annotations

import asyncio
import contextvars
import logging
from collections.abc import Coroutine
from typing import Any, Protocol

from bot.ops.give_way import GiveWay

log = logging.getLogger(__name__)


class TooBusy(Exception):
    """More background tasks are in flight than the bound allows."""


class Hold(Protocol):
    """What keeps work a person asked for known outside this process while it waits its turn
    (bot/runs/held.py): told when the work is queued, and when it starts."""

    def held(self) -> None: ...

    async def started(self) -> None:
        """Until what marked the work as held is undone: the work's own steps begin only then."""


class _Queued:
    """Work waiting in `give_way` during a burst, started when called. One object per command: a burst of
    1,000 commands keeps 1,000 of these alive, and every object alive is one the garbage collector's
    passes walk during the burst (a closure and a pair cost four more each)."""

    __slots__ = ("context", "coro", "hold", "name", "tasks")

    def __init__(
        self, tasks: BackgroundTasks, coro: Coroutine[Any, Any, object], name: str, hold: Hold | None
    ) -> None:
        self.tasks, self.coro, self.name, self.hold = tasks, coro, name, hold
        # The context of the request that queued it (its request id), not of whoever starts it later.
        self.context = contextvars.copy_context()

    def __call__(self) -> None:
        self.tasks.start_queued(self)


class BackgroundTasks:
    """Holds every task it starts (asyncio keeps only weak references) and refuses work past `limit`.

    During a burst of Slack's requests new work is not started at all: it is queued in `give_way` and
    becomes a task when its turn comes (in the context of the request that queued it), so that an ack costs
    the burst no task and no
    extra turn of the event loop. Queued work counts against `limit` and in `in_flight` like a task."""

    def __init__(self, limit: int = 1000, *, give_way: GiveWay | None = None) -> None:
        self._limit = limit
        self._tasks: set[asyncio.Task[None]] = set()
        self._queued: set[_Queued] = set()  # not started yet (give_way)
        self._closing = False
        self.give_way = give_way  # when set, work starts after the acks of a burst (bot/ops/give_way.py)

    @property
    def in_flight(self) -> int:
        return len(self._tasks) + len(self._queued)

    @property
    def accepting(self) -> bool:
        return not self._closing and self.in_flight < self._limit

    def spawn(self, coro: Coroutine[Any, Any, object], *, name: str, hold: Hold | None = None) -> None:
        """Start `coro`, or queue it during a burst. `hold`: work a person asked for, which is marked
        outside this process while it is queued (bot/runs/held.py)."""
        if not self.accepting:
            coro.close()
            raise TooBusy(name)
        if self.give_way is not None:
            queued = _Queued(self, coro, name, hold)
            if self.give_way.defer(queued):
                self._queued.add(queued)
                if hold is not None:
                    hold.held()
                return
        self._start(coro, name, give_way=self.give_way is not None)

    def spawn_reply(self, coro: Coroutine[Any, Any, object], *, name: str) -> None:
        """A short answer to a person (e.g. "busy, try again"): started even past the limit, which exists
        to bound the slow work, so that nobody who was refused goes unanswered."""
        self._start(coro, name, give_way=False)

    def start_queued(self, queued: _Queued) -> None:
        if queued in self._queued:  # else a drain closed it
            self._queued.remove(queued)
            self._start(queued.coro, queued.name, give_way=False, context=queued.context, hold=queued.hold)

    def _start(
        self,
        coro: Coroutine[Any, Any, object],
        name: str,
        *,
        give_way: bool,
        context: contextvars.Context | None = None,
        hold: Hold | None = None,
    ) -> None:
        task = asyncio.create_task(
            self._guarded(coro, name, give_way=give_way, hold=hold), name=name, context=context
        )
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _guarded(
        self, coro: Coroutine[Any, Any, object], name: str, *, give_way: bool, hold: Hold | None = None
    ) -> None:
        try:
            if give_way and self.give_way is not None:
                # Started at once, but a burst may have begun before its first step: it waits its turn too.
                await self.give_way.turn()
            if hold is not None:
                # Its held mark gone first: a process killed from here on leaves the work's own marks (an
                # asking, a run's lease) to tell its person, never a held mark saying it did not start.
                await hold.started()
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
        """Stop accepting work and wait up to `grace` s for what is in flight (queued work starts once
        requests stop). Returns how many were cut: cancelled, or closed before they started."""
        self._closing = True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + grace
        while self._tasks or self._queued:
            remaining = deadline - loop.time()
            if remaining <= 0:
                break
            if self._tasks:
                await asyncio.wait(set(self._tasks), timeout=min(remaining, 0.05))
            else:
                await asyncio.sleep(min(remaining, 0.01))
        cut = self.in_flight
        for queued in self._queued:
            queued.coro.close()
        self._queued.clear()
        pending = set(self._tasks)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        return cut
