"""How many rate calls a burst of reactions costs, and how soon the final rating reaches Zapier.

    .venv/bin/python -m bench.rating_burst

Runs the real bot (as the tests do: the local Slack and Zapier stand-ins and a redis-server of its own) and,
for each RATING_DELAY_SECONDS and burst size N, sends N signed reaction events from N people on one result,
either all at once or one every 30 ms, then waits until every vote is counted and the final rating is
delivered. Prints one row each: whether every vote was counted, the rate calls made, whether the last call
carried the exact final rating, and the seconds from the last reaction's answer to the final delivery.
"""

from __future__ import annotations

import asyncio
import random
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import redis.asyncio

from tests.support.bot_server import settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.rating_helpers import rating_bot, run_to_result, settled
from tests.support.redis_process import RedisProcess

DELAYS = (0.2, 2.0)
SIZES = (10, 40, 100)
SPREAD_GAP = 0.03
PATTERNS = {
    # Every reaction flips the rating (1, 0, 1, 0, ...): the worst case, each one is a change to send.
    "flip": lambda i, rng: "+1" if i % 2 == 0 else "-1",
    # A 3:2 mix of 👍-like and 👎-like emoji in random order: the rating soon settles.
    "mix": lambda i, rng: rng.choice(["+1", "+1", "heart", "-1", "x"]),
}


@dataclass(frozen=True)
class Row:
    counted: bool  # every vote was counted (up and down as sent)
    changes: int  # how many times the rating changed (each one a state to send)
    calls: int  # rate calls Zapier received
    exact: bool  # the last call carried the final rating
    took: float  # seconds from the last reaction's answer to the final state's delivery


async def one_burst(redis_url: str, delay: float, size: int, pattern: str, *, spread: bool) -> Row:
    slack, zapier = FakeSlack(), FakeZapier()
    await slack.start()
    await zapier.start()
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    await client.flushdb()
    try:
        async with aiohttp.ClientSession() as http:
            settings = settings_for(slack, zapier, redis_url)
            async with rating_bot(settings, http, slack, rating_delay_seconds=delay) as bot:
                ran = await run_to_result(bot, slack, client)
                rng = random.Random(size)
                names = [PATTERNS[pattern](i, rng) for i in range(size)]
                ups = sum(1 for name in names if name in {"+1", "heart"})
                sends = [
                    bot.slack.reaction(name, ts=ran.ts, user=f"U{i:04d}") for i, name in enumerate(names)
                ]
                if spread:
                    for send in sends:
                        await send
                        await asyncio.sleep(SPREAD_GAP)
                else:
                    await asyncio.gather(*sends)
                last_answer = time.monotonic()
                key = f"zapbot:execution:{ran.execution_log_id}"

                async def all_counted() -> bool:
                    up, down = await client.hmget(key, ["up", "down"])  # type: ignore[misc]
                    return int(up or 0) + int(down or 0) == size

                counted = await _within(all_counted, 30.0)
                fields = await settled(client, ran.execution_log_id)
                took = time.monotonic() - last_answer
            calls = zapier.of("rate")
            final = (ups > size - ups) - (ups < size - ups)
            return Row(
                counted=counted and (int(fields["up"]), int(fields["down"])) == (ups, size - ups),
                changes=int(fields.get("delivery_version", 0)),
                calls=len(calls),
                exact=bool(calls) and calls[-1].query.get("rating") == str(final),
                took=took,
            )
    finally:
        await client.aclose()
        await slack.stop()
        await zapier.stop()


async def _within(check: Callable[[], Awaitable[bool]], seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not await check():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


async def main() -> int:
    with tempfile.TemporaryDirectory() as directory:
        server = RedisProcess(Path(directory))
        url = server.start()
        try:
            print("delay_s  pattern  sent       N  all_counted  changes  rate_calls  last_exact  final_after")
            for delay in DELAYS:
                for pattern in PATTERNS:
                    for spread in (False, True):
                        for size in SIZES:
                            row = await one_burst(url, delay, size, pattern, spread=spread)
                            sent = f"1/{int(SPREAD_GAP * 1000)}ms" if spread else "at once"
                            print(
                                f"{delay:7.1f}  {pattern:7}  {sent:8} {size:4d}  {row.counted!s:>11}  "
                                f"{row.changes:7d}  {row.calls:10d}  {row.exact!s:>10}  {row.took:10.2f}s"
                            )
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
