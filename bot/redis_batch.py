"""Redis commands that concurrent requests send within one turn of the event loop, sent as one pipeline.

Under a burst of reactions each request makes two short Redis calls, and redis-py's work around a call
(taking a connection from the pool, the retry wrapper, timeouts, a socket write and read, waking the
caller) costs far more CPU than the command itself: about 0.3 ms of the bot's ~1 ms per reaction
(bench/). `Batched` queues each command and, at the end of the loop turn in which the first one arrived,
sends all queued ones in one non-transactional pipeline: one connection, one write, one read, whatever
the number of callers. Each caller still gets its own reply, or its own error:

- a command Redis refuses (a script error, out of memory) fails only its caller;
- a connection failure (after redis-py's retries, which re-send the whole batch; every command sent this
  way must therefore be safe to repeat) fails every caller of that batch;
- a script Redis does not know (NOSCRIPT, after a restart or SCRIPT FLUSH) is run again on its own by
  redis-py's `Script`, which loads it first.

Nothing is atomic across a batch: each command is what it would have been alone (a Lua script still runs
atomically). It costs the first caller one turn of the loop; a lone command is a pipeline of one.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Sequence
from typing import Any

from redis.asyncio import Redis
from redis.commands.core import AsyncScript
from redis.exceptions import NoScriptError

Command = tuple[Any, ...]


class Batched:
    def __init__(self, redis: Redis) -> None:
        self._redis = redis
        self._queued: list[tuple[Command, asyncio.Future[Any]]] = []
        self._sending: set[asyncio.Task[None]] = set()  # strong references: asyncio keeps weak ones

    async def execute(self, *command: Any) -> Any:
        """Send `command` (e.g. "GET", key) with the others of this loop turn; its reply, decoded as the
        client decodes, or its error (a RedisError)."""
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        if not self._queued:
            loop.call_soon(self._send_queued)
        self._queued.append((command, reply))
        return await reply

    async def script(self, script: AsyncScript, keys: Sequence[str], args: Sequence[str]) -> Any:
        """Run a registered script (EVALSHA) in a batch; loaded and run alone if Redis does not have it."""
        try:
            return await self.execute("EVALSHA", script.sha, len(keys), *keys, *args)
        except NoScriptError:
            return await script(keys=list(keys), args=list(args))

    def _send_queued(self) -> None:
        batch, self._queued = self._queued, []
        task = asyncio.create_task(self._send(batch), name="redis-batch")
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, batch: list[tuple[Command, asyncio.Future[Any]]]) -> None:
        try:
            async with self._redis.pipeline(transaction=False) as pipe:
                for command, _ in batch:
                    pipe.execute_command(*command)
                replies = await pipe.execute(raise_on_error=False)
        except BaseException as error:  # the connection (or shutdown), for all of them
            for _, reply in batch:
                if reply.done():
                    continue
                if isinstance(error, Exception):
                    reply.set_exception(_own_copy(error))
                else:
                    reply.cancel()
            if not isinstance(error, Exception):
                raise
            return
        for (_, reply), value in zip(batch, replies, strict=True):
            if reply.done():  # its caller was cancelled meanwhile
                continue
            if isinstance(value, Exception):
                reply.set_exception(value)
            else:
                reply.set_result(value)


def _own_copy(error: Exception) -> Exception:
    """A copy per caller, so that each raise builds its own traceback (not one shared by all callers)."""
    try:
        return copy.copy(error)
    except Exception:  # an exception class copy cannot rebuild: share the original
        return error
