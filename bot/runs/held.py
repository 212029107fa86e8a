"""Work a person asked for that waits its turn during a burst, marked in Redis until it starts.

While Slack's requests arrive in a burst, the bot acks each at once and holds the work back until the acks
are done (bot/ops/give_way.py): up to 0.6 s, then its turn in the queue. Held work exists only in this
process's memory, so a process killed then (`kill -9`, a node lost) would leave people with "Asking Zapier
for a preview…" and nothing after. Each piece of held work is therefore marked like a preview being asked
for (bot/runs/store.py: the asking zset and record), renewed by this process's keeper while it waits, and
cleared when the work starts; the work's own steps (the preview's asking marker, a run's lease) take over
from there. If the process dies first, another replica's sweep (bot/runs/sweeps.py) tells the person that
nothing was run and to send it again.

The marks are not awaited by the ack: the acks of a burst are the one thing that must stay fast. The marks
of each `WRITE_EVERY_SECONDS` go to Redis as one script call, one call at a time. When held work starts,
its mark is cleared first, after any write of marks in flight, and the work's own steps wait for it: a
process killed in between leaves either the held mark (the work had not started, and its person is told
so) or no mark and no step taken yet, but never a held mark beside work that asked Zapier or ran. Work that
starts at once (no burst) is never marked: it costs a normal request nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import Awaitable
from typing import cast

from bot.errors import BotError
from bot.runs.service import Where
from bot.runs.store import ASKING_RECORD_SECONDS, Asking, RunStore

log = logging.getLogger(__name__)

# Mark held work and clear work that started, in one step.
# KEYS: the asking zset, the records of the marks, then the records of the clears.
# ARGV: lease deadline, record lifetime, the number of marks, then per mark its id, team, channel, user and
# what (5 values), then the ids to clear.
_HOLD = """
local marks = tonumber(ARGV[3])
for i = 1, marks do
  local a = 4 + 5 * (i - 1)
  redis.call('HSET', KEYS[1 + i], 'team', ARGV[a + 1], 'channel', ARGV[a + 2], 'user', ARGV[a + 3],
             'what', ARGV[a + 4], 'held', '1')
  redis.call('EXPIRE', KEYS[1 + i], ARGV[2])
  redis.call('ZADD', KEYS[1], ARGV[1], ARGV[a])
end
for i = 4 + 5 * marks, #ARGV do
  redis.call('ZREM', KEYS[1], ARGV[i])
  redis.call('DEL', KEYS[i - 2 - 4 * marks])
end
return marks
"""

# How long marks and clears gather before they go to Redis as one call: a burst's acks arrive a few hundred
# microseconds apart, and a call per turn of the event loop took CPU from the acks (bench/README.md).
WRITE_EVERY_SECONDS = 0.05

WHAT_CHARACTERS = 150  # of what the person typed, in the message that tells them


class Held:
    """One piece of work a person asked for (bot/ops/tasks.py `Hold`): marked while it waits, cleared when
    it starts. Cheap to make: nothing happens unless the work is held."""

    __slots__ = ("_asking", "_what", "_where", "_work")

    def __init__(self, work: HeldWork, where: Where, what: str) -> None:
        self._work, self._where, self._what = work, where, what
        self._asking: Asking | None = None

    def held(self) -> None:
        where, what = self._where, self._what
        if len(what) > WHAT_CHARACTERS:
            what = what[: WHAT_CHARACTERS - 1] + "…"
        self._asking = Asking(secrets.token_hex(8), where.team, where.channel, where.user, what, held=True)
        self._work.mark(self._asking)

    async def started(self) -> None:
        if self._asking is not None:
            await self._work.cleared(self._asking.id)


class HeldWork:
    def __init__(self, runs: RunStore, asking: set[str]) -> None:
        self._runs = runs
        self._asking = asking  # the ids this process renews (bot/runs/keeper.py), shared with `Runs`
        self._marks: dict[str, Asking] = {}
        self._clears: list[str] = []  # clears that failed when their work started: tried again once
        self._writer: asyncio.Task[None] | None = None
        self._sending: asyncio.Future[None] | None = None  # the writer's call in flight
        self._script = runs.store.redis.register_script(_HOLD)

    def hold(self, where: Where, what: str) -> Held:
        """The hold for work `where.user` asked for as `what` (e.g. "/zap SlackAPI channel_message")."""
        return Held(self, where, what)

    def mark(self, asking: Asking) -> None:
        self._asking.add(asking.id)
        self._marks[asking.id] = asking
        self._wake()

    async def cleared(self, asking_id: str) -> None:
        """Until the mark of work that starts now is gone from Redis (at once when it was never written)."""
        self._asking.discard(asking_id)
        if self._marks.pop(asking_id, None) is not None:
            return  # still waiting to be written: now it never will be
        # Not waiting, so written or in the call in flight: the clear goes after that call (and only that
        # one: marks made since, e.g. in a new burst, need not be written before this work may start).
        if (sending := self._sending) is not None and not sending.done():
            with contextlib.suppress(BotError):  # the writer reports it
                await asyncio.shield(sending)
        try:
            await self._send([], [asking_id])
        except BotError as exc:
            # The work meets Redis's failure at its own first step; the clear is tried again with the next
            # marks, or the mark, no longer renewed, would lapse and be taken for work that never started.
            log.warning("could not clear the mark of a started piece of work: %s", exc)
            self._clears.append(asking_id)
            self._wake()

    async def flushed(self) -> None:
        """Until every mark asked for so far has been sent (tests, and a clean stop)."""
        while self._writer is not None and not self._writer.done():
            await asyncio.shield(self._writer)

    def _wake(self) -> None:
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="held-work")

    async def _write(self) -> None:
        await asyncio.sleep(WRITE_EVERY_SECONDS)  # the rest of the burst's acks first, then one call
        while self._marks or self._clears:
            marks, self._marks = self._marks, {}
            clears, self._clears = self._clears, []
            self._sending = asyncio.ensure_future(self._send(list(marks.values()), clears))
            try:
                await self._sending
            except BotError as exc:
                # The work will meet Redis's failure at its own first step, and tell the person then.
                held, started = len(marks), len(clears)
                log.warning("could not mark %d held and clear %d started pieces: %s", held, started, exc)

    async def _send(self, marks: list[Asking], clears: list[str]) -> None:
        runs = self._runs
        keys = [runs.asking_key(), *(runs.asking_record(a.id) for a in marks)]
        keys += [runs.asking_record(asking_id) for asking_id in clears]
        args = [repr(time.time() + runs.lease_seconds), str(ASKING_RECORD_SECONDS), str(len(marks))]
        for a in marks:
            args += [a.id, a.team, a.channel, a.user, a.what]
        args += clears
        await runs.store.call(cast(Awaitable[int], self._script(keys=keys, args=args)))
