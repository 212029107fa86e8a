"""Redis for team confirmation: approvals, edits, the user group cache and the audit stream.

`TeamStore` is the `Store` with these keys and scripts added (same prefix, `zapbot` by default):
    {p}:preview:{id}                  hash   (Store's) plus `approved_by`, `approvals_needed`, `confirm_by`,
                                             `fingerprint`, `revision`, `edited_by`
    {p}:usergroup:{team}:{group}      string JSON list of a user group's members (USERGROUP_CACHE_SECONDS)
    {p}:audit                         stream every step of every preview, capped near AUDIT_MAX_ENTRIES
    {p}:audit:channel:{channel}       list   the stream IDs of the channel's newest entries (for /zap audit)
"""

from __future__ import annotations

import json
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis

from bot.runs.records import Preview
from bot.store import PREVIEW_GRACE_SECONDS, Store, claim_outcome

# One approval, atomically: of many clicks on many replicas, each person counts once, and the click that
# reaches the count moves the preview to `running` (exactly one does). A click must carry the fingerprint
# of the params it was shown; a click without one (a button made before fingerprints) is accepted only while
# the preview was never edited. Returns {outcome, decided_by, approved_by, the preview's fields and values...}
# (none for `unknown`): the preview as the click left it, without a second round trip.
_APPROVE = """
local function decide()
local f = redis.call('HMGET', KEYS[1], 'state', 'expires_at', 'team', 'channel', 'decided_by',
                     'fingerprint', 'approvals_needed', 'approved_by', 'revision')
if not f[1] then return {'missing', '', ''} end
if f[3] ~= ARGV[1] or f[4] ~= ARGV[2] then return {'missing', '', ''} end
local approved = f[8] or ''
if f[1] ~= 'pending' then return {f[1], f[5] or '', approved} end
if tonumber(f[2]) <= tonumber(ARGV[3]) then
  redis.call('HSET', KEYS[1], 'state', 'expired')
  redis.call('ZREM', KEYS[2], ARGV[5])
  return {'expired_now', '', approved}
end
if ARGV[6] == '' then
  if (f[9] or '0') ~= '0' then return {'stale', '', approved} end
elseif ARGV[6] ~= (f[6] or '') then
  return {'stale', '', approved}
end
if string.find(' ' .. approved .. ' ', ' ' .. ARGV[4] .. ' ', 1, true) then
  return {'already', '', approved}
end
if approved == '' then approved = ARGV[4] else approved = approved .. ' ' .. ARGV[4] end
local count = 0
for _ in string.gmatch(approved, '%S+') do count = count + 1 end
if count >= (tonumber(f[7] or '1') or 1) then
  redis.call('HSET', KEYS[1], 'state', 'running', 'decided_by', ARGV[4], 'approved_by', approved)
  redis.call('ZREM', KEYS[2], ARGV[5])
  redis.call('ZADD', KEYS[3], ARGV[7], ARGV[5])  -- the run's lease: a sweeper ends it if nobody renews it
  return {'claimed', ARGV[4], approved}
end
redis.call('HSET', KEYS[1], 'approved_by', approved)
return {'approved', '', approved}
end
local reply = decide()
if reply[1] ~= 'missing' then
  for _, item in ipairs(redis.call('HGETALL', KEYS[1])) do table.insert(reply, item) end
end
return reply
"""

# Replace a pending preview's content by an edited one, only if it still shows what the editor saw
# (compare-and-set on the fingerprint). Approvals are discarded: they were given to other params.
_REPLACE = """
local f = redis.call('HMGET', KEYS[1], 'state', 'expires_at', 'fingerprint', 'team', 'channel')
if not f[1] or f[4] ~= ARGV[5] or f[5] ~= ARGV[6] then return 'missing' end
if f[1] ~= 'pending' then return f[1] end
if tonumber(f[2]) <= tonumber(ARGV[2]) then return 'expired' end
if f[3] ~= ARGV[1] then return 'stale' end
redis.call('HSET', KEYS[1], 'approved_by', '', unpack(ARGV, 8))
redis.call('HINCRBY', KEYS[1], 'revision', 1)
redis.call('EXPIRE', KEYS[1], ARGV[7])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[3])
return 'replaced'
"""

# Append to the audit stream and, in the same step, to the channel's index: `/zap audit` then reads the
# channel's entries directly instead of scanning a shared stream (20,000 entries cost seconds of CPU).
# KEYS and ARGV are an `AuditWrite`'s; the vote script (bot.ratings.store) does the same for a rating.
_AUDIT_ADD = """
local id = redis.call('XADD', KEYS[1], 'MAXLEN', '~', ARGV[1], '*', unpack(cjson.decode(ARGV[4])))
redis.call('LPUSH', KEYS[2], id)
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[2]) - 1)
redis.call('EXPIRE', KEYS[2], ARGV[3])
return id
"""

AUDIT_CHANNEL_INDEX = 200  # more than `/zap audit` ever shows (50)
AUDIT_CHANNEL_INDEX_SECONDS = 90 * 24 * 3600  # a channel quiet this long drops its index, not its entries


@dataclass(frozen=True)
class AuditWrite:
    """One audit entry as a Lua script appends it (`_AUDIT_ADD`, or another script in its own atomic step).

    keys: the stream and the channel's index. args: the stream's cap (MAXLEN ~), the index's length and
    lifetime in seconds, then the entry's field/value pairs in order as one JSON list: one argument rather
    than twenty, because redis-py packs each argument in Python and a vote is sent a thousand times a second.
    """

    keys: tuple[str, str]
    args: tuple[str, ...]


