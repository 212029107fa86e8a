"""Building the running service from Settings: every client once, closed in reverse on shutdown."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web
from slack_sdk.errors import SlackApiError

from bot.accounts import CALLBACK_PATH, Accounts, ConnectedNotifier, build_accounts, callback_route
from bot.approvals.audit import Audit
from bot.approvals.policy import Policy, load_policy_file
from bot.approvals.rules import Approvals
from bot.approvals.store import TeamStore
from bot.commands.context import Services
from bot.discovery.finder import Finder
from bot.discovery.shortcuts import ShortcutBook
from bot.discovery.store import DiscoveryStore
from bot.errors import BotError, ZapierAuthError, ZapierConnectionError
from bot.home.presence import Presence
from bot.home.queries import HomeQueries
from bot.home.refresh import HomeRefresher
from bot.ops.gc_pause import GcPause
from bot.ops.give_way import GiveWay
from bot.ops.metrics import Metrics
from bot.ops.readiness import AccountsCheck, ZapierCheck, ZapierKeyCheck, describe_zapier_problem
from bot.ops.routes import register_ops_routes
from bot.ops.stopping import AFTER_CANCEL_SECONDS, stop_within
from bot.ops.tasks import BackgroundTasks
from bot.ratings.delivery import DeliveryTiming, DeliveryWorker
from bot.ratings.emoji import parse_rating_emoji
from bot.ratings.service import Ratings
from bot.ratings.store import RatingStore
from bot.runs.credentials import Credentials
from bot.runs.lifecycle import Runs
from bot.runs.limits import Bucket, ChannelPace, Limits, Rate
from bot.runs.outbox import Outbox
from bot.runs.sending import PreviewWatch
from bot.runs.service import ZapService
from bot.settings import Settings
from bot.slack.access import RECHECK_SECONDS, SlackAccess
from bot.slack.app import create_bolt_app, create_web_app, slack_client
from bot.slack.deps import EXTRAS_LIMIT, Deps
from bot.slack.groups import SlackGroups
from bot.slack.listeners import discovery
from bot.slack.listeners import home as home_listeners
from bot.slack.listeners.home import HomePublisher, connected_notifier
from bot.slack.socket_mode import SOCKET_PING_SECONDS, SocketModeConnection, SocketModeRefused, first_url
from bot.slack.surface import SlackSurface
from bot.store import Store, connect
from bot.zapier.client import ZapierClient, new_http_client

log = logging.getLogger(__name__)

CLOSE_SECONDS = 5.0  # one client's close at shutdown (each is logged and left behind past it)


def _runs(
    settings: Settings,
    zapier: ZapierClient,
    store: TeamStore,
    slack_http: aiohttp.ClientSession,
    metrics: Metrics,
    *,
    policy: Policy,
    audit: Audit,
    approvals: Approvals,
    access: SlackAccess,
    credentials: Credentials,
    on_preview: PreviewWatch | None = None,
) -> Runs:
    """The run lifecycle, showing runs in Slack through a client of its own: one without the client's
    retries, because the outbox re-queues a refused send instead of sleeping on it."""
    token = settings.slack_bot_token.get_secret_value()
    surface = SlackSurface(
        slack_client(token, settings.slack_api_url, slack_http, metrics, retries=False, access=access)
    )
    service = ZapService(
        zapier,
        store,
        preview_ttl=settings.preview_ttl_seconds,
        policy=policy,
        metrics=metrics,
        credentials=credentials,
    )
    limits = Limits(
        store,
        person=Rate(settings.limit_person_per_minute),
        channel=Rate(settings.limit_channel_per_minute),
    )
    # A little under Slack's pace: a post taken in its turn here may still reach Slack a few ms early.
    pace = ChannelPace(
        store,
        Bucket(max(1, settings.slack_channel_post_burst - 1), 0.9 * settings.slack_channel_posts_per_second),
    )
    return Runs(
        service,
        store,
        Outbox(store, lease_seconds=settings.outbox_lease_seconds),
        pace=pace,
        surface=surface,
        audit=audit,
        approvals=approvals,
        metrics=metrics,
        limits=limits,
        on_preview=on_preview,
    )


def redacted(url: str) -> str:
    """A URL fit for a log line: no user name or password."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}{parts.path}"


def _account_routes(accounts: Accounts | None, notify: ConnectedNotifier) -> list[web.RouteDef]:
    """The OAuth callback when per-user Zapier accounts are on (bot/accounts/)."""
    return [callback_route(accounts, notify)] if accounts else []


