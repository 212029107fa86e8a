"""The load generator: pre-signed requests over a keep-alive aiohttp client, a fixed number in flight."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass

import aiohttp

from bench.slack import Signed


@dataclass(frozen=True)
class Sent:
    """One request's answer: when it went (monotonic clock), how long the answer took, what it was."""

    key: str
    started: float
    latency: float
    status: int
    body: bytes


def new_session(concurrency: int) -> aiohttp.ClientSession:
    connector = aiohttp.TCPConnector(limit=concurrency, limit_per_host=concurrency)
    return aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120))


async def send(session: aiohttp.ClientSession, url: str, request: Signed) -> Sent:
    started = time.monotonic()
    try:
        async with session.post(url, data=request.body, headers=request.headers) as response:
            body = await response.read()
            status = response.status
    except (aiohttp.ClientError, TimeoutError) as exc:
        body, status = repr(exc).encode(), 0
    return Sent(request.key, started, time.monotonic() - started, status, body)


async def drive(
    session: aiohttp.ClientSession, url: str, requests: Sequence[Signed], concurrency: int
) -> list[Sent]:
    """Send every request with `concurrency` in flight; answers in the order of `requests`."""
    results: list[Sent | None] = [None] * len(requests)
    queue = iter(enumerate(requests))

    async def worker() -> None:
        for index, request in queue:
            results[index] = await send(session, url, request)

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
