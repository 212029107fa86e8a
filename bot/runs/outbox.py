"""Durable delivery: what must reach people (outcomes, preview updates, notices) waits in Redis until the
surface takes it, so that a Slack outage, a rate limit or a crash between two sends loses nothing.

Keys (same prefix as bot/store.py):
    {p}:outbox                  zset   item id -> when it is due (now, a retry's time, or a claim's deadline)
    {p}:outbox:item:{id}        hash   one item (`Item.fields`), with `version`, `attempts`, `claimed_until`,
                                       `holder`
    {p}:outbox:holders          zset   worker (holder id) -> until when its heartbeat says it is alive
    {p}:outbox:held:{holder}    set    the item ids that worker holds

A worker claims due items (their score moves to a claim deadline, so a worker that dies mid-send leaves
them to another), sends them, and removes each only if it was not replaced meanwhile (`version`). Items
with a `key` replace the pending one with that key: updates of one message collapse into the last one.

A worker that claims also beats (`beat`, every third of `lease_seconds`). When its heartbeat lapses (the
process was killed), the next claim by any worker takes over what it held at once, rather than when the
claim's deadline passes: a post among them is marked `maybe_posted` (it may have reached Slack before the
process died), so that its thread is searched before it is sent again (bot/runs/delivery.py). A worker
never takes over its own items (a late beat of its own). A process alive but stalled for longer than the
lease (its event loop blocked) looks dead too: then an update may be sent twice (harmless), and a post is
looked for in its thread first; keep `lease_seconds` well above any stall you expect.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from bot.runs.ports import Message
from bot.store import Store

Kind = Literal["post", "update", "whisper", "direct"]
ITEM_SECONDS = 24 * 3600  # an item not delivered within a day is given up (and logged as an error)


# Queue (or replace) an item: due now, unless a worker holds it (its `done` then finds a new version and
# makes it due again). KEYS: the zset. ARGV: id, lifetime, item key prefix, now, then field/value pairs.
_ENQUEUE_SCRIPT = """
local k = ARGV[3] .. ARGV[1]
redis.call('HSET', k, unpack(ARGV, 5))
redis.call('HINCRBY', k, 'version', 1)
redis.call('EXPIRE', k, ARGV[2])
local claimed = tonumber(redis.call('HGET', k, 'claimed_until') or '0') or 0
if claimed <= tonumber(ARGV[4]) then redis.call('ZADD', KEYS[1], ARGV[4], ARGV[1]) end
return 1
"""

# Claim due items for a holder, after taking over what holders whose heartbeat lapsed still held.
# KEYS: the zset, the holders zset. ARGV: now, claim deadline, limit, item key prefix, holder, held-set
# key prefix, held-set lifetime.
_CLAIM = """
local now = tonumber(ARGV[1])
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 10)) do
  -- Not our own (a late beat of ours): what we hold is still being sent here.
  if dead ~= ARGV[5] then
    local held = ARGV[6] .. dead
    for _, id in ipairs(redis.call('SMEMBERS', held)) do
      local k = ARGV[4] .. id
      local until_ = tonumber(redis.call('HGET', k, 'claimed_until')) or 0
      if redis.call('HGET', k, 'holder') == dead and until_ > now then
        redis.call('HSET', k, 'claimed_until', '0', 'holder', '')
        if redis.call('HGET', k, 'kind') == 'post' then redis.call('HSET', k, 'maybe_posted', '1') end
        redis.call('ZADD', KEYS[1], ARGV[1], id)
      end
    end
    redis.call('DEL', held)
    redis.call('ZREM', KEYS[2], dead)
  end
end
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[3]))
local out = {}
for _, id in ipairs(ids) do
  local k = ARGV[4] .. id
  if redis.call('EXISTS', k) == 1 then
    redis.call('ZADD', KEYS[1], ARGV[2], id)
    redis.call('HSET', k, 'claimed_until', ARGV[2], 'holder', ARGV[5])
    if ARGV[5] ~= '' then
      redis.call('SADD', ARGV[6] .. ARGV[5], id)
      redis.call('EXPIRE', ARGV[6] .. ARGV[5], ARGV[7])
    end
    table.insert(out, id)
    table.insert(out, redis.call('HGETALL', k))
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return out
"""

# Done with an item: remove it, unless it was replaced while being sent (then the new one is due now).
# ARGV: id, version, now, item key prefix, held-set key prefix.
_DONE = """
local k = ARGV[4] .. ARGV[1]
local holder = redis.call('HGET', k, 'holder')
if holder and holder ~= '' then redis.call('SREM', ARGV[5] .. holder, ARGV[1]) end
local v = redis.call('HGET', k, 'version')
if v == ARGV[2] or not v then
  redis.call('DEL', k)
  redis.call('ZREM', KEYS[1], ARGV[1])
  return 1
