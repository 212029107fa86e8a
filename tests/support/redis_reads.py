"""Typed reads of what the bot stored, for clients made with ``decode_responses=True``.

redis-py types a reply as ``bytes | str`` and a stream range as possibly ``None``: these helpers check
that the reply is text and give the tests plain ``str`` values.
"""

from __future__ import annotations

from typing import cast

import redis.asyncio


def _text(value: object) -> str:
    assert isinstance(value, str), f"expected text (decode_responses=True), got {value!r}"
    return value


async def stream_entries(client: redis.asyncio.Redis, key: str) -> list[tuple[str, dict[str, str]]]:
    """Every entry of the stream ``key``, oldest first: (id, fields)."""
    entries = await client.xrange(key)
    assert entries is not None
    return [
        (_text(entry_id), {_text(k): _text(v) for k, v in (fields or {}).items()})
        for entry_id, fields in entries
    ]


async def zset_scores(client: redis.asyncio.Redis, key: str) -> list[tuple[str, float]]:
    """Every member of the sorted set ``key`` with its score, lowest first."""
    pairs = cast(list[tuple[object, float]], await client.zrange(key, 0, -1, withscores=True))
    return [(_text(member), float(score)) for member, score in pairs]


async def hash_fields(client: redis.asyncio.Redis, key: str) -> dict[str, str]:
    """Every field of the hash ``key`` (empty when there is none)."""
    return {_text(k): _text(v) for k, v in (await client.hgetall(key)).items()}
