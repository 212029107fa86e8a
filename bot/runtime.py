"""Building the running service from Settings: every client once, closed in reverse on shutdown."""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from redis.asyncio import BlockingConnectionPool, Redis

from bot.app import create_bolt_app, create_web_app, slack_client
from bot.errors import BotError
from bot.give_way import GiveWay
from bot.handlers.deps import Deps
from bot.service import ZapService
from bot.settings import Settings
from bot.store import Store
from bot.tasks import BackgroundTasks
from bot.zapier.client import ZapierClient, new_http_client

log = logging.getLogger(__name__)

REDIS_MAX_CONNECTIONS = 100  # redis-py's default
REDIS_POOL_WAIT_SECONDS = 5.0  # then the command fails as if Redis did not answer


def redacted(url: str) -> str:
    """A URL fit for a log line: no user name or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def redis_client(url: str) -> Redis:
    """The process's one Redis client; `aclose()` closes its pool.

    A pool that waits for a free connection: redis-py's default pool refuses the 101st concurrent command
    (MaxConnectionsError), and under a burst of commands the benchmark (bench/) saw previews fail so.
    """
    pool = BlockingConnectionPool.from_url(
        url,
        max_connections=REDIS_MAX_CONNECTIONS,
        timeout=REDIS_POOL_WAIT_SECONDS,
        decode_responses=True,
        socket_connect_timeout=2,
        socket_timeout=5,
        health_check_interval=15,
    )
    return Redis.from_pool(pool)


async def build_app(
    settings: Settings, *, expiry_interval: float = 5.0, zapier_retry_backoff: float = 0.5
) -> web.Application:
    """The whole bot as an aiohttp application; its cleanup closes Redis, httpx and aiohttp clients."""
    redis = redis_client(settings.redis_url)
    give_way = GiveWay()  # background work waits for the acks of a burst (bot/give_way.py)
    zapier_http = new_http_client(settings.zapier_timeout_seconds, after_response=give_way.turn)
    slack_http = aiohttp.ClientSession()
    store = Store(redis)
    zapier = ZapierClient(
        zapier_http,
        api_key=settings.zapier_api_key,
        base_url=settings.zapier_base_url,
        provider_id=settings.zapier_provider_id,
        backoff=zapier_retry_backoff,
    )
    deps = Deps(
        service=ZapService(zapier, store, preview_ttl=settings.preview_ttl_seconds),
        store=store,
        slack=slack_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, slack_http),
        slack_http=slack_http,
        tasks=BackgroundTasks(give_way=give_way),
    )
    signing_secret = settings.slack_signing_secret.get_secret_value()
    bolt = create_bolt_app(deps, signing_secret=signing_secret)
    web_app = create_web_app(bolt, deps, expiry_interval=expiry_interval, signing_secret=signing_secret)

    async def check_redis(_: web.Application) -> None:
        try:
            await store.ping()
        except BotError:
            log.warning(
                "Could not connect to Redis at %s. Is it running? /healthz answers 503 until it does.",
                redacted(settings.redis_url),
            )

    async def close_clients(_: web.Application) -> None:
        await slack_http.close()
        await zapier_http.aclose()
        await redis.aclose()

    web_app.on_startup.append(check_redis)
    web_app.on_cleanup.append(close_clients)
    return web_app
