"""A run's state in Redis beyond the preview's claim: leases, outcomes, orphans, previews being asked for.

Keys (beside bot/store.py's, same prefix):
    {p}:runs:leases           zset   running preview id -> lease deadline (renewed by its process)
    {p}:runs:asking           zset   asking id -> lease deadline: a preview being asked of Zapier
    {p}:runs:asking:{id}      hash   who asked for what, where (to tell them if the asking process dies)

Every change of state is one Lua script, its audit entry included, so that a crash between two steps
cannot leave a run half-moved and any replica can finish what another started.
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from bot.approvals.store import AuditWrite, TeamStore
from bot.runs.limits import TAKE_FUNCTION
from bot.runs.records import Preview, PreviewState
from bot.store import preview_record_seconds

_AUDIT = """
local function audit(k1, k2, a)
  local id = redis.call('XADD', k1, 'MAXLEN', '~', ARGV[a], '*', unpack(cjson.decode(ARGV[a + 3])))
  redis.call('LPUSH', k2, id)
  redis.call('LTRIM', k2, 0, tonumber(ARGV[a + 1]) - 1)
  redis.call('EXPIRE', k2, ARGV[a + 2])
end
"""

# Record a run's outcome, if it is still running (or was given up as unknown: a late answer is the truth).
# KEYS: preview, leases, execution, executions, audit stream, audit index.
# ARGV: id, state, outcome_detail, run_log_id, execution fields (JSON list), now, then the audit write.
# Returns the state the run was in before.
_FINISH = (
    _AUDIT
    + """
local s = redis.call('HGET', KEYS[1], 'state')
if not s then return '' end
if s ~= 'running' and s ~= 'unknown' then return s end
redis.call('HSET', KEYS[1], 'state', ARGV[2], 'outcome_detail', ARGV[3], 'run_log_id', ARGV[4])
redis.call('ZREM', KEYS[2], ARGV[1])
if ARGV[5] ~= '' then
  redis.call('HSET', KEYS[3], unpack(cjson.decode(ARGV[5])))
  redis.call('ZADD', KEYS[4], 'NX', ARGV[6], ARGV[4])
end
audit(KEYS[5], KEYS[6], 7)
return s
"""
)

# Give up a run whose lease ran out (its process died or hung): it becomes `unknown`, once.
# KEYS: preview, leases, audit stream, audit index. ARGV: id, now, detail, then the audit write.
_ORPHAN = (
    _AUDIT
    + """
local due = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if redis.call('HGET', KEYS[1], 'state') ~= 'running' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'unknown', 'outcome_detail', ARGV[3])
audit(KEYS[3], KEYS[4], 4)
return 1
"""
)

# Take an abandoned "asking Zapier for a preview" marker: returns its fields, once, to one replica.
_TAKE_ASKING = """
local due = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not due or tonumber(due) > tonumber(ARGV[2]) then return {} end
redis.call('ZREM', KEYS[1], ARGV[1])
local fields = redis.call('HGETALL', KEYS[2])
redis.call('DEL', KEYS[2])
return fields
"""

# Take the request's allowance (bot/runs/limits.py) and, when there is one, mark a preview being asked for
# and append its audit entry, in one step. Returns 0, or the seconds until the allowance is free (nothing
# marked).
# KEYS: the asking record, the asking zset, audit stream, audit index, then the limit's buckets.
# ARGV: id, lease deadline, record lifetime, the record's fields (JSON list), the audit write (4), then the
# buckets' now, capacities and rates.
_START_ASKING = (
    _AUDIT
    + TAKE_FUNCTION
    + """
local wait = take(5, #KEYS - 4, 9)
if wait > 0 then return tostring(wait) end
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[4])))
redis.call('EXPIRE', KEYS[1], ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[2], ARGV[1])
audit(KEYS[3], KEYS[4], 5)
return '0'
"""
)

# Clear the marker of an asking that ended without a preview.
# KEYS: the asking zset, the asking record. ARGV: id.
_DONE_ASKING = """
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
return 1
"""

# Save the preview Zapier answered, clear the asking marker and append the preview's audit entry, in one
# step: one round trip where a preview took two, and no moment with the preview saved and still "asking".
# KEYS: preview, its index (expiring or leases), asking zset, asking record, audit stream, audit index.
# ARGV: the preview's fields (JSON list), record lifetime, index score, preview id, asking id, audit write.
_PREVIEWED = (
    _AUDIT
    + """
