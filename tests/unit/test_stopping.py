"""Stopping within bounds (bot/ops/stopping.py): a shutdown step that overruns is named in the log with
where it waits and left behind, so a process (or a test's teardown) never hangs on one step."""

from __future__ import annotations

import asyncio
import logging

import pytest

from bot.ops.stopping import stop_within, wait_stopped


async def _deaf_to_cancel(started: asyncio.Event, release: asyncio.Event) -> None:
    """A step that swallows its cancellation (as a Redis command sometimes does) and waits on."""
    started.set()
    while not release.is_set():
        try:
            await release.wait()
        except asyncio.CancelledError:
            continue


async def test_a_step_that_ends_in_time_is_awaited() -> None:
    """A step that ends within its bound: True, and its result is kept."""
    assert await stop_within("quick", asyncio.sleep(0), 1.0)


async def test_a_step_that_fails_is_logged_and_stopping_goes_on(caplog: pytest.LogCaptureFixture) -> None:
    """A step that raises: its error is logged (not raised), so the steps after it still run."""

    async def broken() -> None:
        raise OSError("socket gone")

    with caplog.at_level(logging.WARNING, logger="bot.ops.stopping"):
        assert await stop_within("the broken client", broken(), 1.0)
    assert "the broken client failed while stopping: OSError: socket gone" in caplog.text


async def test_a_step_deaf_to_cancellation_is_named_with_where_it_waits_and_left_behind(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A step that overruns and ignores its cancellation: stop_within returns False after its bound (plus
    the short grace after cancelling), and the warning names it and the line it waits on."""
    started, release = asyncio.Event(), asyncio.Event()
    step = asyncio.ensure_future(_deaf_to_cancel(started, release))
    await started.wait()
    loop = asyncio.get_running_loop()
    began = loop.time()
    with caplog.at_level(logging.WARNING, logger="bot.ops.stopping"):
        assert not await stop_within("the stubborn loop", step, 0.1, after_cancel=0.05)
    assert loop.time() - began < 1.0
    assert "the stubborn loop did not stop within 0.1 s; it did not end when cancelled either" in caplog.text
    assert "_deaf_to_cancel" in caplog.text and "await release.wait()" in caplog.text
    release.set()
    await step


async def test_waiting_for_a_task_that_will_not_stop_is_bounded(caplog: pytest.LogCaptureFixture) -> None:
    """wait_stopped gives up after its bound and names the task; a finished or absent task is stopped."""
    started, release = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(_deaf_to_cancel(started, release))
    await started.wait()
    task.cancel()
    with caplog.at_level(logging.WARNING, logger="bot.ops.stopping"):
        assert not await wait_stopped("the keeper", task, 0.05)
    assert "the keeper did not stop within 0.05 s" in caplog.text
    assert "_deaf_to_cancel" in caplog.text
    release.set()
    await task
    assert await wait_stopped("the keeper", task, 0.05)
    assert await wait_stopped("nothing", None, 0.05)
