"""Starting the real bot in-process, exactly as `python -m bot` builds it, on 127.0.0.1 port 0."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp import web

from bot.runtime import build_app
from bot.settings import Settings
from tests.support import fast_paths
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.slack_requests import SlackSender
from tests.support.stopping import stopped_within

TEST_DRAIN_SECONDS = 3.0
# The whole of a test bot's shutdown (its drain, the outbox's flush, the rating worker's grace, every close
# bounded: bot/ops/stopping.py) ends well within this; past it the teardown fails with what still runs.
TEARDOWN_SECONDS = 45.0

SIGNING_SECRET = "test-signing-secret"
BOT_TOKEN = "xoxb-test-token"
ZAPIER_KEY = "test-zapier-key"


def settings_for(slack: FakeSlack, zapier: FakeZapier, redis_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "slack_bot_token": BOT_TOKEN,
        "slack_signing_secret": SIGNING_SECRET,
        "slack_api_url": slack.api_url,
        "zapier_api_key": ZAPIER_KEY,
        "zapier_base_url": zapier.url,
        "redis_url": redis_url,
        "preview_ttl_seconds": 900,
        "host": "127.0.0.1",
        "port": 0,
        "zapbot_fast_paths": fast_paths.current,  # this test's way (tests/support/fast_paths.py)
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)


PUBLIC_URL = "https://zapbot.example.com"  # the bot's public base URL when per-user accounts are on


def settings_with_accounts(
    slack: FakeSlack,
    zapier: FakeZapier,
    oauth: FakeZapierOAuth,
    redis_url: str,
    *,
    key: str,
    **overrides: Any,
) -> Settings:
    """`settings_for`, with per-user Zapier accounts on: the OAuth stand-in's client, `key` encrypting."""
    return settings_for(
        slack,
        zapier,
        redis_url,
        zapier_oauth_client_id=oauth.client_id,
        zapier_oauth_client_secret=oauth.client_secret,
        public_url=PUBLIC_URL,
        token_encryption_key=key,
        **overrides,
    )


@dataclass
class RunningBot:
    url: str
    slack: SlackSender
    settings: Settings


@asynccontextmanager
async def running_bot(
    settings: Settings, http: aiohttp.ClientSession, response_url_base: str, **build: Any
) -> AsyncIterator[RunningBot]:
    build.setdefault("expiry_interval", 0.1)
    build.setdefault("zapier_retry_backoff", 0.01)
    # The drain at shutdown waits for work in flight up to Zapier's timeout by default (90 s): longer than
    # pytest's timeout, for a preview still waiting its turn in a channel when a test ends. A test bot
    # drains for TEST_DRAIN_SECONDS unless its test asks for more.
    build.setdefault("drain_seconds", TEST_DRAIN_SECONDS)
    runner = web.AppRunner(await build_app(settings, **build), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    url = f"http://127.0.0.1:{port}"
    try:
        yield RunningBot(
            url, SlackSender(http, url + "/slack/events", SIGNING_SECRET, response_url_base), settings
        )
    finally:
        await stopped_within("the bot", runner.cleanup(), TEARDOWN_SECONDS)