redis.call('HSET', KEYS[1], unpack(cjson.decode(ARGV[1])))
redis.call('EXPIRE', KEYS[1], ARGV[2])
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
redis.call('ZREM', KEYS[3], ARGV[5])
redis.call('DEL', KEYS[4])
audit(KEYS[5], KEYS[6], 6)
return 1
"""
)

ASKING_RECORD_SECONDS = 24 * 3600


@dataclass(frozen=True)
class Asking:
    """A preview being asked of Zapier: enough to tell the person if the process asking it dies."""

    id: str
    team: str
    channel: str
    user: str
    what: str  # "SlackAPI channel_message", as the person asked for it
    held: bool = False  # work held back during a burst, not yet started (bot/runs/held.py)

    def fields(self) -> dict[str, str]:
        fields = {"team": self.team, "channel": self.channel, "user": self.user, "what": self.what}
        return fields | {"held": "1"} if self.held else fields


class RunStore:
    def __init__(self, store: TeamStore) -> None:
        self.store = store
        redis = store.redis
        self._redis = redis
        self._finish = redis.register_script(_FINISH)
        self._orphan = redis.register_script(_ORPHAN)
        self._take_asking = redis.register_script(_TAKE_ASKING)
        self._start_asking = redis.register_script(_START_ASKING)
        self._done_asking = redis.register_script(_DONE_ASKING)
        self._previewed = redis.register_script(_PREVIEWED)

    @property
    def lease_seconds(self) -> float:
        return self.store.lease_seconds

    def asking_key(self) -> str:
        return f"{self.store.prefix}:runs:asking"

    def asking_record(self, asking_id: str) -> str:
        return f"{self.store.prefix}:runs:asking:{asking_id}"

    async def finish(
        self,
        preview: Preview,
        state: PreviewState,
        *,
        detail: str,
        run_log_id: str,
        execution: dict[str, str] | None,
        audit: AuditWrite,
    ) -> str:
        """Record the outcome of a running run; returns the state it had ('' when unknown to Redis)."""
        s = self.store
        keys = [
            s.preview_key(preview.id),
            s.leases_key(),
            s.execution_key(run_log_id),
            s.executions_key(),
            *audit.keys,
        ]
        flat = [item for pair in (execution or {}).items() for item in pair]
        args = [
            preview.id,
            state.value,
            detail,
            run_log_id,
            json.dumps(flat) if execution else "",
            repr(time.time()),
            *audit.args,
        ]
        return await s.call(cast(Awaitable[str], self._finish(keys=keys, args=args)))

    async def give_up(self, preview_id: str, *, detail: str, audit: AuditWrite, now: float) -> bool:
        """End a run whose lease has run out as `unknown`; True for the one replica that did it."""
        s = self.store
        keys = [s.preview_key(preview_id), s.leases_key(), *audit.keys]
        args = [preview_id, repr(now), detail, *audit.args]
        return bool(await s.call(cast(Awaitable[int], self._orphan(keys=keys, args=args))))

    async def lapsed(self, now: float, *, limit: int = 50) -> list[str]:
        """Running runs whose lease ran out before `now`."""
        key = self.store.leases_key()
        return await self.store.call(
            cast(Awaitable[list[str]], self._redis.zrangebyscore(key, "-inf", now, start=0, num=limit))
        )

    async def renew(self, run_ids: list[str], asking_ids: list[str], until: float) -> None:
        """Extend the leases this process holds (only those still there: XX never revives a lease)."""
        async with self._redis.pipeline(transaction=False) as pipe:
            if run_ids:
                pipe.zadd(self.store.leases_key(), dict.fromkeys(run_ids, until), xx=True)
            if asking_ids:
                pipe.zadd(self.asking_key(), dict.fromkeys(asking_ids, until), xx=True)
            await self.store.call(pipe.execute())

    async def start_asking(
        self,
        asking: Asking,
        until: float,
        *,
        audit: AuditWrite,
        limits: tuple[list[str], list[str]] | None = None,
    ) -> float:
        """Take the allowance (`limits`: `Limits.buckets`; None: no limit) and mark a preview being asked
        for, with its audit entry: 0; or, over the limit, the seconds until the allowance is free (nothing
        marked)."""
        buckets, taking = limits or ([], ["0"])
        keys = [self.asking_record(asking.id), self.asking_key(), *audit.keys, *buckets]
        fields = json.dumps([x for pair in asking.fields().items() for x in pair])
        args = [asking.id, repr(until), str(ASKING_RECORD_SECONDS), fields, *audit.args, *taking]
        return float(await self.store.call(cast(Awaitable[str], self._start_asking(keys=keys, args=args))))

    async def done_asking(self, asking_id: str) -> None:
        """Clear the marker of an asking that ended without a preview (one with a preview: `previewed`)."""
        keys = [self.asking_key(), self.asking_record(asking_id)]
        await self.store.call(cast(Awaitable[int], self._done_asking(keys=keys, args=[asking_id])))

    async def previewed(self, asking_id: str, preview: Preview, *, audit: AuditWrite) -> None:
        """Save a new preview, clear its asking marker and append its audit entry, in one step."""
        s = self.store
        index, score = s.preview_index(preview)
        asking = [self.asking_key(), self.asking_record(asking_id)]
        keys = [s.preview_key(preview.id), index, *asking, *audit.keys]
        fields = json.dumps([x for pair in preview.to_fields().items() for x in pair])
        args = [fields, str(preview_record_seconds(preview)), repr(score), preview.id, asking_id, *audit.args]
        await s.call(cast(Awaitable[int], self._previewed(keys=keys, args=args)))

    async def abandoned_asking(self, now: float, *, limit: int = 50) -> list[Asking]:
        """Asking markers whose process stopped renewing them, each taken by exactly one replica."""
        key = self.asking_key()
        due = await self.store.call(
            cast(Awaitable[list[str]], self._redis.zrangebyscore(key, "-inf", now, start=0, num=limit))
        )
        taken = []
        for asking_id in due:
            keys = [key, self.asking_record(asking_id)]
            flat = await self.store.call(
                cast(Awaitable[list[str]], self._take_asking(keys=keys, args=[asking_id, repr(now)]))
            )
            if flat:
                f = dict(zip(flat[::2], flat[1::2], strict=True))
                taken.append(Asking(asking_id, f.get("team", ""), f.get("channel", ""), f.get("user", ""),
                                    f.get("what", ""), held=f.get("held") == "1"))  # fmt: skip
        return taken
