"""bot/redis_batch.py against a real Redis: concurrent commands share one pipeline, and each caller still
gets its own reply or its own error."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError

from bot.redis_batch import Batched
from tests.support.redis_process import free_port


async def connections_received(client: redis.asyncio.Redis) -> int:
    return int((await client.info("stats"))["total_connections_received"])


async def test_concurrent_commands_go_out_together_and_each_gets_its_reply(redis_url: str) -> None:
    """Fifty concurrent SETs then GETs through a fresh client: one connection serves them all (each turn
    of the loop is one pipeline), and every caller gets the reply to its own command."""
    watcher = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        before = await connections_received(watcher)
        batched = Batched(client)
        assert (
            await asyncio.gather(*(batched.execute("SET", f"k{n}", f"v{n}") for n in range(50)))
            == [True] * 50
        )
        got = await asyncio.gather(*(batched.execute("GET", f"k{n}") for n in range(50)))
        assert got == [f"v{n}" for n in range(50)]
        assert await batched.execute("GET", "missing") is None
        assert await connections_received(watcher) - before == 1
    finally:
        await client.aclose()
        await watcher.aclose()


async def test_a_refused_command_fails_only_its_caller(redis_client: redis.asyncio.Redis) -> None:
    """A WRONGTYPE in the middle of a batch raises for that caller; the commands around it succeed."""
    await redis_client.set("text", "not a hash")
    batched = Batched(redis_client)
    replies = await asyncio.gather(
        batched.execute("SET", "a", "1"),
        batched.execute("HGET", "text", "field"),
        batched.execute("GET", "a"),
        return_exceptions=True,
    )
    assert replies[0] is True and replies[2] == "1"
    assert isinstance(replies[1], ResponseError) and "WRONGTYPE" in str(replies[1])


async def test_a_script_redis_has_forgotten_is_loaded_and_run(redis_client: redis.asyncio.Redis) -> None:
    """After SCRIPT FLUSH (as after a Redis restart) a batched script still runs, once."""
    script = redis_client.register_script("return redis.call('INCR', KEYS[1]) + tonumber(ARGV[1])")
    batched = Batched(redis_client)
    assert await batched.script(script, ["counter"], ["10"]) == 11
    await redis_client.script_flush()
    assert await batched.script(script, ["counter"], ["10"]) == 12
    assert await redis_client.get("counter") == "2"


async def test_no_connection_fails_every_caller_with_its_own_error() -> None:
    """Redis unreachable: every caller of the batch gets a connection error (a copy of its own)."""
    client = redis.asyncio.Redis.from_url(f"redis://127.0.0.1:{free_port()}/0", socket_connect_timeout=1)
    try:
        batched = Batched(client)
        errors = await asyncio.gather(
            *(batched.execute("GET", f"k{n}") for n in range(3)), return_exceptions=True
        )
        assert all(isinstance(e, RedisConnectionError) for e in errors)
        assert len({id(e) for e in errors}) == 3
    finally:
        await client.aclose()


async def test_a_cancelled_caller_does_not_disturb_the_others(redis_client: redis.asyncio.Redis) -> None:
    """One caller cancelled before the batch is answered: the others get their replies."""
    batched = Batched(redis_client)
    first = asyncio.ensure_future(batched.execute("SET", "x", "1"))
    second = asyncio.ensure_future(batched.execute("GET", "x"))
    await asyncio.sleep(0)
    first.cancel()
    assert await second in ("1", None)  # sent together: the SET may have run before it was cancelled
    with pytest.raises(asyncio.CancelledError):
        await first
