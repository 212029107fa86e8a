"""Typed reads of what the bot stored, for clients made with ``decode_responses=True``.

redis-py types a reply as ``bytes | str`` and a stream range as possibly ``None``: these helpers check
that the reply is text and give the tests plain ``str`` values.
"""

from __future__ import annotations

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
