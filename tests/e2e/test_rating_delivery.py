"""Ratings reach Zapier durably: retried on timeouts, 429 and 5xx (also across a restart of the bot), given
up on other 4xx, and a burst of reactions coalesced into few calls whose last carries the final state."""

from __future__ import annotations

import asyncio
import logging
import random
import time

import pytest

from tests.support.bot_server import settings_for
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.rating_helpers import World, eventually, execution, rating_bot, react, world

__all__ = ["world"]  # the fixture, imported for pytest

PENDING = "zapbot:ratings:pending"


def _rated(log_id: str) -> dict[str, object]:
    """A 200 answer to a rate call, as the spec describes it."""
    return {
        "execution_log_id": log_id,
        "action_used": "Channel Message",
        "input_params": {},
        "status": "success",
    }


async def test_zapier_failing_with_5xx_then_recovering_gets_the_rating(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """Two 5xx answers are retried with backoff; the third call delivers the rating and the failures are
    recorded and logged on the way."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        world.zapier.script(
            "rate",
            Reply(status=503, json={"error": "Service Unavailable"}, off_spec=True),
            Reply(status=500, json={"error": "Internal Server Error"}, off_spec=True),
        )
        with caplog.at_level(logging.WARNING, logger="bot.ratings"):
            await react(bot, "+1", ts=ran.ts)
            fields = await world.settled(ran.execution_log_id)
    calls = world.zapier.of("rate")
    assert [c.query for c in calls] == [{"rating": "1"}] * 3
    assert fields["delivered_rating"] == "1" and fields["delivery_attempts"] == "0"
    assert await world.redis.zscore(PENDING, ran.execution_log_id) is None
    retries = [r.getMessage() for r in caplog.records if "not delivered" in r.getMessage()]
    assert len(retries) == 2 and "HTTP 503" in retries[0] and "attempt 2" in retries[1]


async def test_a_429_is_retried_no_sooner_than_its_retry_after(world: World) -> None:
    """A 429 with Retry-After: 1 queues the delivery for a second later (not the short backoff), then it
    arrives."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        world.zapier.script(
            "rate",
            Reply(status=429, json={"error": "Slow down"}, headers={"Retry-After": "1"}, off_spec=True),
        )
        reacted_at = time.time()
        await react(bot, "-1", ts=ran.ts)
        await world.zapier.wait_for("rate")

        async def retry_recorded() -> dict[str, str] | None:
            fields = await execution(world.redis, ran.execution_log_id)
            return fields if fields.get("delivery_attempts") == "1" else None

        fields = await eventually(retry_recorded)
        assert "ZapierRateLimited" in fields["delivery_error"] and fields["delivery"] == "pending"
        due = await world.redis.zscore(PENDING, ran.execution_log_id)
        assert due is not None and due >= reacted_at + 1.0
        fields = await world.settled(ran.execution_log_id)
    assert [c.query for c in world.zapier.of("rate")] == [{"rating": "-1"}] * 2


