"""Talking to replicas started as real `python -m bot` processes (tests/support/bot_process.py)."""

from __future__ import annotations

import aiohttp

from tests.support.bot_process import BotProcess
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons
from tests.support.slack_requests import SlackSender

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'


def replica_env(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str) -> dict[str, str]:
    """The environment of an HTTP-mode replica: the stand-ins and the test Redis."""
    return {
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": fake_slack.api_url,
        "ZAPIER_API_KEY": ZAPIER_KEY,
        "ZAPIER_BASE_URL": fake_zapier.url,
        "REDIS_URL": redis_url,
    }


def sender(bot: BotProcess, http: aiohttp.ClientSession, slack: FakeSlack) -> SlackSender:
    """Signed Slack requests to one replica, as Slack (or a load balancer in front of it) sends them."""
    return SlackSender(http, bot.url + "/slack/events", SIGNING_SECRET, slack.response_url_base)


async def preview_through(to: SlackSender, slack: FakeSlack, text: str = COMMAND) -> tuple[str, str]:
    """Send /zap through one replica; returns the preview id and ts once it is posted."""
    before = len(slack.of("chat.postMessage"))
    response = await to.command(text)
    assert response.status == 200, response.text
    posts = await slack.wait_for("chat.postMessage", before + 1, timeout=10)
    return buttons(posts[before])["zap_cancel"], str(posts[before].answer["ts"])
