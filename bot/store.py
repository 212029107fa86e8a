"""Redis: the only module that talks to it (with its feature stores, and bot/redis_batch.py, which sends
the hot path's commands in batches). Every key is built here, under one prefix.

Keys (prefix `zapbot` by default):
    {p}:preview:{id}                  hash   a preview and its state; kept a day past its expiry
                                             (`candidates`: the other actions a guessed preview offers)
    {p}:previews:expiring             zset   preview id -> expires_at, for the expiry sweeper
    {p}:runs:leases                   zset   running preview id -> lease deadline (bot/runs/keeper.py)
    {p}:execution:{execution_log_id}  hash   one execution (a preview's or a run's): what, where, who
    {p}:executions                    zset   execution_log_id -> first saved at: every execution, newest last
    {p}:message:{channel}:{ts}        string the execution_log_id a bot message shows (for reactions)
    {p}:event:{event_id}              string a Slack event already handled (expires after an hour)
"""

from __future__ import annotations

import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.errors import StoreError
from bot.redis_batch import Batched
from bot.runs.records import Preview, PreviewState

T = TypeVar("T")

PREVIEW_GRACE_SECONDS = 24 * 3600  # a preview's record outlives its expiry so a late click hears "expired"
EVENT_DEDUP_SECONDS = 3600
MAX_CONNECTIONS = 100  # per process; enough for hundreds of requests in flight, each holding one briefly

# Move a preview out of `pending` atomically, so that of many clicks on many replicas exactly one wins.
# Returns the outcome and the state the preview was in: claimed, unknown, expired, or the state it had.
_CLAIM = """
local f = redis.call('HMGET', KEYS[1], 'state', 'expires_at', 'team', 'channel', 'decided_by')
if not f[1] then return {'missing', ''} end
if ARGV[7] ~= '1' and (f[3] ~= ARGV[1] or f[4] ~= ARGV[2]) then return {'missing', ''} end
if f[1] ~= 'pending' then return {f[1], f[5] or ''} end
if tonumber(f[2]) <= tonumber(ARGV[3]) or ARGV[4] == 'expired' then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  redis.call('ZREM', KEYS[2], ARGV[6])
  return {'expired_now', ''}
end
redis.call('HSET', KEYS[1], 'state', ARGV[4], 'decided_by', ARGV[5])
redis.call('ZREM', KEYS[2], ARGV[6])
if ARGV[4] == 'running' then redis.call('ZADD', KEYS[3], ARGV[8], ARGV[6]) end
return {'claimed', ARGV[5]}
"""


def claim_outcome(raw: str) -> str:
    """A claim script's answer as the rest of the bot names it: `unknown` for a preview Redis does not
    have (the scripts say `missing`), `outcome_unknown` for a run in the state `unknown`."""
    return {"missing": "unknown", "unknown": "outcome_unknown"}.get(raw, raw)


def connect(url: str) -> Redis:
    """The process's one Redis client (a connection pool); close it with `aclose()`."""
    # A blocking pool: under a burst, callers wait (up to `timeout`) for one of the pool's connections
    # instead of redis-py refusing with "Too many connections" and the work (a vote, a click) being lost.
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=MAX_CONNECTIONS,
        timeout=5,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
        # Retry a dropped connection at once (Redis restarted), but give up fast while it is down, so
        # users hear "temporarily unavailable" quickly rather than after redis-py's multi-second backoff.
        retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), retries=2),
        retry_on_error=[RedisConnectionError, RedisTimeoutError],
    )
    return Redis.from_pool(pool)  # the client owns the pool: aclose() closes both


@dataclass(frozen=True)
class Claim:
    """What happened when someone tried to move a preview on: `outcome` is `claimed` when it was them."""

    outcome: str
    decided_by: str
    preview: Preview | None