async def test_a_timeout_is_retried_and_the_rating_arrives(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A rate call slower than RATING_TIMEOUT_SECONDS is abandoned and retried; the retry delivers."""
    async with world.bot(rating_timeout_seconds=0.3) as bot:
        ran = await world.run_to_result(bot)
        world.zapier.script("rate", Reply(delay=1.5, json=_rated(ran.execution_log_id)))
        with caplog.at_level(logging.WARNING, logger="bot.ratings"):
            await react(bot, "+1", ts=ran.ts)
            await world.zapier.wait_for("rate", 2)
            fields = await world.settled(ran.execution_log_id)
    assert fields["delivered_rating"] == "1"
    assert any("did not answer in time" in r.getMessage() for r in caplog.records)


async def test_a_4xx_is_recorded_failed_logged_and_not_retried(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """A 400 marks the delivery failed with Zapier's words and logs it; nothing more is sent until the
    rating changes again, and that change is delivered."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        world.zapier.script("rate", Reply(status=400, json={"error": "Execution log is not ratable"}))
        with caplog.at_level(logging.WARNING, logger="bot.ratings"):
            await react(bot, "+1", ts=ran.ts)

            async def failed() -> dict[str, str] | None:
                fields = await execution(world.redis, ran.execution_log_id)
                return fields if fields.get("delivery") == "failed" else None

            fields = await eventually(failed)

            async def not_queued() -> bool:  # nothing pending: the worker has nothing it could retry
                return await world.redis.zscore(PENDING, ran.execution_log_id) is None

            await eventually(not_queued)
        assert len(world.zapier.of("rate")) == 1
        error = fields["delivery_error"]
        assert "Execution log is not ratable" in error and "400" in error
        assert await world.redis.zscore(PENDING, ran.execution_log_id) is None
        logged = [r.getMessage() for r in caplog.records if "refused the rating" in r.getMessage()]
        assert len(logged) == 1 and ran.execution_log_id in logged[0]

        await react(bot, "-1", ts=ran.ts, user="U3")  # a tie: the rating changes to 0
        fields = await world.settled(ran.execution_log_id)
    assert fields["delivered_rating"] == "0"
    assert [c.query for c in world.zapier.of("rate")] == [{"rating": "1"}, {"rating": "0"}]


async def test_a_pending_delivery_survives_a_restart_of_the_bot(world: World) -> None:
    """The bot stops while Zapier keeps failing the rate call; a new bot on the same Redis delivers it."""
    down = FakeZapier()
    await down.start()
    try:
        for _ in range(200):
            down.script("rate", Reply(status=502, json={"error": "Bad Gateway"}, off_spec=True))
        first = settings_for(world.slack, down, world.redis_url)
        async with rating_bot(first, world.http, world.slack) as bot:
            ran = await world.run_to_result(bot)
            await react(bot, "+1", ts=ran.ts)
            await down.wait_for("rate")
        fields = await execution(world.redis, ran.execution_log_id)
        assert fields["delivery"] == "pending" and int(fields["delivery_attempts"]) >= 1
        assert await world.redis.zscore(PENDING, ran.execution_log_id) is not None
        assert world.zapier.requests == []

        second = settings_for(world.slack, world.zapier, world.redis_url)
        async with rating_bot(second, world.http, world.slack):
            [call] = await world.zapier.wait_for("rate")
            fields = await world.settled(ran.execution_log_id)
        assert call.path == f"/api/v2/execute/log/{ran.execution_log_id}/rate/"
        assert call.query == {"rating": "1"} and fields["delivered_rating"] == "1"
    finally:
        await down.stop()
    assert down.violations == []
    assert all(r.query == {"rating": "1"} for r in down.of("rate"))


async def test_a_burst_of_reactions_is_coalesced_and_the_last_call_is_exact(world: World) -> None:
    """40 reactions flipping the rating back and forth (RATING_DELAY_SECONDS=0.5) become a handful of rate
    calls, the last of them with the final rating."""
    async with world.bot(rating_delay_seconds=0.5) as bot:
        ran = await world.run_to_result(bot)
        # Alternating 👍/👎 from 40 people, sent in order: the rating flips between 1 and 0 each time.
        for i in range(40):
            await react(bot, "+1" if i % 2 == 0 else "-1", ts=ran.ts, user=f"U{i:03d}")
        await react(bot, "+1", ts=ran.ts, user="ULAST")
        await world.until(ran.execution_log_id, up="21", down="20", rating="1")
        fields = await world.settled(ran.execution_log_id)
    calls = world.zapier.of("rate")
    changes = int(fields["delivery_version"])  # how many times the rating changed during the burst
    assert len(calls) <= 8 and len(calls) < changes, (len(calls), changes)
    assert calls[-1].query == {"rating": "1"}


async def test_a_change_while_a_rate_call_is_in_flight_is_sent_after_it(world: World) -> None:
    """A vote that lands while Zapier is still answering the previous rate call is not lost: once that call
    returns, the newer rating is sent too."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        world.zapier.script("rate", Reply(delay=0.5, json=_rated(ran.execution_log_id)))
        await react(bot, "+1", ts=ran.ts, user="U2")
        await world.zapier.wait_for("rate")  # answered only in 0.5 s
        await react(bot, "-1", ts=ran.ts, user="U3")
        await react(bot, "-1", ts=ran.ts, user="U4")
        await world.until(ran.execution_log_id, rating="-1")
        fields = await world.settled(ran.execution_log_id)
    assert fields["delivered_rating"] == "-1"
    assert [c.query for c in world.zapier.of("rate")] == [{"rating": "1"}, {"rating": "-1"}]


async def test_the_bot_stops_while_its_background_loops_are_mid_redis_call(world: World) -> None:
    """Stopping the bot while the delivery worker and the expiry sweeper hammer Redis always finishes:
    redis-py may turn a cancellation into a ConnectionError, so the loops also stop on a flag."""
    rng = random.Random(7)

    async def start_and_stop() -> None:
        async with rating_bot(
            world.settings, world.http, world.slack, expiry_interval=0, rating_poll_interval=0
        ):
            await asyncio.sleep(rng.random() * 0.05)

    for _ in range(40):
        task = asyncio.create_task(start_and_stop())
        done, _ = await asyncio.wait({task}, timeout=15)
        assert done, "the bot did not stop"
        task.result()
