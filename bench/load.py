"""The load generator: pre-signed requests over keep-alive connections, a fixed number in flight."""

from __future__ import annotations

import asyncio
import functools
import math
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from bench.slack import Signed


@dataclass(frozen=True)
class Sent:
    """One request's answer: when it went (monotonic clock), how long the answer took, what it was."""

    key: str
    started: float
    latency: float
    status: int
    body: bytes


class Client:
    """Slack's side of the conversation: POSTs over keep-alive HTTP/1.1 connections, at most `limit` open.

    Written on asyncio's streams rather than with aiohttp's client: the generator shares the machine's two
    cores with the servers it measures, and at 2,500 requests a second aiohttp's client took 55-75 % of a
    core; this one parses only what it needs (status, Content-Length or chunks, Connection: close).
    """

    def __init__(self, limit: int, timeout: float = 120.0) -> None:
        self._slots = asyncio.Semaphore(limit)
        self._idle: dict[tuple[str, int], list[_Connection]] = {}
        self._timeout = timeout

    async def post(self, url: str, request: Signed) -> tuple[int, bytes]:
        host, port, path = _split(url)
        head = [f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\nContent-Length: {len(request.body)}\r\n"]
        head += [f"{name}: {value}\r\n" for name, value in request.headers.items()]
        data = "".join(head).encode() + b"\r\n" + request.body
        async with self._slots:
            idle = self._idle.setdefault((host, port), [])
            connection = idle.pop() if idle else await _Connection.open(host, port)
            try:
                async with asyncio.timeout(self._timeout):
                    status, body, keep = await connection.exchange(data)
            except BaseException:
                connection.close()
                raise
            if keep:
                idle.append(connection)
            else:
                connection.close()
            return status, body

    async def forget(self, url: str) -> None:
        """Close the idle connections to `url`'s server: the next requests open new ones."""
        host, port, _ = _split(url)
        for connection in self._idle.pop((host, port), []):
            connection.close()

    async def close(self) -> None:
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()

    async def __aenter__(self) -> Client:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()


@functools.lru_cache(maxsize=64)
def _split(url: str) -> tuple[str, int, str]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"


class _Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader, self._writer = reader, writer

    @classmethod
    async def open(cls, host: str, port: int) -> _Connection:
        reader, writer = await asyncio.open_connection(host, port)
        return cls(reader, writer)

    async def exchange(self, data: bytes) -> tuple[int, bytes, bool]:
        """Send one request; the answer's status, body, and whether the connection stays open."""
        self._writer.write(data)
        head = (await self._reader.readuntil(b"\r\n\r\n")).lower()
        status = int(head[9:12])
        length = _CONTENT_LENGTH.search(head)
        if status in (204, 304) or 100 <= status < 200:
            body = b""  # no body, whatever the headers say
        elif length is not None:
            body = await self._reader.readexactly(int(length.group(1)))
        elif b"transfer-encoding: chunked" in head:
            body = await self._chunked()
        else:
            return status, await self._reader.read(), False
        return status, body, b"connection: close" not in head

    async def _chunked(self) -> bytes:
        chunks = []
        while size := int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16):
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)
        await self._reader.readuntil(b"\r\n")  # no trailers are sent to us
        return b"".join(chunks)

    def close(self) -> None:
        self._writer.close()


_CONTENT_LENGTH = re.compile(rb"\r\ncontent-length:\s*(\d+)")


async def send(client: Client, url: str, request: Signed) -> Sent:
    started = time.monotonic()
    try:
        status, body = await client.post(url, request)
    except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError, TimeoutError) as exc:
        body, status = repr(exc).encode(), 0
    return Sent(request.key, started, time.monotonic() - started, status, body)


async def drive(client: Client, url: str, requests: Sequence[Signed], concurrency: int) -> list[Sent]:
    """Send every request with `concurrency` in flight; answers in the order of `requests`."""
    results: list[Sent | None] = [None] * len(requests)
    queue = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in queue:
            results[index] = await send(client, url, request)

    await asyncio.gather(*(worker() for _ in range(min(concurrency, len(requests)))))
    return [r for r in results if r is not None]


async def flows(
    count: int, concurrency: int, flow: Callable[[int], Awaitable[None]], *, stagger: float = 0.0
) -> None:
    """Run `flow(0..count-1)` with `concurrency` of them at a time (people, each waiting for their answer).

    Person i starts `i * stagger` seconds in. With no stagger they all start at once, and when every flow
    takes the same time (the Zapier stand-in's fixed latency) they stay in step: a burst of `concurrency`
    requests within a millisecond, then nothing until the next one. Staggered by the flow's length over
    `concurrency`, the same number are in flight at every moment, arriving evenly.
    """
    queue = iter(range(count))

    async def person(delay: float) -> None:
        await asyncio.sleep(delay)
        for index in queue:
            await flow(index)

    await asyncio.gather(*(person(i * stagger) for i in range(min(concurrency, count))))


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of the values; NaN when there are none."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = max(1, math.ceil(q / 100 * len(ordered)))
    return ordered[rank - 1]