class Store:
    def __init__(self, redis: Redis, *, prefix: str = "zapbot", lease_seconds: float = 30.0) -> None:
        self._redis = redis
        self._prefix = prefix
        # How long a running run stays this process's without a heartbeat (bot/runs/keeper.py renews it).
        self.lease_seconds = lease_seconds
        self._claim = redis.register_script(_CLAIM)
        # The calls each reaction makes (a burst is thousands) go out with the others of their loop turn.
        self.batched = Batched(redis)

    def __repr__(self) -> str:
        return f"Store(prefix={self._prefix!r})"

    @property
    def prefix(self) -> str:
        """The key prefix, for feature stores that keep their keys beside these (bot.ratings.store)."""
        return self._prefix

    # keys ------------------------------------------------------------------------------------------
    def preview_key(self, preview_id: str) -> str:
        return f"{self._prefix}:preview:{preview_id}"

    def expiring_key(self) -> str:
        return f"{self._prefix}:previews:expiring"

    def leases_key(self) -> str:
        return f"{self._prefix}:runs:leases"

    @property
    def redis(self) -> Redis:
        """The client, for feature stores that keep their keys beside these (bot.runs.store)."""
        return self._redis

    def execution_key(self, execution_log_id: str) -> str:
        return f"{self._prefix}:execution:{execution_log_id}"

    def executions_key(self) -> str:
        return f"{self._prefix}:executions"

    def message_key(self, channel: str, ts: str) -> str:
        return f"{self._prefix}:message:{channel}:{ts}"

    def event_key(self, event_id: str) -> str:
        """Public for the vote script (bot.ratings.store), which marks an event handled in its own step."""
        return f"{self._prefix}:event:{event_id}"

    # health ----------------------------------------------------------------------------------------
    async def ping(self) -> None:
        await self.call(cast(Awaitable[Any], self._redis.ping()))

    # previews --------------------------------------------------------------------------------------
    async def save_preview(self, preview: Preview) -> None:
        key = self.preview_key(preview.id)
        zset, score = self.preview_index(preview)
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping=_hash(preview.to_fields()))
            pipe.expire(key, preview_record_seconds(preview))
            pipe.zadd(zset, {preview.id: score})
            await self.call(pipe.execute())

    def preview_index(self, preview: Preview) -> tuple[str, float]:
        """Where a new preview is indexed, and its score: a pending one by its expiry; an auto_run one,
        which runs at once, under a lease. (bot/runs/store.py saves a preview in a step of its own.)"""
        if preview.state is PreviewState.RUNNING:
            return self.leases_key(), time.time() + self.lease_seconds
        return self.expiring_key(), preview.expires_at

    async def get_preview(self, preview_id: str) -> Preview | None:
        fields = await self.call(
            cast(Awaitable[dict[str, str]], self._redis.hgetall(self.preview_key(preview_id)))
        )
        return Preview.from_fields(fields) if fields else None

    async def waiting_previews(self, now: float, limit: int) -> list[Preview]:
        """Up to `limit` previews still waiting for a decision (in `{p}:previews:expiring`, not yet past
        their expiry), the soonest to expire first. Read-only: the sweeper still owns their expiry."""
        ids = await self.call(
            cast(
                Awaitable[list[str]],
                self._redis.zrangebyscore(self.expiring_key(), f"({now!r}", "+inf", start=0, num=limit),
            )
        )
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for preview_id in ids:
                pipe.hgetall(self.preview_key(preview_id))
            found = await self.call(cast(Awaitable[list[dict[str, str]]], pipe.execute()))
        return [Preview.from_fields(fields) for fields in found if fields]

    async def update_preview(self, preview_id: str, **fields: str) -> None:
        await self.call(self._redis.hset(self.preview_key(preview_id), mapping=_hash(fields)))

    async def preview_field(self, preview_id: str, name: str) -> str | None:
        """One extra field a feature keeps with a preview (set with `update_preview`), e.g. `candidates`."""
        key = self.preview_key(preview_id)
        return await self.call(cast(Awaitable[str | None], self._redis.hget(key, name)))

    async def claim_preview(
        self,
        preview_id: str,
        *,
        team: str,
        channel: str,
        to: PreviewState,
        by: str,
        now: float,
        any_place: bool = False,
    ) -> Claim:
        """Move a pending preview to `to`, if it belongs to this team and channel (unless `any_place`)."""
        keys = [self.preview_key(preview_id), self.expiring_key(), self.leases_key()]
        lease = repr(now + self.lease_seconds)
        args = [team, channel, repr(now), to.value, by, preview_id, "1" if any_place else "0", lease]
        raw, decided_by = await self.call(cast(Awaitable[list[str]], self._claim(keys=keys, args=args)))
        outcome = claim_outcome(raw)
        preview = await self.get_preview(preview_id) if outcome != "unknown" else None
        return Claim(outcome, decided_by, preview)

    async def take_due_expiries(self, now: float, limit: int = 100) -> list[str]:
        """Preview ids past their expiry that this replica now owns (ZREM decides who)."""
        key = self.expiring_key()
        due = await self.call(
            cast(Awaitable[list[str]], self._redis.zrangebyscore(key, "-inf", now, start=0, num=limit))
        )
        owned = []
        for preview_id in due:
            if await self.call(self._redis.zrem(key, preview_id)):
                owned.append(preview_id)
        return owned

    # executions ------------------------------------------------------------------------------------
    async def save_execution(
        self,
        execution_log_id: str,
        fields: dict[str, str],
        *,
        message: tuple[str, str],
        preview_update: tuple[str, dict[str, str]] | None = None,
    ) -> None:
        """Save an execution and the message showing it; with `preview_update` (id, fields), update that
        preview in the same transaction (one round trip where a flow needs both)."""
        channel, ts = message
        async with self._redis.pipeline(transaction=True) as pipe:
            if preview_update is not None:
                preview_id, preview_fields = preview_update
                pipe.hset(self.preview_key(preview_id), mapping=_hash(preview_fields))
            pipe.hset(self.execution_key(execution_log_id), mapping=_hash(fields))
            pipe.set(self.message_key(channel, ts), execution_log_id)
            pipe.zadd(self.executions_key(), {execution_log_id: time.time()}, nx=True)
            await self.call(pipe.execute())

    async def map_message(self, channel: str, ts: str, execution_log_id: str) -> None:
        """Record that the message `ts` shows `execution_log_id` (reactions on it rate that execution)."""
        async with self._redis.pipeline(transaction=True) as pipe:
            pipe.set(self.message_key(channel, ts), execution_log_id)
            pipe.hset(self.execution_key(execution_log_id), mapping={"message_ts": ts})
            await self.call(pipe.execute())

    async def note_file_in_thread(self, execution_log_id: str) -> None:
        """Record that the whole result of `execution_log_id` was attached to its thread as a file."""
        key = self.execution_key(execution_log_id)
        await self.call(self._redis.hset(key, "file_in_thread", "1"))

    async def get_execution(self, execution_log_id: str) -> dict[str, str]:
        key = self.execution_key(execution_log_id)
        return await self.call(cast(Awaitable[dict[str, str]], self._redis.hgetall(key)))

    async def recent_executions(self, limit: int) -> list[str]:
        """The execution_log_ids of the `limit` most recently saved executions, newest first."""
        key = self.executions_key()
        return await self.call(cast(Awaitable[list[str]], self._redis.zrevrange(key, 0, limit - 1)))

    async def executions(self, execution_log_ids: list[str]) -> list[dict[str, str]]:
        """The executions with these ids, in that order (one round trip); unknown ones are left out."""
        if not execution_log_ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for execution_log_id in execution_log_ids:
                pipe.hgetall(self.execution_key(execution_log_id))
            found = await self.call(cast(Awaitable[list[dict[str, str]]], pipe.execute()))
        return [
            {**fields, "execution_log_id": execution_log_id}
            for execution_log_id, fields in zip(execution_log_ids, found, strict=True)
            if fields
        ]

    async def execution_for_message(self, channel: str, ts: str) -> str | None:
        key = self.message_key(channel, ts)
        return await self.call(cast(Awaitable[str | None], self.batched.execute("GET", key)))

    # events ----------------------------------------------------------------------------------------
    async def first_delivery(self, event_id: str) -> bool:
        """True for the first delivery of a Slack event, on any replica; False for a re-delivery."""
        key = self.event_key(event_id)
        return bool(
            await self.call(
                cast(Awaitable[bool | None], self._redis.set(key, "1", nx=True, ex=EVENT_DEDUP_SECONDS))
            )
        )

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc


def preview_record_seconds(preview: Preview) -> int:
    """How long a new preview's record lives: past its expiry, so that a late click hears "expired"."""
    return max(1, int(preview.expires_at - time.time()) + PREVIEW_GRACE_SECONDS)


def _hash(fields: dict[str, str]) -> dict[Any, Any]:
    # redis-py types hash mappings invariantly over bytes|str|int|float; a str->str dict is one of those.
    return cast(dict[Any, Any], fields)