@dataclass(frozen=True)
class ApproveResult:
    """What one approval click did. `outcome`: claimed (this click completes the approvals and runs it),
    approved (counted, more are needed), already (this person already approved), stale (the preview was
    edited since the click's message was shown), or what the claim script says (unknown, expired_now,
    running, done, cancelled, expired)."""

    outcome: str
    decided_by: str
    approved_by: tuple[str, ...]
    preview: Preview | None


class TeamStore(Store):
    def __init__(self, redis: Redis, *, prefix: str = "zapbot", lease_seconds: float = 30.0) -> None:
        super().__init__(redis, prefix=prefix, lease_seconds=lease_seconds)
        self._approve = redis.register_script(_APPROVE)
        self._replace = redis.register_script(_REPLACE)
        self._audit_add = redis.register_script(_AUDIT_ADD)

    def _usergroup_key(self, team: str, group: str) -> str:
        return f"{self._prefix}:usergroup:{team}:{group}"

    def audit_key(self) -> str:
        return f"{self._prefix}:audit"

    def _audit_channel_key(self, channel: str) -> str:
        return f"{self._prefix}:audit:channel:{channel}"

    # approvals ---------------------------------------------------------------------------------------
    async def approve(
        self, preview_id: str, *, team: str, channel: str, user: str, fingerprint: str, now: float
    ) -> ApproveResult:
        """Count `user`'s approval of a pending preview shown with `fingerprint` (see `_APPROVE`)."""
        keys = [self.preview_key(preview_id), self.expiring_key(), self.leases_key()]
        args = [team, channel, repr(now), user, preview_id, fingerprint, repr(now + self.lease_seconds)]
        reply = await self.call(cast(Awaitable[list[str]], self._approve(keys=keys, args=args)))
        raw, decided_by, approved, *flat = reply
        outcome = claim_outcome(raw)
        fields = dict(zip(flat[::2], flat[1::2], strict=True))
        preview = Preview.from_fields(fields) if fields else None
        return ApproveResult(outcome, decided_by, tuple(approved.split()), preview)

    async def replace_preview(self, edited: Preview, *, expected_fingerprint: str, now: float) -> str:
        """Put an edited preview in place of the pending one the editor saw. Returns `replaced`, `stale`
        (someone changed it meanwhile), `unknown`, `expired`, or the state it had moved on to."""
        fields = edited.to_fields()
        changed = ["request", "result", "created_at", "expires_at", "edited_by", "fingerprint"]
        pairs = [item for name in changed for item in (name, fields[name])]
        ttl = max(1, int(edited.expires_at - now) + PREVIEW_GRACE_SECONDS)
        keys = [self.preview_key(edited.id), self.expiring_key()]
        args = [
            expected_fingerprint,
            repr(now),
            edited.id,
            repr(edited.expires_at),
            edited.team,
            edited.channel,
            str(ttl),
            *pairs,
        ]
        return claim_outcome(await self.call(cast(Awaitable[str], self._replace(keys=keys, args=args))))

    # user groups -------------------------------------------------------------------------------------
    async def cached_group(self, team: str, group: str) -> list[str] | None:
        raw = await self.call(cast(Awaitable[str | None], self._redis.get(self._usergroup_key(team, group))))
        if raw is None:
            return None
        members = json.loads(raw)
        return [str(m) for m in members] if isinstance(members, list) else None

    async def cache_group(self, team: str, group: str, members: list[str], *, seconds: int) -> None:
        if seconds > 0:
            key = self._usergroup_key(team, group)
            await self.call(self._redis.set(key, json.dumps(members), ex=seconds))

    # audit -------------------------------------------------------------------------------------------
    def audit_write(self, fields: dict[str, str], *, max_entries: int) -> AuditWrite:
        """The keys and arguments that append `fields` (and index them under their channel); the stream is
        trimmed near `max_entries` (MAXLEN ~: whole blocks at a time, cheap)."""
        keys = (self.audit_key(), self._audit_channel_key(fields.get("channel", "")))
        pairs = json.dumps([item for pair in fields.items() for item in pair], ensure_ascii=False)
        args = (str(max_entries), str(AUDIT_CHANNEL_INDEX), str(AUDIT_CHANNEL_INDEX_SECONDS), pairs)
        return AuditWrite(keys, args)

    async def audit_add(self, write: AuditWrite) -> str:
        """Append one entry; returns its stream ID."""
        reply = self._audit_add(keys=list(write.keys), args=list(write.args))
        return str(await self.call(cast(Awaitable[str], reply)))

    async def audit_recent(self, channel: str, count: int) -> list[tuple[str, dict[str, str]]]:
        """Up to `count` newest entries of `channel`, newest first. Entries the cap has trimmed from the
        stream are skipped."""
        ids = await self.call(
            cast(Awaitable[list[str]], self._redis.lrange(self._audit_channel_key(channel), 0, count - 1))
        )
        if not ids:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for entry_id in ids:
                pipe.xrange(self.audit_key(), min=entry_id, max=entry_id, count=1)
            pages = cast(list[list[tuple[str, dict[str, str]]]], await self.call(pipe.execute()))
        return [page[0] for page in pages if page]
