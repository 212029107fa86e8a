"""Background work gives way to Slack's requests during a burst (bot/ops/give_way.py), within a bound.

The gate's clock is a value the tests move by hand, so nothing here depends on how fast the machine is.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator

import pytest

from bot.ops.gc_pause import GcPause
from bot.ops.give_way import GiveWay
from bot.ops.tasks import BackgroundTasks, TooBusy


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_without_recent_requests_nothing_waits() -> None:
    """No request in the last `quiet` seconds: turn() returns at once."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    gate.request_arrived()
    clock.now += 1

    await asyncio.wait_for(gate.turn(), 5)


async def test_one_request_alone_does_not_hold_its_own_work() -> None:
    """A request with none just before it (people's pace) is no burst: its work goes on at once."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    gate.request_arrived()
    clock.now += 0.05  # the next one, 50 ms later: twenty a second, but one at a time
    gate.request_arrived()

    await asyncio.wait_for(gate.turn(), 5)


async def test_work_waits_until_requests_pause() -> None:
    """While requests keep arriving, work waits; once they pause for `quiet` seconds, it goes on."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    gate.request_arrived()
    gate.request_arrived()  # two at the same moment: a burst
    waiting = [asyncio.create_task(gate.turn()) for _ in range(3)]
    await asyncio.sleep(0.05)  # the gate's clock stands still: requests are "still arriving"
    assert not any(w.done() for w in waiting)

    clock.now += 1  # a second without requests

    await asyncio.wait_for(asyncio.gather(*waiting), 5)


async def test_the_wait_is_bounded() -> None:
    """Requests that never pause delay work by `max_wait` at most."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=0.5, clock=clock)
    gate.request_arrived()
    gate.request_arrived()
    waiting = asyncio.create_task(gate.turn())
    await asyncio.sleep(0.05)
    assert not waiting.done()

    clock.now += 1  # the work has waited a second: past max_wait ...
    gate.request_arrived()  # ... and a burst is still arriving
    gate.request_arrived()

    await asyncio.wait_for(waiting, 5)


async def test_waiting_work_goes_on_in_order_one_at_a_time() -> None:
    """After a burst, queued work resumes in arrival order, one piece per turn of the event loop."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    gate.request_arrived()
    gate.request_arrived()
    order: list[int] = []

    async def work(n: int) -> None:
        await gate.turn()
        order.append(n)

    tasks = [asyncio.create_task(work(n)) for n in range(5)]
    await asyncio.sleep(0.05)
    clock.now += 1
    await asyncio.wait_for(asyncio.gather(*tasks), 5)

    assert order == [0, 1, 2, 3, 4]


async def test_a_task_drained_while_it_waits_never_starts() -> None:
    """A background task cut by the shutdown drain while giving way is closed, not run (and no warning)."""
    gate = GiveWay(quiet=0.01, max_wait=30, clock=Clock())
    gate.request_arrived()
    gate.request_arrived()
    tasks = BackgroundTasks(give_way=gate)
    ran = []

    async def job() -> None:
        ran.append(True)

    tasks.spawn(job(), name="job")
    cut = await tasks.drain(0.05)

    assert (cut, ran) == (1, [])


