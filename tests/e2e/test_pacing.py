"""Delivery paced to Slack's limits: many previews and results into ONE channel go out at Slack's pace
(about one a second per channel, short bursts), waiting their turn in Redis instead of colliding on 429s,
and every one of them arrives. The Slack stand-in enforces the per-channel limit (10 times faster here,
and the bot told the same pace, so that the test takes seconds)."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons

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
