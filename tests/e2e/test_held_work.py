"""Work held back during a burst is marked in a real Redis until it starts (bot/runs/held.py), so that
another replica can tell its person if this process dies first.

The gate's clock is moved by hand (as in tests/unit/test_give_way.py), so the burst lasts exactly as long as
the test says; tests/e2e/test_run_faults.py kills a real process in a real burst.
"""

from __future__ import annotations

import asyncio
import time

import redis.asyncio

from bot.approvals.store import TeamStore
from bot.ops.give_way import GiveWay
from bot.ops.tasks import BackgroundTasks
from bot.runs.held import HeldWork
from bot.runs.service import Where
from bot.runs.store import RunStore
from tests.support.redis_reads import hash_fields, zset_scores

WHERE = Where(team="T1", channel="C1", user="U1")


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_held_work_is_marked_until_it_starts_and_a_dead_process_s_marks_are_taken_once(
    redis_client: redis.asyncio.Redis,
) -> None:
    """Queued in a burst: marked (who, where, what they typed, `held`), renewed by this process; started:
    the mark is gone. Marks left by a process that stopped renewing them are taken by one replica, once,
    with what to tell the person."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    tasks = BackgroundTasks(give_way=gate)
    runs = RunStore(TeamStore(redis_client, lease_seconds=30))
    renewing: set[str] = set()
    work = HeldWork(runs, renewing)
    started = asyncio.Event()

    async def job() -> None:
        started.set()

    gate.request_arrived()
    gate.request_arrived()  # a burst
    tasks.spawn(job(), name="held", hold=work.hold(WHERE, "/zap SlackAPI channel_message"))
    tasks.spawn(job(), name="held", hold=work.hold(WHERE, "/zap " + "x" * 400))
    await work.flushed()

    marked = await zset_scores(redis_client, "zapbot:runs:asking")
    assert len(marked) == 2 and set(renewing) == {asking_id for asking_id, _ in marked}
    assert all(time.time() + 25 < deadline <= time.time() + 30 for _, deadline in marked)
    records = [await hash_fields(redis_client, f"zapbot:runs:asking:{asking_id}") for asking_id, _ in marked]
    whats = sorted(record.pop("what") for record in records)
    assert records == [{"team": "T1", "channel": "C1", "user": "U1", "held": "1"}] * 2
    assert whats[0] == "/zap SlackAPI channel_message"
    assert len(whats[1]) == 150 and whats[1].endswith("…")  # what they typed, cut for the message
    assert not started.is_set()

    # This process "dies": it stops renewing. Another replica takes each mark once, when it has lapsed.
    other = RunStore(TeamStore(redis_client))
    assert await other.abandoned_asking(time.time()) == []  # still within its lease
    later = time.time() + 31
    taken, again = await asyncio.gather(other.abandoned_asking(later), runs.abandoned_asking(later))
    assert sorted(a.id for a in [*taken, *again]) == sorted(renewing)  # each to exactly one replica
    assert all(a.held and a.user == "U1" and a.channel == "C1" for a in [*taken, *again])
    assert await redis_client.zcard("zapbot:runs:asking") == 0
    assert await redis_client.keys("zapbot:runs:asking:*") == []
    assert await tasks.drain(0) == 2  # the "dead" process's two pieces, never started


async def test_work_that_starts_clears_its_mark_and_work_never_held_is_never_marked(
    redis_client: redis.asyncio.Redis,
) -> None:
    """The burst pauses, the held work starts: its mark is cleared (after it was written, never before),
    and gone from Redis by the work's first step, so that a process killed just after the work began never
    leaves a mark saying it did not start. Work that starts at once (no burst) costs Redis nothing."""
    clock = Clock()
    gate = GiveWay(quiet=0.01, max_wait=30, clock=clock)
    tasks = BackgroundTasks(give_way=gate)
    runs = RunStore(TeamStore(redis_client))
    renewing: set[str] = set()
    work = HeldWork(runs, renewing)
    done = asyncio.Event()
    marks_at_start: list[int] = []

    async def job() -> None:
        marks_at_start.append(await redis_client.zcard("zapbot:runs:asking"))
        done.set()

    gate.request_arrived()
    gate.request_arrived()
    tasks.spawn(job(), name="held", hold=work.hold(WHERE, "/zap apps gmail"))
    await work.flushed()
    assert await redis_client.zcard("zapbot:runs:asking") == 1

    clock.now += 1  # requests pause: the work starts
    await asyncio.wait_for(done.wait(), 5)
    assert marks_at_start == [0]  # the mark was gone before the work's first step
    await work.flushed()
    assert renewing == set()
    assert await redis_client.zcard("zapbot:runs:asking") == 0
    assert await redis_client.keys("zapbot:runs:asking:*") == []

    done.clear()
    monitor = await redis_client.info("commandstats")
    tasks.spawn(job(), name="at once", hold=work.hold(WHERE, "/zap apps gmail"))
    await asyncio.wait_for(done.wait(), 5)
    await work.flushed()
    assert renewing == set()
    after = await redis_client.info("commandstats")
    evals = "cmdstat_evalsha"
    assert after.get(evals, {}).get("calls") == monitor.get(evals, {}).get("calls")


async def test_a_mark_and_its_clear_in_the_same_turn_never_reach_redis(
    redis_client: redis.asyncio.Redis,
) -> None:
    """Work held and started within one turn of the loop (a burst that ended at once): nothing to write."""
    runs = RunStore(TeamStore(redis_client))
    renewing: set[str] = set()
    work = HeldWork(runs, renewing)
    hold = work.hold(WHERE, "/zap apps gmail")
    hold.held()
    await hold.started()
    await work.flushed()
    assert renewing == set()
    assert await redis_client.zcard("zapbot:runs:asking") == 0


async def test_held_work_that_starts_does_not_wait_for_marks_made_after_its_own(
    redis_client: redis.asyncio.Redis,
) -> None:
    """A new burst's marks (written after `WRITE_EVERY_SECONDS`) do not hold back work that starts now: its
    clear waits only for a write that may carry its own mark."""
    clock = Clock()
    tasks = BackgroundTasks(give_way=GiveWay(quiet=0.01, max_wait=30, clock=clock))
    assert tasks.give_way is not None
    work = HeldWork(RunStore(TeamStore(redis_client)), set())
    marks_at_start: list[int] = []

    async def job() -> None:
        marks_at_start.append(await redis_client.zcard("zapbot:runs:asking"))

    tasks.give_way.request_arrived()
    tasks.give_way.request_arrived()
    tasks.spawn(job(), name="held", hold=work.hold(WHERE, "/zap apps gmail"))
    await work.flushed()
    work.hold(WHERE, "/zap apps slack").held()  # another mark, to be written WRITE_EVERY_SECONDS from now

    clock.now += 1  # requests pause: the first work starts
    async with asyncio.timeout(5):
        while not marks_at_start:  # noqa: ASYNC110 - the job's own record is what we wait for
            await asyncio.sleep(0.001)
    assert marks_at_start == [0]  # its own mark cleared, the newer one not written yet: it did not wait
    await work.flushed()
    assert await redis_client.zcard("zapbot:runs:asking") == 1
