"""A test's teardown never hangs silently: a stop that overruns its bound fails the test, listing every
asyncio task still running and where it waits (pytest-timeout's thread dump shows only the event loop)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable

from bot.ops.stopping import where_waiting


async def stopped_within(what: str, step: Awaitable[object], seconds: float) -> None:
    """Await `step` for at most `seconds`; past that, fail with the stacks of the tasks still running."""
    task = asyncio.ensure_future(step)
    done, _ = await asyncio.wait({task}, timeout=seconds)
    if task in done:
        task.result()
        return
    here = asyncio.current_task()
    running = [t for t in asyncio.all_tasks() if t is not here and not t.done()]
    stacks = "\n\n".join(f"task {t.get_name()}:\n{where_waiting(t)}" for t in running)
    task.cancel()
    raise AssertionError(f"{what} did not stop within {seconds:g} s; tasks still running:\n{stacks}")
