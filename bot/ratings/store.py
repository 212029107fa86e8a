"""Redis for ratings: votes, feedback and the delivery queue. Every change is one atomic Lua script.

Keys (beside `bot.store`'s, under the same prefix `{p}`, `zapbot` by default; none of them expires):
    {p}:execution:{id}            hash  the execution (bot.store) plus the rating fields below
    {p}:execution:{id}:votes      hash  Slack user ID -> their vote, `1` or `-1` (no field: no vote)
    {p}:execution:{id}:reactions  hash  Slack user ID -> JSON {reaction: [weight, event order]}: the
                                        counting reactions they have (weight 0: removed), newest event wins
    {p}:execution:{id}:feedback   list  JSON {"user", "text", "at"}, oldest first (the last 50 kept)
    {p}:ratings:pending           zset  execution_log_id -> when its delivery to Zapier is next due

The vote script also writes keys that other modules own and document, in the same atomic step:
`{p}:event:{event_id}` (bot.store: the Slack event handled, for an hour) and the `rated` audit entry in
`{p}:audit` and `{p}:audit:channel:{channel}` (bot.approvals.store).

Rating fields of the execution hash:
    rating (-1, 0, 1), up and down (how many people vote each way), rated_at (last vote change),
    feedback (every text as `USER: text`, newest kept within FEEDBACK_SEND_BYTES), feedback_count,
    feedback_at, delivery (`pending`, `delivered`, `failed` or `skipped`), delivery_version (bumped on each
    change of rating or feedback), delivered_version, delivered_rating, delivered_at, delivery_attempts
    (failures since the last success), delivery_error (the last failure, or why it was skipped).
The delivery reads the execution's `team` and `zapier_account` (bot.runs.service: whose account ran it).
"""

from __future__ import annotations

import json
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.approvals.store import AuditWrite
from bot.errors import StoreError
from bot.store import EVENT_DEDUP_SECONDS, Store

T = TypeVar("T")

SHARED_ACCOUNT = "shared"  # `zapier_account` of an execution the shared key (ZAPIER_API_KEY) ran
MAX_FEEDBACK_ENTRIES = 50
FEEDBACK_SEND_BYTES = 3000  # what goes to Zapier in a query string: the newest texts that fit

# One reaction added or removed, in one step: the Slack event's de-duplication, the vote and the audit entry.
# A re-delivered event (its key exists) returns at once and changes nothing. The vote: per person and emoji
# only the newest event counts (Slack may deliver an add and its remove out of order, or twice); recomputes
# the person's vote and the rating; when the rating changes, bumps the delivery version and queues a
# delivery (NX: a queued one keeps its time, which is what coalesces a burst, and a backoff is not cut
# short). When the person's vote changed, appends the audit entry as `_AUDIT_ADD` does (bot.approvals.store),
# its `detail` ending with the new rating. The event is marked handled last: Redis does not undo a script
# that fails midway, and an event whose handling failed must count when Slack re-delivers it.
# KEYS: execution, reactions, votes, pending, audit stream, audit channel index, [event].
# ARGV: user, reaction, weight, order, now, due, id, event TTL, then the AuditWrite's arguments.
_REACT = """
if KEYS[7] and redis.call('EXISTS', KEYS[7]) == 1 then return {'repeated', 0, 0, 0} end
local function vote()
  if redis.call('EXISTS', KEYS[1]) == 0 then return {'unknown', 0, 0, 0} end
  local function sign(n) if n > 0 then return 1 elseif n < 0 then return -1 end return 0 end
  local raw = redis.call('HGET', KEYS[2], ARGV[1])
  local mine = {}
  if raw then mine = cjson.decode(raw) end
  local f = redis.call('HMGET', KEYS[1], 'rating', 'up', 'down')
  local rating, up, down = tonumber(f[1] or '0'), tonumber(f[2] or '0'), tonumber(f[3] or '0')
  local seen = mine[ARGV[2]]
  if seen and seen[2] >= ARGV[4] then return {'stale', rating, up, down} end
  mine[ARGV[2]] = {tonumber(ARGV[3]), ARGV[4]}
  redis.call('HSET', KEYS[2], ARGV[1], cjson.encode(mine))
  local sum = 0
  for _, entry in pairs(mine) do sum = sum + entry[1] end
  local vote = sign(sum)
  local before = tonumber(redis.call('HGET', KEYS[3], ARGV[1]) or '0')
  if vote == before then return {'same', rating, up, down} end
  if vote == 0 then redis.call('HDEL', KEYS[3], ARGV[1]) else redis.call('HSET', KEYS[3], ARGV[1], vote) end
  up, down = 0, 0
  for _, v in ipairs(redis.call('HVALS', KEYS[3])) do
    if v == '1' then up = up + 1 elseif v == '-1' then down = down + 1 end
  end
  local new = sign(up - down)
  redis.call('HSET', KEYS[1], 'rating', new, 'up', up, 'down', down, 'rated_at', ARGV[5])
  if new ~= rating then
    redis.call('HINCRBY', KEYS[1], 'delivery_version', 1)
    redis.call('HSET', KEYS[1], 'delivery', 'pending')
    redis.call('ZADD', KEYS[4], 'NX', ARGV[6], ARGV[7])
  end
  return {'changed', new, up, down}
end
local tally = vote()
if tally[1] == 'unknown' then return tally end
if tally[1] == 'changed' then
  local entry = cjson.decode(ARGV[12])
  for i = 1, #entry - 1, 2 do
    if entry[i] == 'detail' then entry[i + 1] = entry[i + 1] .. string.format('%+d', tally[2]) end
  end
  local id = redis.call('XADD', KEYS[5], 'MAXLEN', '~', ARGV[9], '*', unpack(entry))
  redis.call('LPUSH', KEYS[6], id)
  redis.call('LTRIM', KEYS[6], 0, tonumber(ARGV[10]) - 1)
  redis.call('EXPIRE', KEYS[6], ARGV[11])
end
if KEYS[7] then redis.call('SET', KEYS[7], '1', 'EX', ARGV[8]) end
return tally
"""

