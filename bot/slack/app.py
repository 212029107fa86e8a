"""The application: Bolt with our handlers, inside an aiohttp server with /healthz and a clean lifecycle."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BotError
from bot.ops.logs import new_request_id
from bot.ops.metrics import Metrics
from bot.ops.stopping import stop_within
from bot.runs.delivery import DeliveryWorker
from bot.runs.keeper import STOP_SECONDS as KEEPER_STOP_SECONDS
from bot.runs.keeper import Keeper
from bot.settings import FAST_PATHS
from bot.slack import access as slack_access
from bot.slack.access import SlackAccess
from bot.slack.deps import Deps
from bot.slack.fast_ack import FastCommands, FastPath
from bot.slack.fast_events import FastReactions
from bot.slack.listeners import buttons, commands, edit, feedback, reactions
from bot.slack.metered import MeteredWebClient
from bot.slack.request import SlackRequest, read_checked

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024  # Slack's payloads are far smaller; anything bigger is not from Slack
SHUTDOWN_GRACE_SECONDS = 90.0  # the default; `python -m bot` passes ZAPIER_TIMEOUT_SECONDS
EXTRAS_GRACE_SECONDS = 1.0  # best-effort work (Deps.extras) left at shutdown
OUTBOX_FLUSH_SECONDS = 5.0  # after the drain: deliver what the last runs queued (the rest stays queued)
HELD_FLUSH_SECONDS = 3.0  # after the drain: clear the marks of held work that started (bot/runs/held.py)


def create_bolt_app(deps: Deps, *, signing_secret: str) -> AsyncApp:
    app = AsyncApp(
        client=deps.slack,
        signing_secret=signing_secret,
        # Our handlers ack and return at once, leaving slow work to our own tasks, so Bolt need not poll
        # for the ack in a task of its own (it polls every 10 ms when this is False).
        process_before_response=True,
        raise_error_for_unhandled_request=False,
        # The name Bolt would give the app itself (its caller's file name), given so that Bolt does not
        # walk the call stack with inspect.stack() to find it: ~6 ms of CPU per app built (tests build many).
        name="app.py",
    )
    for step in GLOBAL_MIDDLEWARE:  # the fast paths run the same (bot/slack/fast_ack.py)
        app.middleware(step)
    commands.register(app, deps)
    buttons.register(app, deps)
    reactions.register(app, deps)
    edit.register(app, deps)  # team confirmation: the Edit form
    feedback.register(app, deps)
    if deps.slack_access is not None:
        slack_access.register(app, deps.slack_access)  # app_uninstalled, tokens_revoked

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> None:
        # The last net: log it; Slack gets a plain 500 from Bolt and never a stack trace.
        log.error("unhandled error in a Slack handler: %s", type(error).__name__, exc_info=error)

    return app


async def _request_id(body: dict[str, Any], next: Any) -> None:
    """Each request from Slack starts a new log request id, inherited by the work it spawns."""
    new_request_id()
    event: dict[str, Any] = body["event"] if isinstance(body.get("event"), dict) else {}
    actions = body.get("actions") if isinstance(body.get("actions"), list) else []
    who = body.get("user")
    kind = body.get("command") or event.get("type") or body.get("type") or "request"
    action = f" {actions[0].get('action_id')}" if actions and isinstance(actions[0], dict) else ""
    user = body.get("user_id") or (who.get("id") if isinstance(who, dict) else None) or event.get("user")
    # DEBUG, not INFO: what each request did is logged at INFO where it happens (a preview, a decision, a
    # run, a refusal, with the who and this id), and a line per request cost a burst's acks a fifth of their
    # CPU (bench/README.md). Slack's requests are counted in /metrics and recorded in the audit stream.
    log.debug("slack %s%s from %s", kind, action, user or "?")
    await next()


GLOBAL_MIDDLEWARE = (_request_id,)


def create_web_app(
    bolt: AsyncApp,
    deps: Deps,
    *,
    expiry_interval: float = 5.0,
    http_events: bool = True,
    signing_secret: str | None = None,
    drain_seconds: float = SHUTDOWN_GRACE_SECONDS,
    routes: Sequence[web.RouteDef] = (),
    fast_paths: frozenset[str] = FAST_PATHS,
) -> web.Application:
    """The HTTP server: POST /slack/events for everything from Slack (unless `http_events` is False, in
    Socket Mode), GET /healthz, /livez for probes, and `routes` (e.g. the Zapier OAuth callback).

    Every request passes the gate first (bot/slack/request.py: garbage gets a 4xx and one log line).
    With `acks` / `reactions` in `fast_paths` (ZAPBOT_FAST_PATHS), `/zap` and reaction events are answered
    in front of Bolt where that changes nothing (bot/slack/fast_ack.py, fast_events.py). An Events API
    delivery no listener handles gets 200, not Bolt's 404, so that Slack neither retries it nor counts it
    as a failure.
    """
    web_app = web.Application(client_max_size=MAX_BODY_BYTES)
    verifier = SignatureVerifier(signing_secret) if signing_secret else None
    fast: list[FastPath] = []
    if "acks" in fast_paths:
        fast.append(FastCommands(deps, own_middleware=GLOBAL_MIDDLEWARE))
    if "reactions" in fast_paths:
        fast.append(FastReactions(deps, own_middleware=GLOBAL_MIDDLEWARE))

    async def slack_events(request: web.Request) -> web.Response:
        if deps.tasks.give_way is not None:
            deps.tasks.give_way.request_arrived()
        checked = await read_checked(request, verifier)
        if isinstance(checked, web.Response):
            return checked
        for path in fast:
            if answer := await path.answer(checked):
                return answer
        bolt_request = SlackRequest(checked)
        bolt_response = await bolt.async_dispatch(bolt_request)
        for path in fast:
            path.learn(checked, bolt_request, bolt_response)
        if bolt_response.status == 404 and checked.is_event:
            log.info("acked an event nobody handles: %s", _event_kind(checked.body))
            return web.Response(status=200)
        return await to_aiohttp_response(bolt_response)

    async def healthz(request: web.Request) -> web.Response:
        try:
            await deps.store.ping()
        except BotError as exc:
            return web.json_response({"status": "unavailable", "redis": str(exc)}, status=503)
        # pid: which process answered, when WORKERS=N processes share the port.
        return web.json_response(
            {"status": "ok", "redis": "ok", "tasks_in_flight": deps.tasks.in_flight, "pid": os.getpid()}
        )

    async def livez(request: web.Request) -> web.Response:
        # Liveness only: the event loop answers. Redis is /healthz's and /readyz's business, so that a Redis
        # outage makes replicas unready instead of getting every one of them restarted.
        return web.json_response({"status": "alive", "tasks_in_flight": deps.tasks.in_flight})

    if http_events:
        web_app.router.add_post("/slack/events", slack_events)
    web_app.router.add_get("/healthz", healthz)
    web_app.router.add_get("/livez", livez)
    web_app.cleanup_ctx.append(_run_keeping(deps, expiry_interval))
    web_app.on_shutdown.append(_drain(deps, drain_seconds))
    web_app.router.add_routes(routes)
    return web_app


def _event_kind(body: dict[str, Any]) -> str:
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else None
    return str(kind or body.get("type"))[:100]


def _run_keeping(deps: Deps, interval: float) -> Any:
    """The outbox's delivery and the run keeper (leases, orphans, expiry), for the app's lifetime. Stopped
    after the drain (aiohttp runs cleanup after shutdown), so the last runs' outcomes are still delivered."""

    async def keeping(_: web.Application) -> AsyncIterator[None]:
        runs = deps.runs
        access = deps.slack_access  # while Slack refuses the token, both wait (bot/slack/access.py)
        delivery = DeliveryWorker(
            runs.outbox, runs.surface, runs.store, metrics=deps.metrics, access=access, pace=runs.pace
        )
        keeper = Keeper(runs, interval=interval, access=access)
        delivery.start()
        keeper.start()
        yield
        await stop_within("the run keeper", keeper.stop(), KEEPER_STOP_SECONDS + 1)
        await stop_within(
            "the outbox's delivery",
            delivery.stop(flush_seconds=OUTBOX_FLUSH_SECONDS),
            OUTBOX_FLUSH_SECONDS + 3,
        )

    return keeping