async def test_work_spawned_during_a_burst_waits_as_a_queue_entry_not_a_task() -> None:
    """During a burst, spawned work costs no task until its turn: it is counted in flight, starts once
    requests pause, and runs in the order it was spawned."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    gate.request_arrived()
    gate.request_arrived()
    tasks = BackgroundTasks(give_way=gate)
    ran: list[int] = []

    async def job(n: int) -> None:
        ran.append(n)

    before = len(asyncio.all_tasks())
    for n in range(3):
        tasks.spawn(job(n), name=f"job-{n}")
    await asyncio.sleep(0.05)
    assert (len(asyncio.all_tasks()), tasks.in_flight, ran) == (before, 3, [])

    clock.now += 1
    for _ in range(100):
        if tasks.in_flight == 0:
            break
        await asyncio.sleep(0.01)

    assert (ran, tasks.in_flight) == ([0, 1, 2], 0)


async def test_queued_work_counts_against_the_bound() -> None:
    """Work queued behind a burst counts against the limit: past it, spawning refuses (TooBusy)."""
    gate = GiveWay(quiet=0.01, max_wait=30, clock=Clock())
    gate.request_arrived()
    gate.request_arrived()
    tasks = BackgroundTasks(limit=2, give_way=gate)

    async def job() -> None:
        return None

    tasks.spawn(job(), name="one")
    tasks.spawn(job(), name="two")
    refused = job()
    with pytest.raises(TooBusy):
        tasks.spawn(refused, name="three")

    assert tasks.in_flight == 2
    assert await tasks.drain(0.01) == 2


# The garbage collector waits during a burst (bot/ops/gc_pause.py) ----------------------------------------


@pytest.fixture
def collector_on() -> Iterator[None]:
    """Each test here starts with the collector on, and leaves it as it found it, whatever it asserts."""
    was = gc.isenabled()
    gc.enable()
    yield
    if was:
        gc.enable()
    else:
        gc.disable()


def gate_with_pause(longest: float = 30) -> tuple[Clock, GcPause, GiveWay]:
    clock = Clock()
    pause = GcPause(settle=0.02, longest=longest, clock=clock)
    return clock, pause, GiveWay(quiet=0.01, max_wait=30, clock=clock, gc_pause=pause)


async def test_the_collector_is_off_during_a_burst_and_on_once_requests_pause(collector_on: None) -> None:
    clock, pause, gate = gate_with_pause()
    gate.request_arrived()
    assert gc.isenabled()  # one request alone is no burst

    gate.request_arrived()  # the second at the same moment: a burst
    assert not gc.isenabled() and pause.paused
    await asyncio.sleep(0.1)  # the gate's clock stands still: requests are "still arriving"
    assert not gc.isenabled()

    clock.now += 0.05  # no request for longer than `settle`
    await wait_until(gc.isenabled)
    assert not pause.paused


async def test_a_stop_turns_the_collector_back_on_at_once(collector_on: None) -> None:
    _, pause, gate = gate_with_pause()
    gate.request_arrived()
    gate.request_arrived()
    assert not gc.isenabled()

    gate.stop()  # a shutdown, in the middle of a burst

    assert gc.isenabled() and not pause.paused


async def test_a_burst_that_never_pauses_gets_the_collector_back_after_longest(collector_on: None) -> None:
    clock, pause, gate = gate_with_pause(longest=0.5)
    gate.request_arrived()
    gate.request_arrived()
    assert not gc.isenabled()

    for _ in range(60):  # a request every 10 ms of the gate's clock, for 0.6 s: longer than `longest`
        clock.now += 0.01
        gate.request_arrived()
        await asyncio.sleep(0.002)
    await wait_until(gc.isenabled)
    clock.now += 0.005
    gate.request_arrived()  # the same load goes on: the collector stays on
    assert gc.isenabled() and not pause.paused

    clock.now += 1  # requests paused; the next burst pauses the collector again
    gate.request_arrived()
    gate.request_arrived()
    assert not gc.isenabled()


async def test_a_collector_someone_else_turned_off_is_left_alone(collector_on: None) -> None:
    clock, pause, gate = gate_with_pause()
    gc.disable()
    gate.request_arrived()
    gate.request_arrived()
    assert not pause.paused
    clock.now += 1
    await asyncio.sleep(0.05)
    assert not gc.isenabled()  # not ours to turn on


async def wait_until(condition: Callable[[], bool]) -> None:
    async with asyncio.timeout(5):
        while not condition():  # noqa: ASYNC110 - the collector has no event to wait on
            await asyncio.sleep(0.005)