# One person's feedback text: appended, the combined text recomposed (newest first within the byte cap,
# then put back in order), and a delivery queued as for a rating change.
# KEYS: execution, feedback, pending. ARGV: entry JSON, max entries, cap bytes, now, due, id.
_FEEDBACK = """
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
redis.call('RPUSH', KEYS[2], ARGV[1])
redis.call('LTRIM', KEYS[2], -tonumber(ARGV[2]), -1)
local entries = redis.call('LRANGE', KEYS[2], 0, -1)
local kept, size = {}, 0
for i = #entries, 1, -1 do
  local e = cjson.decode(entries[i])
  local line = e['user'] .. ': ' .. e['text']
  if size + #line + 1 > tonumber(ARGV[3]) then break end
  table.insert(kept, 1, line)
  size = size + #line + 1
end
redis.call('HSET', KEYS[1], 'feedback', table.concat(kept, '\\n'), 'feedback_count', #entries,
  'feedback_at', ARGV[4], 'delivery', 'pending')
redis.call('HINCRBY', KEYS[1], 'delivery_version', 1)
redis.call('ZADD', KEYS[3], 'NX', ARGV[5], ARGV[6])
return #entries
"""

# Take up to ARGV[2] deliveries due by ARGV[1], leasing each until ARGV[3] so that no other replica sends
# it meanwhile; a replica that dies mid-send leaves the lease to run out, and then any replica retries.
_CLAIM = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, id in ipairs(due) do redis.call('ZADD', KEYS[1], 'XX', ARGV[3], id) end
return due
"""

# Record how a delivery went. If the rating or feedback changed while it was in flight (the version moved),
# the delivery stays queued (at ARGV[7]) so that the newest state is sent too.
# KEYS: execution, pending. ARGV: id, outcome, sent version, sent rating, now, retry at, again at, error.
_COMPLETE = """
if redis.call('EXISTS', KEYS[1]) == 0 then redis.call('ZREM', KEYS[2], ARGV[1]) return 'gone' end
local moved = (redis.call('HGET', KEYS[1], 'delivery_version') or '0') ~= ARGV[3]
if ARGV[2] == 'retry' then
  redis.call('HINCRBY', KEYS[1], 'delivery_attempts', 1)
  redis.call('HSET', KEYS[1], 'delivery', 'pending', 'delivery_error', ARGV[8])
  redis.call('ZADD', KEYS[2], ARGV[6], ARGV[1])
  return 'retry'
end
if ARGV[2] == 'delivered' then
  redis.call('HSET', KEYS[1], 'delivered_version', ARGV[3], 'delivered_rating', ARGV[4],
    'delivered_at', ARGV[5], 'delivery_attempts', 0, 'delivery_error', '')
else
  redis.call('HINCRBY', KEYS[1], 'delivery_attempts', 1)
  redis.call('HSET', KEYS[1], 'delivery_error', ARGV[8])
end
if moved then
  redis.call('HSET', KEYS[1], 'delivery', 'pending')
  redis.call('ZADD', KEYS[2], ARGV[7], ARGV[1])
  return 'again'
