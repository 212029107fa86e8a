"""Delivery paced to Slack's limits: many previews and results into ONE channel go out at Slack's pace
(about one a second per channel, short bursts), waiting their turn in Redis instead of colliding on 429s,
and every one of them arrives. The Slack stand-in enforces the per-channel limit (10 times faster here,
and the bot told the same pace, so that the test takes seconds). A preview that cannot be posted before it
expires is reported to its requester; the expiry sweeper queues its updates instead of sleeping on 429s."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes.slack_rates import Rate
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons, command_to_preview, text_of

COMMAND = "SlackAPI channel_message Say hi"
PEOPLE = 20


@pytest.mark.realistic_slack
async def test_a_burst_into_one_channel_is_paced_and_nothing_is_lost(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """20 people send /zap in one channel at once, then 20 others confirm: 20 previews and 20 results are
    posted, in their threads, at Slack's pace (at most a stray 429, where unpaced sends meet dozens)."""
    fake_slack.limits = fake_slack.limits.scaled(10)  # 10 posts a second per channel, bursts of 3
    settings = bot_settings.model_copy(
        update={"slack_channel_posts_per_second": 10.0, "limit_channel_per_minute": 100}
    )
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        acks = await asyncio.gather(*(bot.slack.command(COMMAND, user=f"U{n:03d}") for n in range(PEOPLE)))
        assert all(a.status == 200 for a in acks)
        previews = await fake_slack.wait_for_accepted("chat.postMessage", PEOPLE, timeout=30)
        assert {p.args["channel"] for p in previews} == {"C1"}
        clicks = [
            bot.slack.block_action(
                "zap_confirm", buttons(p)["zap_confirm"], user=f"U9{n:02d}", message_ts=p.answer["ts"]
            )
            for n, p in enumerate(previews)
        ]
        await asyncio.gather(*clicks)
        await fake_zapier.wait_for("execute", PEOPLE, timeout=30)
        told = [p.json.get("text") for p in fake_slack.response_posts]
        assert not told, told
        posts = await fake_slack.wait_for_accepted("chat.postMessage", 2 * PEOPLE, timeout=30)
        results = [p for p in posts if p.args.get("thread_ts")]
        assert {p.args["thread_ts"] for p in results} == {str(p.answer["ts"]) for p in previews}
        # Paced, not retried in a herd: 40 posts at Slack's pace meet at most a stray 429 (a post taken in its
        # turn here can reach Slack a few ms early), which is then waited out and delivered.
        refused = [r for r in fake_slack.rate_limited if r.method == "chat.postMessage"]
        assert len(refused) <= 2, refused
        assert len(fake_zapier.of("execute")) == PEOPLE


async def test_a_preview_whose_turn_comes_after_it_expires_is_not_posted_and_the_requester_is_told(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """The channel takes one post every 10 s here and previews live 2 s: the second person's preview
    could only be posted after it expired. It is not posted (nobody could confirm it); its requester hears
    why, at once, and that nothing was run."""
    settings = bot_settings.model_copy(
        update={
            "slack_channel_posts_per_second": 0.1,
            "slack_channel_post_burst": 1,
            "preview_ttl_seconds": 2,
        }
    )
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        await bot.slack.command(COMMAND, user="U1")
        await fake_slack.wait_for_accepted("chat.postMessage", 1)
        await bot.slack.command(COMMAND, user="U2")
        [told] = await fake_slack.wait_for_response_posts(1)
        said = text_of(told.json)
        assert "could not be posted before it expired" in said and "Nothing was run" in said
        assert len(fake_slack.of("chat.postMessage")) == 1
        assert fake_zapier.of("execute") == []


async def test_a_rate_limit_longer_than_the_preview_lives_is_reported_not_slept_through(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """Slack answers the preview's post 429 with Retry-After 5 s; the preview lives 2 s. Waiting would post
    a preview that had already expired: the requester is told at once instead, and nothing is posted."""
    settings = bot_settings.model_copy(update={"preview_ttl_seconds": 2})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        fake_slack.rate_limit("chat.postMessage", retry_after=5)
        await bot.slack.command(COMMAND, user="U1")
        [told] = await fake_slack.wait_for_response_posts(1, timeout=2.0)
        assert "could not be posted before it expired" in text_of(told.json)
        assert fake_slack.accepted("chat.postMessage") == []
        assert fake_zapier.of("execute") == []


async def test_the_expiry_sweeper_queues_its_updates_and_never_waits_on_slacks_limit(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """4 previews expire together while chat.update (a workspace-wide tier) takes 1 at once, then 5 a
    second. The sweeper marks every one expired in Redis at once and queues the updates: it does not
    sleep on Slack's Retry-After. The outbox then sends them at Slack's pace, waiting out each 429, until
    every preview says "Expired"."""
    fake_slack.limits.methods["chat.update"] = Rate(per_second=5.0, burst=1)
    fake_slack.rate_limit("chat.update", retry_after=1)  # a 429 met, however slow the machine
    settings = bot_settings.model_copy(update={"preview_ttl_seconds": 1})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        previews = [  # a person and a channel each: the previews' posts are not what is paced here
            await command_to_preview(bot, fake_slack, COMMAND, user=f"U{n + 100}", channel=f"C{n + 100}")
            for n in range(4)
        ]

        async def expired_in_redis() -> int:
            states = [await redis_client.hget(f"zapbot:preview:{p.preview_id}", "state") for p in previews]
            return states.count("expired")

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5.0
        while await expired_in_redis() < len(previews):  # a condition, polled
            assert loop.time() < deadline, "the sweeper did not expire them all"
            await asyncio.sleep(0.02)
        assert len(fake_slack.accepted("chat.update")) < len(previews)  # Slack's pace, not the sweeper's
        updates = await fake_slack.wait_for_accepted("chat.update", len(previews), timeout=10)
        assert {u.args["ts"] for u in updates} == {p.ts for p in previews}
        assert all("Expired" in text_of(u) for u in updates)
        assert [c for c in fake_slack.of("chat.update") if c.status == 429]
        assert fake_zapier.of("execute") == []
