"""Token buckets in Redis, shared by every replica:
- `Limits`: how fast one person, and one channel, may ask for previews and runs. Past the limit the person
  is told when to try again, and nothing is asked of Zapier.
- `ChannelPace`: how fast the bot posts into one channel, as Slack allows (about one message a second per
  channel, in short bursts): posts wait their turn instead of being refused with 429 and retried in a herd.

Keys: {p}:limit:{kind}:{id}, {p}:pace:{channel}  hash  tokens, at (a bucket; expires when full again)
"""

from __future__ import annotations

import math
import time
from collections.abc import Awaitable
from dataclasses import dataclass
from typing import cast

from bot.store import Store

# Take one token from each bucket, or none: returns 0 when taken, else the seconds until one is free. A Lua
# function, so that another step can take its allowance in the same round trip (bot/runs/store.py).
# take(k, n, a): the buckets are KEYS[k .. k + n - 1]; ARGV[a] is now, then per bucket: capacity, refill per
# second.
TAKE_FUNCTION = """
local function take(k, n, a)
  local now = tonumber(ARGV[a])
  local wait = 0
  local levels = {}
  for i = 1, n do
    local cap = tonumber(ARGV[a - 1 + 2 * i])
    local rate = tonumber(ARGV[a + 2 * i])
    local b = redis.call('HMGET', KEYS[k - 1 + i], 'tokens', 'at')
    local tokens = tonumber(b[1]) or cap
    local at = tonumber(b[2]) or now
    tokens = math.min(cap, tokens + math.max(0, now - at) * rate)
    levels[i] = tokens
    if tokens < 1 then wait = math.max(wait, (1 - tokens) / rate) end
  end
  if wait > 0 then return wait end
  for i = 1, n do
    local cap = tonumber(ARGV[a - 1 + 2 * i])
    local rate = tonumber(ARGV[a + 2 * i])
    redis.call('HSET', KEYS[k - 1 + i], 'tokens', tostring(levels[i] - 1), 'at', ARGV[a])
    redis.call('EXPIRE', KEYS[k - 1 + i], math.ceil(cap / rate) + 1)
  end
  return 0
end
"""
_TAKE = TAKE_FUNCTION + "return tostring(take(1, #KEYS, 1))"


@dataclass(frozen=True)
class Rate:
    """`per_minute` previews or runs a minute, in bursts of up to that many; 0 turns the limit off."""

    per_minute: int

    @property
    def on(self) -> bool:
        return self.per_minute > 0


@dataclass(frozen=True)
class Bucket:
    """Up to `capacity` at once, refilled at `per_second`."""

    capacity: float
    per_second: float


class ChannelPace:
    """Posts into one channel at Slack's pace (`bucket`), whichever replica sends them."""

    def __init__(self, store: Store, bucket: Bucket) -> None:
        self._store = store
        self._take = store.redis.register_script(_TAKE)
        self.bucket = bucket

    async def wait(self, channel: str) -> float:
        """Take a turn to post in `channel`: 0 when taken now, else the seconds until one is free (nothing
        taken). Raises StoreError when Redis does not answer."""
        key = f"{self._store.prefix}:pace:{channel}"
        args = [repr(time.time()), repr(self.bucket.capacity), repr(self.bucket.per_second)]
        return float(await self._store.call(cast(Awaitable[str], self._take(keys=[key], args=args))))


class Limits:
    def __init__(self, store: Store, *, person: Rate, channel: Rate) -> None:
        self._store = store
        self._take = store.redis.register_script(_TAKE)
        self._person = person
        self._channel = channel

    def buckets(self, team: str, channel: str, user: str) -> tuple[list[str], list[str]]:
        """The buckets one preview or run takes from, as `take` reads them: their keys, and for ARGV now,
        then each one's capacity and refill per second."""
        buckets = [
            (f"{self._store.prefix}:limit:person:{team}:{user}", self._person),
            (f"{self._store.prefix}:limit:channel:{team}:{channel}", self._channel),
        ]
        keys, args = [], [repr(time.time())]
        for key, rate in buckets:
            if rate.on:
                keys.append(key)
                args += [str(rate.per_minute), repr(rate.per_minute / 60.0)]
        return keys, args

    async def wait_for(self, team: str, channel: str, user: str) -> float:
        """Take one preview or run for this person in this channel: 0 when allowed, else how many
        seconds until they may (nothing was taken). Raises StoreError when Redis does not answer."""
        keys, args = self.buckets(team, channel, user)
        if not keys:
            return 0.0
        wait = await self._store.call(cast(Awaitable[str], self._take(keys=keys, args=args)))
        return float(wait)


def slow_down_text(wait: float) -> str:
    seconds = max(1, math.ceil(wait))
    return (
        f":snail: You're sending requests faster than this workspace allows. Nothing was sent to Zapier; "
        f"try again in {seconds} s."
    )
