"""Redis for finding actions: a workspace's saved shortcuts and a short-lived cache of look-ups.

Keys (same prefix as `bot.store.Store`, `zapbot` by default):
    {p}:shortcuts:{team}        hash    shortcut name -> JSON (its definition, who saved it and when)
    {p}:lookup:{kind}:{digest}  string  a cached app or action search (JSON), expiring after a few minutes

The candidates a guessed preview can switch to live in the preview's own hash (`bot.store.Store`), so they
expire with it.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import Any, TypeVar, cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.errors import StoreError

T = TypeVar("T")

# Save a shortcut unless the name is taken or the workspace already has `limit` of them.
_SAVE = """
if redis.call('HEXISTS', KEYS[1], ARGV[1]) == 1 then return 'exists' end
if redis.call('HLEN', KEYS[1]) >= tonumber(ARGV[3]) then return 'full' end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return 'saved'
"""


class DiscoveryStore:
    def __init__(self, redis: Redis, *, prefix: str = "zapbot") -> None:
        self._redis = redis
        self._prefix = prefix
        self._save = redis.register_script(_SAVE)

    def __repr__(self) -> str:
        return f"DiscoveryStore(prefix={self._prefix!r})"

    def _shortcuts_key(self, team: str) -> str:
        return f"{self._prefix}:shortcuts:{team}"

    def _lookup_key(self, key: str) -> str:
        return f"{self._prefix}:lookup:{key}"

    # shortcuts -------------------------------------------------------------------------------------
    async def add_shortcut(self, team: str, name: str, record: str, *, limit: int) -> str:
        """`saved`, or `exists` when the name is taken, or `full` when the workspace has `limit` already."""
        keys = [self._shortcuts_key(team)]
        return await self.call(cast(Awaitable[str], self._save(keys=keys, args=[name, record, limit])))

    async def shortcut(self, team: str, name: str) -> str | None:
        return await self.call(cast(Awaitable[str | None], self._redis.hget(self._shortcuts_key(team), name)))

    async def shortcuts(self, team: str) -> dict[str, str]:
        return await self.call(
            cast(Awaitable[dict[str, str]], self._redis.hgetall(self._shortcuts_key(team)))
        )

    async def remove_shortcut(self, team: str, name: str) -> bool:
        removed = await self.call(self._redis.hdel(self._shortcuts_key(team), name))
        return bool(removed)

    # look-up cache ---------------------------------------------------------------------------------
    async def cached(self, key: str) -> str | None:
        return await self.call(cast(Awaitable[str | None], self._redis.get(self._lookup_key(key))))

    async def cache(self, key: str, value: str, *, seconds: int) -> None:
        await self.call(cast(Awaitable[Any], self._redis.set(self._lookup_key(key), value, ex=seconds)))

    async def call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc
