"""The bot's Redis client under a burst: past the pool's size, commands wait for a connection, none fails."""

from __future__ import annotations

import asyncio

from bot.store import MAX_CONNECTIONS as REDIS_MAX_CONNECTIONS
from bot.store import connect as redis_client


async def test_a_burst_past_the_pool_size_waits_instead_of_failing(redis_url: str) -> None:
    """Half again as many commands as the pool has connections, each holding one a moment: all succeed."""
    redis = redis_client(redis_url)
    try:
        burst = REDIS_MAX_CONNECTIONS * 3 // 2
        answers = await asyncio.gather(*(redis.blpop([f"empty:{n}"], timeout=0.2) for n in range(burst)))
    finally:
        await redis.aclose()

    assert answers == [None] * burst  # each waited out its 0.2 s on an empty list; none was refused