async def build_app(  # noqa: PLR0915 - the composition root: a statement for each part it builds
    settings: Settings,
    *,
    expiry_interval: float = 5.0,
    zapier_retry_backoff: float = 0.5,
    policy: Policy | None = None,
    rating_poll_interval: float = 1.0,
    drain_seconds: float | None = None,
    account_connected: ConnectedNotifier | None = None,
    slack_recheck_seconds: float = RECHECK_SECONDS,
    socket_ping_interval: float = SOCKET_PING_SECONDS,
) -> web.Application:
    """The whole bot as an aiohttp application; its cleanup closes Redis, httpx and aiohttp clients.
    `policy` defaults to the POLICY_FILE setting's (raises `PolicyError` when that file is malformed);
    `drain_seconds`, to ZAPIER_TIMEOUT_SECONDS: how long a shutdown waits for the runs in flight."""
    if policy is None:
        policy = await asyncio.to_thread(load_policy_file, settings.policy_file)
    app_token = settings.slack_app_token.get_secret_value() if settings.slack_app_token else None
    # Before any client exists, so that a refused app token (SocketModeRefused) leaves nothing to close.
    socket_url = await first_url(app_token, settings.slack_api_url) if app_token else None
    redis = connect(settings.redis_url)
    metrics = Metrics()
    # Whether Slack accepts the bot token; every Slack client below reports refusals to it.
    access = SlackAccess(metrics, recheck_seconds=slack_recheck_seconds)
    # Burst behaviours, each on unless ZAPBOT_FAST_PATHS leaves it out (bench/README.md): background
    # work waits for the acks of a burst (bot/ops/give_way.py), and so does the garbage collector
    # (bot/ops/gc_pause.py).
    fast = settings.zapbot_fast_paths
    give_way = GiveWay(gc_pause=GcPause() if "gc_pause" in fast else None) if "give_way" in fast else None
    zapier_http = new_http_client(
        settings.zapier_timeout_seconds,
        metrics=metrics,
        after_response=give_way.turn if give_way else None,
        aiohttp_pool="transport" in settings.zapbot_fast_paths,
        max_connections=settings.zapier_max_connections,
    )
    # Before the aiohttp session: a half-configured setting raises AccountsMisconfigured while the clients
    # made so far have not been used yet, so nothing leaks.
    accounts = build_accounts(settings, redis, zapier_http)
    # Whose Zapier account each call uses (the policy's run_as); `shared` is refused without a key.
    credentials = Credentials(accounts, shared_key=settings.shared_key)
    if not settings.shared_key and (places := policy.run_as_places("shared")):
        log.warning(
            "POLICY_FILE asks for run_as: shared (%s) but ZAPIER_API_KEY is not set: those actions are "
            "refused until it is",
            ", ".join(places),
        )
    # slack-sdk applies its own timeout only to sessions it creates: this one carries ours.
    slack_http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=settings.slack_timeout_seconds))
    store = TeamStore(
        redis, lease_seconds=settings.run_lease_seconds
    )  # the Store plus team confirmation's keys (bot/approvals/store.py)
    # The key (when set) is only what calls without `auth=` use: every preview, run and look-up passes the
    # account the policy names (Credentials, as_person); readiness's key check is the one call made
    # with the key on purpose. Without a key, a call without `auth=` is refused (SharedKeyMissing).
    zapier = ZapierClient(
        zapier_http,
        api_key=settings.zapier_api_key,
        base_url=settings.zapier_base_url,
        provider_id=settings.zapier_provider_id,
        backoff=zapier_retry_backoff,
    )
    # Ratings are sent by a worker whose queue retries; its client must not retry inside a call, and
    # waits for a rate call far less than for an action to run. Each goes with the credentials of the
    # account that ran the execution (`credentials`; the key only for what the shared account ran).
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
    token = settings.slack_bot_token.get_secret_value()
    slack = slack_client(token, settings.slack_api_url, slack_http, metrics, access=access)
    access.use_check(slack.auth_test)
    groups = SlackGroups(slack, store, cache_seconds=settings.usergroup_cache_seconds)
    tasks = BackgroundTasks(limit=settings.max_background_tasks, give_way=give_way)
    metrics.track_tasks(tasks)
    audit = Audit(store, max_entries=settings.audit_max_entries)
    approvals = Approvals(store, groups)
    # The App Home (bot/home/, bot/slack/listeners/home.py): re-published when a connection changes, and for
    # the people a preview concerns when it appears or changes (bot/home/refresh.py, bounded).
    presence = Presence(
        store, window=settings.home_seen_days * 86400, turn=give_way.turn if give_way else None
    )
    home_queries = HomeQueries(
        store, approvals, rating_store, accounts, presence=presence, known_members=store.cached_group
    )
    home = HomePublisher(slack, home_queries)
    # Best-effort work (Home refreshes, presence records): never a slot of people's work, and like it, it
    # waits for the acks of a burst.
    extras = BackgroundTasks(limit=EXTRAS_LIMIT, give_way=give_way)
    refresher = HomeRefresher(home_queries, home.publish, extras, metrics)
    runs = _runs(
        settings,
        zapier,
        store,
        slack_http,
        metrics,
        policy=policy,
        audit=audit,
        approvals=approvals,
        access=access,
        credentials=credentials,
        on_preview=refresher.preview_changed,
    )
    ratings = Ratings(
        rating_store,
        store,
        parse_rating_emoji(settings.rating_emoji),
        audit=audit,
        coalesce_seconds=settings.rating_delay_seconds,
    )
    found = DiscoveryStore(redis)
    finder = Finder(
        zapier, found, guess_count=settings.guess_count, cache_seconds=settings.lookup_cache_seconds
    )
    deps = Deps(
        runs=runs,
        store=store,
        slack=slack,
        slack_http=slack_http,
        tasks=tasks,
        approvals=approvals,
        audit=audit,
        services=Services(
            runs,
            audit,
            finder=finder,
            shortcuts=ShortcutBook(found),
            ratings=ratings,
            accounts=accounts,
            account_changed=home.publish,
        ),
        metrics=metrics,
        slack_access=access,
        ratings=ratings,
        presence=presence,
        extras=extras,
    )
    worker = DeliveryWorker(rating_store, rater, timing, accounts=credentials, metrics=metrics)
    secret = settings.slack_signing_secret.get_secret_value() if settings.slack_signing_secret else ""
    bolt = create_bolt_app(deps, signing_secret=secret)
    discovery.register(bolt, deps, finder=finder, options_wait=settings.options_wait_seconds)
    home_listeners.register(bolt, deps, home)
    # Who connected hears it in Slack (a DM), unless the caller (a test) listens instead.
    account_routes = _account_routes(accounts, account_connected or connected_notifier(slack, home))
    web_app = create_web_app(
        bolt,
        deps,
        expiry_interval=expiry_interval,
        http_events=not settings.socket_mode,
        signing_secret=secret or None,
        drain_seconds=settings.zapier_timeout_seconds if drain_seconds is None else drain_seconds,
        routes=account_routes,
        fast_paths=settings.zapbot_fast_paths,
    )
    # Readiness checks the shared key when there is one; with per-user accounts only, that their OAuth
    # client is configured (no call to Zapier for a person's sake).
    zapier_key: ZapierCheck = (
        ZapierKeyCheck(zapier.check_auth, ttl=settings.readiness_cache_seconds)
        if settings.shared_key or accounts is None
        else AccountsCheck(accounts.missing_config)
    )
    socket = (
        SocketModeConnection(bolt, app_token, url=socket_url, ping_interval=socket_ping_interval)
        if app_token
        else None
    )
    register_ops_routes(
        web_app, store=store, metrics=metrics, zapier_key=zapier_key, slack_access=access, socket=socket
    )
    if socket is not None:
        socket.install(web_app)

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
        grace = settings.rating_timeout_seconds + 5
        await stop_within("rating delivery", worker.stop(grace=grace), grace + AFTER_CANCEL_SECONDS + 1)

    async def close_clients(_: web.Application) -> None:
        # Each close bounded: a client that does not close in time is named in the log and left behind.
        await stop_within("the Slack token recheck", access.close(), CLOSE_SECONDS)
        await stop_within("the Slack HTTP session", slack_http.close(), CLOSE_SECONDS)
        await stop_within("the Zapier HTTP client", zapier_http.aclose(), CLOSE_SECONDS)
        await stop_within("the rating HTTP client", rating_http.aclose(), CLOSE_SECONDS)
        await stop_within("the Redis client", redis.aclose(), CLOSE_SECONDS)

    web_app.on_startup.append(check_redis)
    web_app.cleanup_ctx.append(rating_delivery)
    web_app.on_cleanup.append(close_clients)
    return web_app


