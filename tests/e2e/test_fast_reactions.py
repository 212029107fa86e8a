"""Reaction events counted before Bolt's chain (bot/slack/fast_events.py), and the one Lua script behind
both paths (bot/ratings/store.py): the same answers and counts as Bolt, the same refusals, each event once.

A bot's reactions take the fast path once Bolt has answered one with 200 (its authorization then passed):
`warm_up` sends a reaction that does not count. A freshly started bot's first reaction goes through Bolt,
which is how these tests get Bolt's own answers to compare with.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import redis.asyncio

from bot.approvals.audit import AuditEntry
from bot.settings import FAST_PATHS
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import BOT_ID
from tests.support.metrics import scrape, value
from tests.support.policy_helpers import told_at
from tests.support.rating_helpers import World, rating_bot, react, run_to_result, world
from tests.support.redis_process import RedisProcess
from tests.support.redis_reads import stream_entries
from tests.support.slack_requests import BOT_USER_ID, SentResponse

__all__ = ["world"]  # the fixture, imported for pytest

FAST = "bot.slack.fast_events"
# The fast path is what these tests are about; a test that compares it with plain Bolt switches per bot.
pytestmark = pytest.mark.fast_paths("on")
TEXT = "text/plain"  # what Bolt's aiohttp adapter makes of a BoltResponse with no body
SLOW = 60  # RATING_DELAY_SECONDS: no delivery to Zapier changes the state a test compares

# (user, emoji, added, event_ts): a change, a same vote, a stale removal (older than its add), a
# non-counting emoji. The rating goes +1, 0, -1 and back to 0.
SEQUENCE = [
    ("U2", "+1", True, "1700000100.000100"),
    ("U3", "-1", True, "1700000100.000200"),
    ("U2", "heart", True, "1700000100.000300"),
    ("U4", "x", True, "1700000100.000500"),
    ("U4", "x", False, "1700000100.000400"),
    ("U2", "+1", False, "1700000100.000600"),
    ("U3", "-1", False, "1700000100.000700"),
    ("U5", "eyes", True, "1700000100.000800"),
]


def reaction(name: str, *, ts: str, event_ts: str, user: str = "U2", added: bool = True, **extra: Any) -> Any:
    """A `reaction_added` (or `reaction_removed`) event on message `ts` in C1, as Slack sends it."""
    return {
        "type": "reaction_added" if added else "reaction_removed",
        "user": user,
        "reaction": name,
        "item_user": BOT_USER_ID,
        "item": {"type": "message", "channel": "C1", "ts": ts},
        "event_ts": event_ts,
        **extra,
    }


@pytest.fixture(params=["on", "off"])
def fast(request: pytest.FixtureRequest) -> bool:
    """ZAPBOT_FAST_PATHS: on, then off (plain Bolt): the behaviour a test proves holds both ways."""
    return bool(request.param == "on")


def switch(fast: bool) -> dict[str, frozenset[str]]:
    """The settings override for ZAPBOT_FAST_PATHS on or off."""
    return {"zapbot_fast_paths": FAST_PATHS if fast else frozenset()}


def fast_counts(caplog: pytest.LogCaptureFixture) -> int:
    """How many reactions the fast path has answered (its debug line; needs DEBUG on FAST)."""
    return sum(r.name == FAST and "in front of Bolt" in r.getMessage() for r in caplog.records)


def answer_of(response: SentResponse) -> tuple[int, str, dict[str, str]]:
    """The HTTP answer as Slack gets it: status, body and every header but the date."""
    return response.status, response.text, {k: v for k, v in response.headers.items() if k != "date"}


async def warm_up(bot: RunningBot, ts: str) -> SentResponse:
    """👀 (not a rating) through Bolt: from then on this bot's reactions take the fast path."""
    response = await bot.slack.reaction("eyes", ts=ts, user="UWARM")
    assert response.status == 200
    return response


