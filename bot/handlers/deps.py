"""What the Slack handlers need, built once by the composition root and passed in."""

from __future__ import annotations

from dataclasses import dataclass

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.service import ZapService
from bot.store import Store
from bot.tasks import BackgroundTasks


@dataclass
class Deps:
    service: ZapService
    store: Store
    slack: AsyncWebClient  # the bot token's client, shared by all background work
    slack_http: aiohttp.ClientSession  # also carries posts to response_urls
    tasks: BackgroundTasks