end
redis.call('HSET', k, 'claimed_until', '0', 'holder', '')
redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
return 0
"""

# ARGV: id, when it is due, item key prefix, held-set key prefix, then field/value pairs to change.
_RETRY = """
local k = ARGV[3] .. ARGV[1]
if redis.call('EXISTS', k) == 0 then redis.call('ZREM', KEYS[1], ARGV[1]) return 0 end
local holder = redis.call('HGET', k, 'holder')
if holder and holder ~= '' then redis.call('SREM', ARGV[4] .. holder, ARGV[1]) end
redis.call('HSET', k, 'claimed_until', '0', 'holder', '', unpack(ARGV, 5))
redis.call('HINCRBY', k, 'attempts', 1)
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return 1
"""


@dataclass
class Item:
    """One message to deliver. `tell`: who to tell privately if the channel refuses it for good, with
    `undelivered` (what to tell them). `fallback`: a shorter message to send if this one is too big.
    `record`: the execution_log_id a posted message shows (so reactions on it rate that execution)."""

    kind: Kind
    message: Message
    channel: str = ""
    thread_ts: str = ""
    ts: str = ""  # the message an `update` replaces
    user: str = ""  # a `whisper`'s or `direct`'s person
    fallback: Message | None = None
    tell: tuple[str, ...] = ()
    undelivered: Message | None = None
    record: str = ""
    run_id: str = ""
    # If the channel refuses it for good: this replaces the message `note_ts` (the preview) to say so.
    note: Message | None = None
    note_ts: str = ""
    # If it is too big for Slack: this text goes into the thread as a file, beside the `fallback`; with
    # `attach_now`, before the message in any case (the message shows only part of it).
    attachment: str = ""
    attachment_name: str = ""
    attach_now: bool = False
    # A send that may have landed (a timeout or a reset after the request went out): look before re-sending.
    maybe_posted: bool = False
    key: str = ""  # items with the same key collapse into the last one
    # Filled when read back from Redis:
    id: str = ""
    version: str = ""
    attempts: int = 0
    created_at: float = field(default_factory=time.time)

    def fields(self) -> dict[str, str]:
        return {
            "kind": self.kind,
            "message": json.dumps(self.message),
            "channel": self.channel,
            "thread_ts": self.thread_ts,
            "ts": self.ts,
            "user": self.user,
            "fallback": json.dumps(self.fallback) if self.fallback else "",
            "tell": " ".join(self.tell),
            "undelivered": json.dumps(self.undelivered) if self.undelivered else "",
            "record": self.record,
            "run_id": self.run_id,
            "note": json.dumps(self.note) if self.note else "",
            "note_ts": self.note_ts,
            "attachment": self.attachment,
            "attachment_name": self.attachment_name,
            "attach_now": "1" if self.attach_now else "",
            "maybe_posted": "1" if self.maybe_posted else "",
            "created_at": repr(self.created_at),
        }

    @classmethod
    def from_fields(cls, item_id: str, f: dict[str, str]) -> Item:
        return cls(
            kind=cast(Kind, f.get("kind", "post")),
            message=json.loads(f.get("message") or "{}"),
            channel=f.get("channel", ""),
            thread_ts=f.get("thread_ts", ""),
            ts=f.get("ts", ""),
            user=f.get("user", ""),
            fallback=json.loads(f["fallback"]) if f.get("fallback") else None,
            tell=tuple(f.get("tell", "").split()),
            undelivered=json.loads(f["undelivered"]) if f.get("undelivered") else None,
            record=f.get("record", ""),
            run_id=f.get("run_id", ""),
            note=json.loads(f["note"]) if f.get("note") else None,
            note_ts=f.get("note_ts", ""),
            attachment=f.get("attachment", ""),
            attachment_name=f.get("attachment_name", ""),
            attach_now=bool(f.get("attach_now")),
            maybe_posted=bool(f.get("maybe_posted")),
            id=item_id,
            version=f.get("version", ""),
            attempts=int(f.get("attempts", "0")),
            created_at=float(f.get("created_at", "0") or 0),
        )


class Outbox:
    def __init__(self, store: Store, *, lease_seconds: float = 3.0) -> None:
        self._store = store
        self.lease_seconds = lease_seconds  # a worker whose heartbeat is older is dead: its items are taken
        redis = store.redis
        self._redis = redis
        self._enqueue = redis.register_script(_ENQUEUE_SCRIPT)
        self._claim = redis.register_script(_CLAIM)
        self._done = redis.register_script(_DONE)
        self._retry = redis.register_script(_RETRY)
        self._wake: list[Any] = []  # workers to wake when something is queued (bot/runs/delivery.py)

    def _zset(self) -> str:
        return f"{self._store.prefix}:outbox"

    def _item_prefix(self) -> str:
        return f"{self._store.prefix}:outbox:item:"

    def _holders(self) -> str:
        return f"{self._store.prefix}:outbox:holders"

    def _held_prefix(self) -> str:
        return f"{self._store.prefix}:outbox:held:"

    async def beat(self, holder: str) -> None:
        """`holder` is alive for another `lease_seconds`."""
        deadline = time.time() + self.lease_seconds
        await self._store.call(self._redis.zadd(self._holders(), {holder: deadline}))

    async def leave(self, holder: str) -> None:
        """`holder` stops: what it still holds (a send cut at shutdown) is taken over by the next claim."""
        await self._store.call(self._redis.zadd(self._holders(), {holder: 0}))

    def on_enqueue(self, wake: Any) -> None:
        self._wake.append(wake)

    async def put(self, *items: Item) -> None:
        """Queue items in one transaction; raises StoreError when Redis does not take them."""
        now = time.time()
        async with self._redis.pipeline(transaction=True) as pipe:
            for item in items:
                # Time-ordered ids: items due at the same moment go out in the order they were queued.
                item_id = item.key or f"{time.time_ns():020d}-{secrets.token_hex(4)}"
                pairs = [x for pair in item.fields().items() for x in pair]
                args = [item_id, str(ITEM_SECONDS), self._item_prefix(), repr(now), *pairs]
                await self._enqueue(keys=[self._zset()], args=args, client=pipe)
            await self._store.call(pipe.execute())
        for wake in self._wake:
            wake()

    async def claim(self, *, limit: int, hold_seconds: float, holder: str = "") -> list[Item]:
        """Up to `limit` due items, held by `holder` for `hold_seconds` at most (or until its heartbeat
        lapses); first, what dead holders held becomes due."""
        now = time.time()
        args = [repr(now), repr(now + hold_seconds), str(limit), self._item_prefix()]
        args += [holder, self._held_prefix(), str(ITEM_SECONDS)]
        keys = [self._zset(), self._holders()]
        flat = await self._store.call(cast(Awaitable[list[Any]], self._claim(keys=keys, args=args)))
        items = []
        for item_id, pairs in zip(flat[::2], flat[1::2], strict=True):
            items.append(Item.from_fields(item_id, dict(zip(pairs[::2], pairs[1::2], strict=True))))
        return items

    async def done(self, item: Item) -> None:
        args = [item.id, item.version, repr(time.time()), self._item_prefix(), self._held_prefix()]
        await self._store.call(cast(Awaitable[int], self._done(keys=[self._zset()], args=args)))

    async def retry(self, item: Item, *, at: float, **changes: str) -> None:
        pairs = [x for pair in changes.items() for x in pair]
        args = [item.id, repr(at), self._item_prefix(), self._held_prefix(), *pairs]
        await self._store.call(cast(Awaitable[int], self._retry(keys=[self._zset()], args=args)))

    async def next_due(self) -> float | None:
        """When the earliest item is due (a claimed one: when its claim ends), or None when none waits."""
        first = await self._store.call(
            cast(Awaitable[list[tuple[str, float]]], self._redis.zrange(self._zset(), 0, 0, withscores=True))
        )
        return float(first[0][1]) if first else None

    async def pending(self) -> int:
        return await self._store.call(self._redis.zcard(self._zset()))