async def rated_entries(client: redis.asyncio.Redis, execution_log_id: str) -> list[dict[str, str]]:
    """The `rated` audit entries of one execution, oldest first."""
    return [
        fields
        for _, fields in await stream_entries(client, "zapbot:audit")
        if fields["step"] == "rated" and fields["execution_log_id"] == execution_log_id
    ]


async def rating_state(client: redis.asyncio.Redis, execution_log_id: str) -> dict[str, Any]:
    """Everything a reaction changes for one execution, without what names the execution or the time."""
    key = f"zapbot:execution:{execution_log_id}"
    fields = await client.hgetall(key)
    entries = await rated_entries(client, execution_log_id)
    return {
        "execution": {k: fields.get(k) for k in ("rating", "up", "down", "delivery", "delivery_version")},
        "votes": await client.hgetall(f"{key}:votes"),
        "reactions": await client.hgetall(f"{key}:reactions"),
        "queued": await client.zscore("zapbot:ratings:pending", execution_log_id) is not None,
        "audit": [[(k, v) for k, v in e.items() if k not in ("at", "execution_log_id")] for e in entries],
    }


async def test_the_fast_path_answers_and_counts_exactly_as_bolt_does(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    """The same eight reactions on two results: on one each is a fresh bot's first (through Bolt), on the
    other they take the fast path. Every answer is the same to the byte (but the date), and Redis holds the
    same votes, reactions, rating, queued delivery and audit entries for both; the metrics count them."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    async with world.bot(rating_delay_seconds=SLOW) as bot:
        bolts = await world.run_to_result(bot)
        fasts = await world.run_to_result(bot)
        through_bolt = []
        for n, (user, name, added, event_ts) in enumerate(SEQUENCE):
            async with world.bot(rating_delay_seconds=SLOW) as fresh:
                event = reaction(name, ts=bolts.ts, user=user, added=added, event_ts=event_ts)
                through_bolt.append(await fresh.slack.event(event, event_id=f"EvBOLT{n}"))
        assert fast_counts(caplog) == 0

        await warm_up(bot, fasts.ts)
        fast = []
        for n, (user, name, added, event_ts) in enumerate(SEQUENCE):
            event = reaction(name, ts=fasts.ts, user=user, added=added, event_ts=event_ts)
            fast.append(await bot.slack.event(event, event_id=f"EvFAST{n}"))
        assert fast_counts(caplog) == len(SEQUENCE)
        samples = await scrape(bot)

    assert [answer_of(r) for r in fast] == [answer_of(r) for r in through_bolt]
    assert {(r.status, r.text) for r in fast} == {(200, "")}
    state = await rating_state(world.redis, fasts.execution_log_id)
    assert state == await rating_state(world.redis, bolts.execution_log_id)
    assert state["execution"] == {
        "rating": "0",
        "up": "1",
        "down": "1",
        "delivery": "pending",
        "delivery_version": "4",
    }
    assert state["votes"] == {"U2": "1", "U4": "-1"} and state["queued"]
    details = [dict(entry)["detail"] for entry in state["audit"]]
    assert details == ["+:+1: -> rating +1", "+:-1: -> rating +0", "+:x: -> rating -1", "-:-1: -> rating +0"]
    assert value(samples, "zapbot_ratings_total", vote="up", change="added") == 1
    assert value(samples, "zapbot_ratings_total", vote="down", change="added") == 2
    assert value(samples, "zapbot_ratings_total", vote="down", change="removed") == 1


async def test_a_forged_or_stale_reaction_gets_bolts_401_and_counts_nothing(
    world: World, caplog: pytest.LogCaptureFixture, fast: bool
) -> None:
    """A reaction with a forged signature or an old timestamp is refused
    (401) and changes nothing; the same reaction correctly signed is counted, on the fast path."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    async with world.bot(**switch(fast)) as bot:
        ran = await world.run_to_result(bot)
        await warm_up(bot, ran.ts)
        event = reaction("+1", ts=ran.ts, event_ts="1700000200.000100")

        forged = await bot.slack.event(event, signature="v0=" + "0" * 64)
        stale = await bot.slack.event(event, timestamp=int(time.time()) - 600)

        assert (forged.status, stale.status) == (401, 401)
        assert forged.json() == stale.json() == {"error": "invalid request"}
        assert fast_counts(caplog) == 0
        assert not await world.redis.exists(f"zapbot:execution:{ran.execution_log_id}:reactions")
        assert await rated_entries(world.redis, ran.execution_log_id) == []

        assert (await bot.slack.event(event)).status == 200
        assert fast_counts(caplog) == int(fast)
        await world.until(ran.execution_log_id, up="1", rating="1")


async def test_the_bots_own_reactions_are_ignored_as_bolt_ignores_them(
    world: World, caplog: pytest.LogCaptureFixture, fast: bool
) -> None:
    """A reaction by the bot's user (UBOT, from auth.test) or carrying its bot ID
    gets Bolt's plain ack and counts nothing, as Bolt's IgnoringSelfEvents does; the same reaction by a
    person is counted."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    async with world.bot(**switch(fast)) as bot:
        ran = await world.run_to_result(bot)
        acked = await warm_up(bot, ran.ts)

        by_user = await bot.slack.event(reaction("+1", ts=ran.ts, user=BOT_USER_ID, event_ts="1700000300.1"))
        by_bot = await bot.slack.event(
            reaction("-1", ts=ran.ts, user="U7", event_ts="1700000300.2", bot_id=BOT_ID)
        )

        assert answer_of(by_user) == answer_of(by_bot) == answer_of(acked)
        assert fast_counts(caplog) == 0
        assert not await world.redis.exists(f"zapbot:execution:{ran.execution_log_id}:reactions")
        assert await rated_entries(world.redis, ran.execution_log_id) == []

        await bot.slack.event(reaction("+1", ts=ran.ts, user="U2", event_ts="1700000300.3"))
        assert fast_counts(caplog) == int(fast)
        await world.until(ran.execution_log_id, up="1", rating="1")
        votes = await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes")
        assert votes == {"U2": "1"}


async def test_a_redelivered_reaction_is_handled_once_on_the_fast_path(
    world: World, caplog: pytest.LogCaptureFixture, fast: bool
) -> None:
    """Slack re-sending an event (same event_id) is answered 200 and returns before the vote: one vote,
    one audit entry, and the event's key kept for an hour."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    caplog.set_level(logging.DEBUG, logger="bot.slack.listeners.reactions")
    async with world.bot(**switch(fast)) as bot:
        ran = await world.run_to_result(bot)
        await warm_up(bot, ran.ts)
        event = reaction("+1", ts=ran.ts, event_ts="1700000400.000100")

        sent = [await bot.slack.event(event, event_id="EvONCE")]
        for n in (1, 2):
            sent.append(
                await bot.slack.event(event, event_id="EvONCE", retry_num=n, retry_reason="http_timeout")
            )

        assert [r.status for r in sent] == [200, 200, 200]
        assert fast_counts(caplog) == 3 * int(fast)
        ignored = [r for r in caplog.records if "ignored a re-delivery of event EvONCE" in r.getMessage()]
        assert len(ignored) == 2
        fields = await world.fields(ran.execution_log_id)
        assert (fields["rating"], fields["up"], fields["delivery_version"]) == ("1", "1", "1")
        assert len(await rated_entries(world.redis, ran.execution_log_id)) == 1
        assert 3500 < await world.redis.ttl("zapbot:event:EvONCE") <= 3600


@asynccontextmanager
async def broken(client: redis.asyncio.Redis, failure: str, execution_log_id: str) -> AsyncIterator[None]:
    """Redis refusing the vote script: out of memory (it refuses writes, still answers reads), or the script
    failing on a key of the wrong type before it has written anything."""
    reactions = f"zapbot:execution:{execution_log_id}:reactions"
    if failure == "out of memory":
        await client.config_set("maxmemory-policy", "noeviction")
        await client.config_set("maxmemory", 1)
    else:
        await client.set(reactions, "not a hash")
    try:
        yield
    finally:
        if failure == "out of memory":
            await client.config_set("maxmemory", 0)
        else:
            await client.delete(reactions)


@pytest.mark.parametrize("failure", ["out of memory", "wrong type"])
@pytest.mark.parametrize("path", ["bolt", "fast"])
async def test_a_failed_count_answers_500_and_slacks_redelivery_counts(
    world: World, tmp_path: Path, caplog: pytest.LogCaptureFixture, path: str, failure: str
) -> None:
    """When the vote script fails, Slack gets a plain 500 (through Bolt or the fast path alike), the event
    is not marked handled, and Slack's re-delivery of it counts the vote, once."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    server = RedisProcess(tmp_path / "redis")  # its own Redis: the test changes its memory limit
    url = server.start()
    client = redis.asyncio.Redis.from_url(url, decode_responses=True)
    try:
        settings = world.settings.model_copy(update={"redis_url": url})
        async with rating_bot(settings, world.http, world.slack, rating_delay_seconds=SLOW) as bot:
            ran = await run_to_result(bot, world.slack, client)
            if path == "fast":
                await warm_up(bot, ran.ts)
            event = reaction("+1", ts=ran.ts, event_ts="1700000500.000100")

            async with broken(client, failure, ran.execution_log_id):
                refused = await bot.slack.event(event, event_id="EvFAIL")

            status, text, headers = answer_of(refused)  # the same for both paths
            assert (status, text, headers["content-type"], headers["content-length"]) == (500, "", TEXT, "0")
            errors = [r for r in caplog.records if "unhandled error in a Slack handler" in r.getMessage()]
            assert [r.name for r in errors] == ["bot.slack.fast_ack" if path == "fast" else "bot.slack.app"]
            assert not await client.exists("zapbot:event:EvFAIL")

            again = await bot.slack.event(event, event_id="EvFAIL", retry_num=1, retry_reason="http_error")

            assert again.status == 200
            assert fast_counts(caplog) == (1 if path == "fast" else 0)
            fields = await client.hgetall(f"zapbot:execution:{ran.execution_log_id}")
            assert (fields["rating"], fields["up"]) == ("1", "1")
            assert len(await rated_entries(client, ran.execution_log_id)) == 1
            assert await client.exists("zapbot:event:EvFAIL")
    finally:
        await client.aclose()
        server.stop()


async def test_zap_audit_shows_the_rated_steps_the_script_writes(world: World) -> None:
    """The `rated` entries the vote script appends have the fields of any other step, in the same order
    (an `Audit.append` entry: `executed`), and `/zap audit` shows them: who, the execution, the detail."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        await warm_up(bot, ran.ts)
        started = time.time()
        await react(bot, "+1", ts=ran.ts, user="U2")
        await react(bot, "+1", ts=ran.ts, user="U2", added=False)

        entries = [fields for _, fields in await stream_entries(world.redis, "zapbot:audit")]
        [executed] = [e for e in entries if e["step"] == "executed"]
        rated = await rated_entries(world.redis, ran.execution_log_id)
        assert [list(e) for e in rated] == [list(executed)] * 2
        for entry, detail in zip(rated, ["+:+1: -> rating +1", "-:+1: -> rating +0"], strict=True):
            assert {k: v for k, v in entry.items() if k != "at"} == {
                "step": "rated",
                "who": "U2",
                "team": "",
                "channel": "C1",
                "app": "",
                "action": "",
                "execution_log_id": ran.execution_log_id,
                "preview_id": "",
                "detail": detail,
            }
            assert started - 1 <= AuditEntry.from_fields("0-0", entry).at <= time.time()

        response = await bot.slack.command("audit 2", response_url=world.slack.response_url("audit"))
        assert response.status == 200
        shown = await told_at(world.slack, "audit")
        assert "the last 2 steps" in shown
        lines = [line for line in shown.split("\\n") if "*rated*" in line]
        assert len(lines) == 2
        assert all("<@U2>" in line and f"`{ran.execution_log_id}`" in line for line in lines)
        assert "+:+1: -&gt; rating +1" in lines[0] and "-:+1: -&gt; rating +0" in lines[1]
