"""Stopping within bounds: every step of a shutdown (a background loop, a client's close) gets a deadline,
and one that has not finished by then is named in the log, with where it waits, and left behind. A
process that must exit never hangs on one step (redis-py, for one, sometimes loses a cancellation that
arrives during a command: a task cancelled then may run on)."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable

log = logging.getLogger(__name__)

AFTER_CANCEL_SECONDS = 1.0  # how long a step that overran is given to end once cancelled


async def stop_within(
    what: str, step: Awaitable[object], seconds: float, *, after_cancel: float = AFTER_CANCEL_SECONDS
) -> bool:
    """Await `step` (a coroutine or a task) for at most `seconds`. True if it ended (its own errors are
    logged, not raised: the other steps still run); False if it overran: then it is cancelled, given
    `after_cancel` seconds more, and a warning names it and where it was waiting."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.warning("%s failed while stopping: %s: %s", what, type(exc).__name__, exc)
        return True
    waiting = where_waiting(task)
    task.cancel()
    await asyncio.wait({task}, timeout=after_cancel)
    left = "" if task.done() else "; it did not end when cancelled either"
    log.warning("%s did not stop within %g s%s. It was waiting at:\n%s", what, seconds, left, waiting)
    return False


async def wait_stopped(what: str, task: asyncio.Task[None] | None, seconds: float) -> bool:
    """Wait for a task that was told to stop (and maybe cancelled) to end, for at most `seconds`."""
    if task is None or task.done():
        return True
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        return True
    log.warning("%s did not stop within %g s. It was waiting at:\n%s", what, seconds, where_waiting(task))
    return False


def where_waiting(task: asyncio.Task[object]) -> str:
    """The task's stack, innermost frame last (what it awaits)."""
    out = io.StringIO()
    task.print_stack(limit=12, file=out)
    return out.getvalue().rstrip()