end
redis.call('HSET', KEYS[1], 'delivery', ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[1])
return ARGV[2]
"""

SUMMARY_FIELDS = (
    "app",
    "action",
    "action_used",
    "kind",
    "status",
    "rating",
    "up",
    "down",
    "channel",
    "message_ts",
    "thread_ts",
    "requested_by",
    "created_at",
)


class Outcome(StrEnum):
    """How a delivery attempt ended, as recorded in Redis."""

    DELIVERED = "delivered"
    RETRY = "retry"  # timeout, connection error, 429 or 5xx: queued again after a backoff
    FAILED = "failed"  # Zapier refused it (a 4xx other than 429): not retried until the next change
    # The account that ran it cannot be used (disconnected, no shared key): kept, not retried until it changes
    SKIPPED = "skipped"


@dataclass(frozen=True)
class Tally:
    """An execution's rating after a reaction: `changed` says whether this reaction moved a vote;
    `repeated`, that its Slack event had been handled before (nothing changed, the figures are 0)."""

    known: bool
    changed: bool
    rating: int
    up: int
    down: int
    execution_log_id: str = ""
    repeated: bool = False


@dataclass(frozen=True)
class DeliveryState:
    """What to send for one execution, read at send time: the newest rating and feedback."""

    execution_log_id: str
    rating: int
    feedback: str
    version: str
    attempts: int
    team: str = ""
    account: str = "shared"  # whose Zapier account ran the execution: a Slack user ID, or SHARED_ACCOUNT


class RatingStore:
    def __init__(self, redis: Redis, store: Store) -> None:
        self._redis = redis
        self._store = store
        self._react = redis.register_script(_REACT)
        self._feedback = redis.register_script(_FEEDBACK)
        self._claim = redis.register_script(_CLAIM)
        self._complete = redis.register_script(_COMPLETE)

    def __repr__(self) -> str:
        return f"RatingStore(prefix={self._store.prefix!r})"

    # keys ------------------------------------------------------------------------------------------
    def _execution_key(self, execution_log_id: str) -> str:
        return self._store.execution_key(execution_log_id)

    def votes_key(self, execution_log_id: str) -> str:
        return f"{self._execution_key(execution_log_id)}:votes"

    def _reactions_key(self, execution_log_id: str) -> str:
        return f"{self._execution_key(execution_log_id)}:reactions"

    def _feedback_key(self, execution_log_id: str) -> str:
        return f"{self._execution_key(execution_log_id)}:feedback"

    def pending_key(self) -> str:
        return f"{self._store.prefix}:ratings:pending"

    # votes -----------------------------------------------------------------------------------------
    async def react(
        self,
        execution_log_id: str,
        *,
        user: str,
        reaction: str,
        weight: int,
        order: str,
        now: float,
        due: float,
        audit: AuditWrite,
        event_id: str | None = None,
    ) -> Tally:
        """Apply one reaction event (`weight` 0 for a removal) once per `event_id`; `order` sorts events
        per person and emoji. When the person's vote changes, `audit` is appended, the new rating (`+1`,
        `+0`, `-1`) added at the end of its `detail`. One Redis call (see `_REACT`), batched with the other
        requests' (bot/redis_batch.py: safe to repeat, as the event key makes it)."""
        keys = [
            self._execution_key(execution_log_id),
            self._reactions_key(execution_log_id),
            self.votes_key(execution_log_id),
            self.pending_key(),
            *audit.keys,
        ]
        if event_id:
            keys.append(self._store.event_key(event_id))
        args = [
            user,
            reaction,
            str(weight),
            order,
            f"{now:.3f}",
            repr(due),
            execution_log_id,
            str(EVENT_DEDUP_SECONDS),
            *audit.args,
        ]
        reply = self._store.batched.script(self._react, keys, args)
        outcome, rating, up, down = await self.call(cast(Awaitable[list[Any]], reply))
        return Tally(
            outcome != "unknown",
            outcome == "changed",
            int(rating),
            int(up),
            int(down),
            repeated=outcome == "repeated",
        )

    # feedback --------------------------------------------------------------------------------------
    async def add_feedback(
        self, execution_log_id: str, *, user: str, text: str, now: float, due: float
    ) -> bool:
        """Keep one person's text and queue the delivery. False when the execution is unknown."""
        entry = json.dumps({"user": user, "text": text, "at": round(now, 3)}, ensure_ascii=False)
        keys = [
            self._execution_key(execution_log_id),
            self._feedback_key(execution_log_id),
            self.pending_key(),
        ]
        args = [entry, str(MAX_FEEDBACK_ENTRIES), str(FEEDBACK_SEND_BYTES), f"{now:.3f}", repr(due)]
        count = await self.call(
            cast(Awaitable[int], self._feedback(keys=keys, args=[*args, execution_log_id]))
        )
        return bool(count)

    async def feedback(self, execution_log_id: str) -> list[dict[str, Any]]:
        """Every kept feedback entry, oldest first: {"user", "text", "at"}."""
        key = self._feedback_key(execution_log_id)
        raw = await self.call(cast(Awaitable[list[str]], self._redis.lrange(key, 0, -1)))
        return [json.loads(item) for item in raw]

    # delivery --------------------------------------------------------------------------------------
    async def claim_due(self, *, now: float, limit: int, lease_until: float) -> list[str]:
        keys = [self.pending_key()]
        args = [repr(now), str(limit), repr(lease_until)]
        return await self.call(cast(Awaitable[list[str]], self._claim(keys=keys, args=args)))

    async def delivery_state(self, execution_log_id: str) -> DeliveryState | None:
        key = self._execution_key(execution_log_id)
        fields = (
            "execution_log_id",
            "rating",
            "feedback",
            "delivery_version",
            "delivery_attempts",
            "team",
            "zapier_account",
        )
        values = await self.call(cast(Awaitable[list[str | None]], self._redis.hmget(key, fields)))
        if values[0] is None:
            await self.call(self._redis.zrem(self.pending_key(), execution_log_id))
            return None
        _, rating, feedback, version, attempts, team, account = values
        return DeliveryState(
            execution_log_id,
            int(rating or 0),
            feedback or "",
            version or "0",
            int(attempts or 0),
            team or "",
            # Executions recorded before accounts were: the shared key ran them all.
            account or SHARED_ACCOUNT,
        )

    async def complete(
        self,
        state: DeliveryState,
        outcome: Outcome,
        *,
        now: float,
        retry_at: float,
        again_at: float,
        error: str = "",
    ) -> str:
        """Record an attempt. Returns what happens next: delivered, failed, retry, again (newer state)."""
        keys = [self._execution_key(state.execution_log_id), self.pending_key()]
        args = [
            state.execution_log_id,
            outcome.value,
            state.version,
            str(state.rating),
            f"{now:.3f}",
            repr(retry_at),
            repr(again_at),
            error[:500],
        ]
        return await self.call(cast(Awaitable[str], self._complete(keys=keys, args=args)))

    # reading ---------------------------------------------------------------------------------------
    async def recent(self, limit: int) -> list[dict[str, str]]:
        """The newest `limit` executions (SUMMARY_FIELDS of each), newest first."""
        ids = await self._store.recent_executions(limit)
        rows: list[dict[str, str]] = []
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            async with self._redis.pipeline(transaction=False) as pipe:
                for execution_log_id in chunk:
                    pipe.hmget(self._execution_key(execution_log_id), SUMMARY_FIELDS)
                found = await self.call(cast(Awaitable[list[list[str | None]]], pipe.execute()))
            for execution_log_id, values in zip(chunk, found, strict=True):
                if values[0] is not None:
                    rows.append(_row(execution_log_id, SUMMARY_FIELDS, values))
        return rows

    async def votes_of(self, user: str, execution_log_ids: list[str]) -> dict[str, int]:
        """The vote (`1` or `-1`) `user` has on each of these executions, for those they voted on."""
        if not execution_log_ids:
            return {}
        async with self._redis.pipeline(transaction=False) as pipe:
            for execution_log_id in execution_log_ids:
                pipe.hget(self.votes_key(execution_log_id), user)
            found = await self.call(cast(Awaitable[list[str | None]], pipe.execute()))
        return {
            execution_log_id: int(vote)
            for execution_log_id, vote in zip(execution_log_ids, found, strict=True)
            if vote not in (None, "", "0")
        }

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc


def _row(execution_log_id: str, fields: Sequence[str], values: Sequence[str | None]) -> dict[str, str]:
    row = {name: value or "" for name, value in zip(fields, values, strict=True)}
    row["execution_log_id"] = execution_log_id
    return row


def event_order(event_ts: str) -> str:
    """A Slack `event_ts` ("1700000000.000123") as a string that sorts like the time it names."""
    seconds, _, fraction = event_ts.partition(".")
    if not seconds.isdigit() or not (fraction.isdigit() or fraction == ""):
        seconds, fraction = f"{time.time():.6f}".split(".")
    return f"{int(seconds):012d}.{fraction[:9]:0<9}"