# ---- `python -m bot check`: can this configuration serve? -----------------------------------------------

CHECK_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Finding:
    """One verdict of `check`: what was checked and what it found (and, when not ok, what to do)."""

    ok: bool
    text: str


async def check_connections(settings: Settings) -> list[Finding]:
    """Redis answers, Zapier accepts the key (`GET /api/v2/auth/check/`), Slack accepts the bot token
    (`auth.test`) and, in Socket Mode, the app token: each a Finding, checked at the same time."""
    zapier = _check_zapier(settings) if settings.shared_key else _per_user_only(settings)
    checks = [_check_redis(settings), zapier, _check_slack(settings)]
    if settings.slack_app_token is not None:
        checks.append(_check_app_token(settings.slack_app_token.get_secret_value(), settings.slack_api_url))
    return list(await asyncio.gather(*checks))


async def _check_redis(settings: Settings) -> Finding:
    where = redacted(settings.redis_url)
    redis = connect(settings.redis_url)
    try:
        await Store(redis).ping()
    except BotError:
        return Finding(
            False,
            f"Could not connect to Redis at {where}. Is it running? Start one (scripts/run starts one "
            "for you) or set REDIS_URL to a Redis that answers.",
        )
    finally:
        await redis.aclose()
    return Finding(True, f"Redis answers at {where}.")


