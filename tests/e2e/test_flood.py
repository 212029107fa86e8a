"""One person cannot flood a channel: a per-person and a per-channel allowance of previews and runs, kept
in Redis so that every replica shares it, on by default."""

from __future__ import annotations

import asyncio

import aiohttp

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import text_of

COMMAND = "SlackAPI channel_message Say hi"


async def test_one_persons_burst_is_told_to_slow_down_and_others_are_served(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """With the defaults (10 a minute per person), 14 commands from one person at once: 10 previews, and
    4 answers saying when to try again, with nothing asked of Zapier for them; a moment later another
    person's command is previewed as usual. Every command is acked at once. (Each command in a channel of
    its own: this is about the person's allowance, not Slack's pace in one channel, test_pacing.py.)"""
    assert bot_settings.limit_person_per_minute == 10  # the default is on
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as bot:
        acks = await asyncio.gather(
            *(bot.slack.command(COMMAND, user="U1", channel=f"C{n}") for n in range(14))
        )
        assert all(a.status == 200 and "Asking Zapier" in a.text for a in acks)
        told = await fake_slack.wait_for_response_posts(4, timeout=10)
        assert all("faster than this workspace allows" in text_of(t.json) for t in told)
        assert all("try again in" in text_of(t.json) for t in told)
        await fake_slack.wait_for("chat.postMessage", 10, timeout=10)
        assert len(fake_zapier.of("preview")) == 10
        await bot.slack.command(COMMAND, user="U2")
        posts = await fake_slack.wait_for("chat.postMessage", 11, timeout=10)
        assert "U2" in text_of(posts[-1])
        assert len(fake_zapier.of("preview")) == 11


async def test_the_limits_are_shared_by_replicas_and_can_be_turned_off(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """Two bots on one Redis share one person's allowance (3 a minute here): 2 + 2 commands through two
    replicas give 3 previews. With the limits at 0, nobody is held back. (Every command in a channel of its
    own: Slack's pace in one channel is test_pacing.py's subject, not this one's.)"""
    tight = bot_settings.model_copy(update={"limit_person_per_minute": 3})
    async with (
        running_bot(tight, http_session, fake_slack.response_url_base) as a,
        running_bot(tight, http_session, fake_slack.response_url_base) as b,
    ):
        for n, to in enumerate((a, b, a, b)):
            await to.slack.command(COMMAND, user="U1", channel=f"C{n}")
        [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
        assert "try again in" in text_of(told.json)
        await fake_slack.wait_for("chat.postMessage", 3, timeout=10)
        assert len(fake_zapier.of("preview")) == 3
    off = bot_settings.model_copy(update={"limit_person_per_minute": 0, "limit_channel_per_minute": 0})
    async with running_bot(off, http_session, fake_slack.response_url_base) as bot:
        channels = [f"C1{n:02d}" for n in range(12)]
        await asyncio.gather(*(bot.slack.command(COMMAND, user="U1", channel=c) for c in channels))
        await fake_slack.wait_for("chat.postMessage", 3 + 12, timeout=10)
        assert len(fake_zapier.of("preview")) == 3 + 12