def _drain(deps: Deps, grace: float) -> Any:
    async def drain(_: web.Application) -> None:
        # Runs cut here end as "unknown: zapbot stopped while this ran" (bot/runs/lifecycle.py); if this
        # process is killed first, another replica's keeper ends them the same way when their lease lapses.
        if deps.tasks.give_way is not None:
            deps.tasks.give_way.stop()
        drained = asyncio.ensure_future(deps.tasks.drain(grace))
        if await stop_within("the background tasks' drain", drained, grace + 2) and (cut := drained.result()):
            log.warning("shutdown cut %d background tasks short", cut)
        # Held work's marks (and any clear tried again) written before Redis is closed; work that started
        # cleared its own mark before its first step. Work cut before it started keeps its mark: its
        # people are told so.
        await stop_within("the held work's marks", deps.runs.held_work.flushed(), HELD_FLUSH_SECONDS)
        # Who was seen where (bot/home/presence.py): best effort, but written if Redis answers in time.
        if deps.presence is not None:
            await stop_within("the presence records", deps.presence.written(), EXTRAS_GRACE_SECONDS)
        # Home refreshes: the next opening redraws them.
        await stop_within(
            "the Home refreshes' drain", deps.extras.drain(EXTRAS_GRACE_SECONDS), EXTRAS_GRACE_SECONDS + 2
        )

    return drain


def slack_client(
    token: str,
    base_url: str,
    session: aiohttp.ClientSession,
    metrics: Metrics | None = None,
    *,
    retries: bool = True,
    access: SlackAccess | None = None,
) -> AsyncWebClient:
    """The bot's Web API client, timed: retries connection errors once and honours 429 Retry-After, unless
    `retries` is False (the outbox's client: it re-queues instead, bot/runs/delivery.py)."""
    handlers = (
        [
            AsyncConnectionErrorRetryHandler(max_retry_count=1),
            AsyncRateLimitErrorRetryHandler(max_retry_count=3),
        ]
        if retries
        else []
    )
    return MeteredWebClient(
        metrics or Metrics(),
        access=access,
        token=token,
        base_url=base_url,
        session=session,
        retry_handlers=handlers,
    )