async def _check_zapier(settings: Settings) -> Finding:
    http = new_http_client(CHECK_TIMEOUT_SECONDS)
    zapier = ZapierClient(http, api_key=settings.zapier_api_key, base_url=settings.zapier_base_url, retries=0)
    try:
        who = await zapier.check_auth()
    except ZapierAuthError as exc:
        return Finding(
            False,
            f"Zapier rejected ZAPIER_API_KEY (HTTP {exc.status_code}). Create a key at "
            "https://actions.zapier.com/credentials/ and set ZAPIER_API_KEY to it.",
        )
    except ZapierConnectionError:
        return Finding(
            False,
            f"Could not reach Zapier at {settings.zapier_base_url}. Check the network and any proxy "
            "(HTTPS_PROXY), or ZAPIER_BASE_URL.",
        )
    except BotError as exc:
        return Finding(False, f"{describe_zapier_problem(exc)} to the key check. Check ZAPIER_BASE_URL.")
    finally:
        await http.aclose()
    account = " ".join(part for part in (who.name, f"<{who.email}>" if who.email else "") if part)
    return Finding(True, "Zapier accepts ZAPIER_API_KEY" + (f" ({account})." if account else "."))


async def _per_user_only(settings: Settings) -> Finding:
    """No ZAPIER_API_KEY: per-user accounts only (the settings' check made sure they are on). Nothing to
    ask Zapier for until a person connects; say what that means."""
    return Finding(
        True,
        "No ZAPIER_API_KEY: every action runs with the Zapier account of a person who connected theirs "
        f"(Zapier sends them back to {settings.public_url}{CALLBACK_PATH}); run_as: shared is refused.",
    )


async def _check_slack(settings: Settings) -> Finding:
    timeout = aiohttp.ClientTimeout(total=CHECK_TIMEOUT_SECONDS)
    async with aiohttp.ClientSession(timeout=timeout) as session:
        slack = slack_client(settings.slack_bot_token.get_secret_value(), settings.slack_api_url, session)
        try:
            answer = await slack.auth_test()
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown_error"))
            return Finding(
                False,
                f"Slack refused SLACK_BOT_TOKEN ({code}). Copy the Bot User OAuth Token (xoxb-...) from "
                "the Slack app -> OAuth & Permissions (Install to Workspace first, or again after a change "
                "of scopes).",
            )
        except (aiohttp.ClientError, OSError, TimeoutError):
            return Finding(
                False,
                f"Could not reach Slack at {settings.slack_api_url}. Check the network and any proxy "
                "(HTTPS_PROXY), or SLACK_API_URL.",
            )
    if not answer.get("bot_id"):
        return Finding(
            False,
            "SLACK_BOT_TOKEN is not a bot token (Slack knows no bot for it). Use the Bot User OAuth Token "
            "(xoxb-...) from the Slack app -> OAuth & Permissions.",
        )
    team, user = answer.get("team") or answer.get("team_id"), answer.get("user") or answer.get("user_id")
    return Finding(True, f"Slack accepts SLACK_BOT_TOKEN (bot @{user} in {team}).")


async def _check_app_token(app_token: str, api_url: str) -> Finding:
    try:
        url = await first_url(app_token, api_url)
    except SocketModeRefused as exc:
        return Finding(False, str(exc))
    if url is None:
        return Finding(False, f"Could not reach Slack at {api_url} for Socket Mode. Check the network.")
    return Finding(True, "Slack opens Socket Mode connections for SLACK_APP_TOKEN.")
