"""Building the running service from Settings: every client once, closed in reverse on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

from bot.app import create_bolt_app, create_web_app, slack_client
from bot.approvals import Approvals
from bot.audit import Audit
from bot.discovery import Finder
from bot.discovery_store import DiscoveryStore
from bot.errors import BotError
from bot.give_way import GiveWay
from bot.handlers import discovery
from bot.handlers.deps import Deps
from bot.handlers.groups import SlackGroups
from bot.metrics import Metrics
from bot.ops import register_ops_routes
from bot.policy import Policy, load_policy_file
from bot.ratings.delivery import DeliveryTiming, DeliveryWorker
from bot.ratings.emoji import parse_rating_emoji
from bot.ratings.service import Ratings
from bot.ratings.store import RatingStore
from bot.readiness import ZapierKeyCheck
from bot.service import ZapService
from bot.settings import Settings
from bot.shortcuts import ShortcutBook
from bot.socket_mode import SocketModeConnection, first_url
from bot.store import connect
from bot.tasks import BackgroundTasks
from bot.team_store import TeamStore
from bot.zapier.client import ZapierClient, new_http_client

log = logging.getLogger(__name__)


def redacted(url: str) -> str:
    """A URL fit for a log line: no user name or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


async def build_app(
    settings: Settings,
    *,
    expiry_interval: float = 5.0,
    zapier_retry_backoff: float = 0.5,
    policy: Policy | None = None,
    rating_poll_interval: float = 1.0,
) -> web.Application:
    """The whole bot as an aiohttp application; its cleanup closes Redis, httpx and aiohttp clients.
    `policy` defaults to the POLICY_FILE setting's (raises `PolicyError` when that file is malformed)."""
    if policy is None:
        policy = await asyncio.to_thread(load_policy_file, settings.policy_file)
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    # Before any client exists, so that a refused app token (SocketModeRefused) leaves nothing to close.
    socket_url = await first_url(app_token, settings.slack_api_url) if app_token else None
    redis = connect(settings.redis_url)
    metrics = Metrics()
    # Burst behaviours, each on unless ZAPBOT_FAST_PATHS leaves it out (bench/README.md): background
    # work waits for the acks of a burst (bot/give_way.py).
    give_way = GiveWay() if "give_way" in settings.zapbot_fast_paths else None
    zapier_http = new_http_client(
        settings.zapier_timeout_seconds,
        metrics=metrics,
        after_response=give_way.turn if give_way else None,
        aiohttp_pool="transport" in settings.zapbot_fast_paths,
    )
    slack_http = aiohttp.ClientSession()
    store = TeamStore(redis)  # the Store plus team confirmation's keys (bot/team_store.py)
    zapier = ZapierClient(
        zapier_http,
        api_key=settings.zapier_api_key,
        base_url=settings.zapier_base_url,
        provider_id=settings.zapier_provider_id,
        backoff=zapier_retry_backoff,
    )
    # Ratings are sent by a worker whose queue retries; its client must not retry inside a call, and
    # waits for a rate call far less than for an action to run.
    rating_http = new_http_client(
        settings.rating_timeout_seconds,
        metrics=metrics,
        aiohttp_pool="transport" in settings.zapbot_fast_paths,
    )
    rater = ZapierClient(
        rating_http, api_key=settings.zapier_api_key, base_url=settings.zapier_base_url, retries=0
    )
    rating_store = RatingStore(redis, store)
    timing = DeliveryTiming(
        coalesce=settings.rating_delay_seconds,
        poll=rating_poll_interval,
        retry_base=settings.rating_retry_seconds,
        retry_max=settings.rating_retry_max_seconds,
        lease=2 * settings.rating_timeout_seconds + 30,
    )
    slack = slack_client(
        settings.slack_bot_token.get_secret_value(), settings.slack_api_url, slack_http, metrics
    )
    groups = SlackGroups(slack, store, cache_seconds=settings.usergroup_cache_seconds)
    tasks = BackgroundTasks(limit=settings.max_background_tasks, give_way=give_way)
    metrics.track_tasks(tasks)
    audit = Audit(store, max_entries=settings.audit_max_entries)
    deps = Deps(
        service=ZapService(
            zapier, store, preview_ttl=settings.preview_ttl_seconds, policy=policy, metrics=metrics
        ),
        store=store,
        slack=slack,
        slack_http=slack_http,
        tasks=tasks,
        approvals=Approvals(zapier, store, groups),
        audit=audit,
        metrics=metrics,
        ratings=Ratings(
            rating_store,
            store,
            parse_rating_emoji(settings.rating_emoji),
            audit=audit,
            coalesce_seconds=settings.rating_delay_seconds,
        ),
    )
    worker = DeliveryWorker(rating_store, rater, timing)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    bolt = create_bolt_app(deps, signing_secret=secret)
    found = DiscoveryStore(redis)
    discovery.register(
        bolt,
        deps,
        finder=Finder(
            zapier, found, guess_count=settings.guess_count, cache_seconds=settings.lookup_cache_seconds
        ),
        shortcuts=ShortcutBook(found),
        options_wait=settings.options_wait_seconds,
    )
    web_app = create_web_app(
        bolt,
        deps,
        expiry_interval=expiry_interval,
        http_events=not settings.socket_mode,
        signing_secret=secret or None,
        fast_paths=settings.zapbot_fast_paths,
    )
    zapier_key = ZapierKeyCheck(zapier.check_auth, ttl=settings.readiness_cache_seconds)
    register_ops_routes(web_app, store=store, metrics=metrics, zapier_key=zapier_key)
    if app_token:
        SocketModeConnection(bolt, app_token, url=socket_url).install(web_app)

    async def check_redis(_: web.Application) -> None:
        try:
            await store.ping()
        except BotError:
            log.warning(
                "Could not connect to Redis at %s. Is it running? /healthz answers 503 until it does.",
                redacted(settings.redis_url),
            )

    async def rating_delivery(_: web.Application) -> AsyncIterator[None]:
        # A cleanup context: stopped before close_clients runs, so its last calls still have clients.
        worker.start()
        yield
        await worker.stop(grace=settings.rating_timeout_seconds + 5)

    async def close_clients(_: web.Application) -> None:
        await slack_http.close()
        await zapier_http.aclose()
        await rating_http.aclose()
        await redis.aclose()

    web_app.on_startup.append(check_redis)
    web_app.cleanup_ctx.append(rating_delivery)
    web_app.on_cleanup.append(close_clients)
    return web_app
