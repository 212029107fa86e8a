"""What a killed process was sending is taken over by another replica as soon as its heartbeat lapses,
not when its claim would end (20 s): a real `kill -9` of a `python -m bot` process in the middle of a
Slack call, and the other replica finishing the delivery without posting the result twice."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import redis.asyncio

from bot.runs.delivery import HOLD_SECONDS
from bot.runs.outbox import Item, Outbox
from bot.store import Store
from tests.support.bot_process import bot_processes
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.rating_helpers import eventually
from tests.support.replicas import preview_through, sender

LEASE = 1.0  # OUTBOX_LEASE_SECONDS here: the dead process is known within about a second


async def _held_post(client: redis.asyncio.Redis) -> dict[str, str]:
    """The outbox's post item (the result) as Redis holds it, with its `holder` (host:pid:token)."""
    for key in await client.keys("zapbot:outbox:item:*"):
        item = await client.hgetall(key)
        if item.get("kind") == "post" and item.get("holder"):
            return {str(k): str(v) for k, v in item.items()}
    return {}


async def test_a_result_held_by_a_killed_process_is_delivered_by_another_within_the_lease(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """The result's chat.postMessage reaches Slack (stored in the thread) but its answer never comes, and
    the process sending it is killed with SIGKILL. The item stays claimed by a process that is gone; the
    other replica takes it over once the dead one's heartbeat lapses (well before the claim's 20 s),
    finds the post in the thread by its marker, and does not post it again: one result, outbox empty."""
    async with bot_processes(
        {**env, "OUTBOX_LEASE_SECONDS": str(LEASE)}, [tmp_path / "a", tmp_path / "b"], http_session
    ) as bots:
        to_a = sender(bots[0], http_session, fake_slack)
        preview_id, ts = await preview_through(to_a, fake_slack)
        fake_slack.lose_answer("chat.postMessage", how="stall", stall=60.0)  # the result: in, no answer
        await to_a.block_action("zap_confirm", preview_id, message_ts=ts, user="U2")
        await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        held = await _held_post(redis_client)
        holder_pid = int(held["holder"].split(":")[1])
        [dying] = [b for b in bots if b.process.pid == holder_pid]
        [other] = [b for b in bots if b is not dying]

        dying.process.kill()
        await dying.process.wait()
        killed_at = time.monotonic()
        await fake_slack.wait_for_accepted("conversations.replies", 1, timeout=HOLD_SECONDS / 2)
        took = time.monotonic() - killed_at

        await wait_until(lambda: [1] if _preview_closed(fake_slack, ts) else [], 1, 5.0, lambda: "still open")

        async def outbox_empty() -> bool:  # the update's done step lands just after Slack took the update
            return await redis_client.zcard("zapbot:outbox") == 0

        await eventually(outbox_empty, timeout=5.0)
        assert took < HOLD_SECONDS / 2, took  # the heartbeat, not the claim's deadline
        replies = [m for m in fake_slack.thread("C1", ts) if m.is_reply]
        assert len(replies) == 1 and "success" in replies[0].text
        assert len(fake_slack.of("chat.postMessage")) == 2  # the preview, and the result once
        assert other.running
        assert len(fake_zapier.of("execute")) == 1


def _preview_closed(slack: FakeSlack, ts: str) -> bool:
    """The preview is closed: its last update no longer says it is running."""
    updates = [c for c in slack.accepted("chat.update") if c.args.get("ts") == ts]
    return bool(updates) and "running" not in str(updates[-1].args.get("blocks"))


async def test_claims_of_a_lapsed_holder_are_taken_over_and_only_theirs(redis_url: str) -> None:
    """The outbox's rules in Redis, with two workers and no processes: what a holder whose heartbeat
    lapsed held becomes due at the next claim of another (a post marked maybe_posted, an update not);
    a live holder's claims stay its own; a worker never takes over its own; `leave` hands over at once."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        outbox = Outbox(Store(client), lease_seconds=0.5)
        await outbox.put(
            Item("post", {"text": "result"}, channel="C1", thread_ts="1.1"),
            Item("update", {"text": "closed"}, channel="C1", ts="1.1", key="preview:p1"),
        )
        await outbox.beat("a")
        await outbox.beat("b")
        held = await outbox.claim(limit=10, hold_seconds=20, holder="a")
        assert {i.kind for i in held} == {"post", "update"}
        assert await outbox.claim(limit=10, hold_seconds=20, holder="b") == []  # a is alive
        await client.zadd("zapbot:outbox:holders", {"a": 1.0})  # a's heartbeat lapsed long ago
        assert await outbox.claim(limit=10, hold_seconds=20, holder="a") == []  # not its own
        taken = await outbox.claim(limit=10, hold_seconds=20, holder="b")
        assert {i.kind: i.maybe_posted for i in taken} == {"post": True, "update": False}
        await outbox.leave("b")
        again = await outbox.claim(limit=10, hold_seconds=20, holder="c")
        assert len(again) == 2
        for item in again:
            await outbox.done(item)
        assert await outbox.pending() == 0
        assert await client.smembers("zapbot:outbox:held:c") == set()
    finally:
        await client.aclose()
