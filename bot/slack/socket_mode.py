"""Socket Mode: the same Bolt app and handlers, fed over a WebSocket the bot opens to Slack.

With an app-level token (`xapp-`, scope `connections:write`) the bot asks Slack for a WebSocket URL
(`apps.connections.open`), connects, and receives commands, events and clicks as envelopes, acking each
one over the same socket. No public URL is needed; the aiohttp server still serves the probes on
HOST:PORT. slack-sdk's aiohttp client does the protocol: `hello`, acks, pings, and reconnecting when
Slack sends `disconnect` (it does so every few hours) or the connection goes stale.

A Socket Mode URL is single use, but slack-sdk's client retries the URL it holds after a failed handshake,
forever (NOTES.md). `SocketModeConnection` watches the connection: a URL still held by a client that is not
connected is spent, and is dropped so that the client's next attempt asks Slack for a fresh one. The same
watch answers `/readyz` (bot/ops/routes.py): a replica whose socket is down is not ready.

Each replica opens one connection; Slack sends each envelope to one of an app's connections (at most 10).
Re-delivered events carry `retry_attempt`/`retry_reason`, which Bolt passes on as the HTTP retry headers;
handlers deduplicate on `event_id` in Redis either way.

Every envelope is acked, so that Slack does not re-deliver it (`AckingHandler`): Bolt's handler leaves
unacked what no listener handles (Bolt answers it 404), and slack-sdk never hands Bolt an envelope without
a payload. Only a handler's failure (Bolt's 500) goes unacked, as over HTTP, so that Slack re-delivers it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from aiohttp import web
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler
from slack_bolt.adapter.socket_mode.async_internals import run_async_bolt_app, send_async_response
from slack_bolt.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from slack_sdk.socket_mode.async_client import AsyncBaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.errors import BotError
from bot.ops.stopping import AFTER_CANCEL_SECONDS, stop_within, wait_stopped
from bot.slack.request import well_formed

log = logging.getLogger(__name__)
CLOSE_SECONDS = 5.0  # closing the socket at shutdown

CONNECTIONS_OPEN_TIMEOUT_SECONDS = 10
SOCKET_PING_SECONDS = 10.0  # slack-sdk's ping interval, also its wait between two connection attempts


class SocketModeRefused(BotError):
    """Slack refused to open a Socket Mode connection for the app-level token (a setup problem)."""


async def first_url(app_token: str, api_url: str) -> str | None:
    """A Socket Mode URL from `apps.connections.open`, asked before anything else is built so that a
    refused token stops the start with one clear line (SocketModeRefused) instead of a retry loop.

    None when Slack cannot be reached: the connection then keeps trying in the background.
    """
    # No session given: slack-sdk opens one for the call and closes it.
    client = AsyncWebClient(base_url=api_url, timeout=CONNECTIONS_OPEN_TIMEOUT_SECONDS)
    try:
        response = await client.apps_connections_open(app_token=app_token)
    except SlackApiError as exc:
        code = str(exc.response.get("error", "unknown_error"))
        raise SocketModeRefused(
            f"Slack refused to open a Socket Mode connection ({code}). Check SLACK_APP_TOKEN: an "
            "app-level token (xapp-...) with the connections:write scope, with Socket Mode enabled in "
            "the app's settings."
        ) from exc
    except (aiohttp.ClientError, OSError, TimeoutError) as exc:
        log.warning("could not reach Slack for Socket Mode (%s); will keep trying", type(exc).__name__)
        return None
    return str(response["url"])


class AckingHandler(AsyncSocketModeHandler):
    """Bolt's Socket Mode handler, acking what Bolt leaves unacked (see the module's docstring)."""

    def __init__(self, bolt: AsyncApp, app_token: str, *, ping_interval: float) -> None:
        super().__init__(bolt, app_token=app_token, ping_interval=ping_interval)
        # Runs for every message, before slack-sdk makes a request of it (which needs a type and a payload).
        self.client.message_listeners.append(self._ack_unreadable)

    async def handle(self, client: AsyncBaseSocketModeClient, req: SocketModeRequest) -> None:
        started = time.time()
        if isinstance(req.payload, dict):
            # The same gate as over HTTP (bot/slack/request.py): fields of a type no Slack request has
            # are dropped before Bolt reads them (found by fuzzing: Bolt's own logging raised on them).
            req.payload = well_formed(req.payload)
        try:
            response = await run_async_bolt_app(self.app, req)
        except Exception as exc:
            # Bolt could not even read the payload: a re-delivery would fare no better.
            log.warning("acked a Socket Mode %s envelope Bolt cannot read (%s)", req.type, type(exc).__name__)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        if response.status == 404:
            log.info("acked a Socket Mode %s envelope nobody handles", req.type)
            await client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))
            return
        await send_async_response(client, req, response, started)

    @staticmethod
    async def _ack_unreadable(
        client: AsyncBaseSocketModeClient, message: dict[str, Any], _: str | None
    ) -> None:
        envelope_id = message.get("envelope_id")
        if not envelope_id or not isinstance(envelope_id, str):
            return  # hello, disconnect: not envelopes
        if "type" in message and isinstance(message.get("payload"), dict | str):
            return  # Bolt's (handle above)
        log.warning("acked a Socket Mode envelope without a payload (type %s)", str(message.get("type"))[:50])
        await client.send_socket_mode_response(SocketModeResponse(envelope_id=envelope_id))


class SocketModeConnection:
    """One Socket Mode connection for the life of the aiohttp application.

    `install` hooks it into the application: it connects in the background once the application starts
    (the probes answer meanwhile), and disconnects first thing at shutdown, before background work is
    drained, so that Slack sends new envelopes to other connections rather than to a replica leaving.
    """

    def __init__(
        self,
        bolt: AsyncApp,
        app_token: str,
        *,
        url: str | None = None,
        ping_interval: float = SOCKET_PING_SECONDS,
    ) -> None:
        self._bolt = bolt
        self._app_token = app_token
        self._url = url  # from first_url(); None: the client asks Slack for one
        self._ping_interval = ping_interval
        self._handler: AsyncSocketModeHandler | None = None
        self._connecting: asyncio.Task[None] | None = None
        self._watching: asyncio.Task[None] | None = None

    def install(self, web_app: web.Application) -> None:
        web_app.cleanup_ctx.append(self._lifetime)  # also unwound when a later start-up hook fails
        web_app.on_shutdown.insert(0, self._stop)  # first at shutdown: before background tasks are drained

    async def _lifetime(self, _: web.Application) -> AsyncIterator[None]:
        # The handler's client starts tasks when built, so it is built here, inside the running loop.
        handler = AckingHandler(self._bolt, self._app_token, ping_interval=self._ping_interval)
        handler.client.wss_uri = self._url
        self._handler = handler
        connect = handler.connect_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it untyped
        self._connecting = asyncio.create_task(connect, name="socket-mode-connect")
        self._watching = asyncio.create_task(self._watch(handler), name="socket-mode-watch")
        log.info("connecting to Slack over Socket Mode")
        try:
            yield
        finally:
            await self._stop()

    async def _stop(self, _: web.Application | None = None) -> None:
        handler, self._handler = self._handler, None
        if handler is None:
            return
        if self._watching is not None:
            self._watching.cancel()
            await wait_stopped("the Socket Mode watch", self._watching, AFTER_CANCEL_SECONDS)
        if self._connecting is not None:
            self._connecting.cancel()
            await wait_stopped("the Socket Mode connect", self._connecting, AFTER_CANCEL_SECONDS)
        closing = handler.close_async()  # type: ignore[no-untyped-call]  # slack-bolt leaves it untyped
        if await stop_within("the Socket Mode connection", closing, CLOSE_SECONDS):
            log.info("Socket Mode connection closed")

    # ---- reconnecting with a fresh URL, and readiness --------------------------------------------------

    async def problem(self) -> str | None:
        """None while the socket is connected, else what `/readyz` says."""
        handler = self._handler
        if handler is None:
            return "Socket Mode is not running"
        if await handler.client.is_connected():
            return None
        return "the Socket Mode connection to Slack is down (reconnecting)"

    async def _watch(self, handler: AsyncSocketModeHandler) -> None:
        """Drop a spent URL: one the client still holds at two looks in a row while not connected.

        A URL is spent once a connection was attempted with it. The client reads the URL it holds in the
        same step as it starts the attempt, and waits `ping_interval` before the next one; looking three
        times per interval drops a failed URL before the client retries it, so that it asks
        `apps.connections.open` for a fresh one. (A URL dropped while its attempt is under way costs
        nothing: the attempt has it.)
        """
        client = handler.client
        seen: str | None = None
        was_connected = False
        while True:
            await asyncio.sleep(self._ping_interval / 3)
            try:
                connected = await client.is_connected()
            except Exception:
                log.debug("could not look at the Socket Mode connection", exc_info=True)
                continue
            if connected != was_connected:
                log.info("Socket Mode %s", "connected" if connected else "disconnected; reconnecting")
                was_connected = connected
            if connected:
                seen = None
                continue
            url = client.wss_uri
            if url is not None and url == seen:
                log.info("a Socket Mode URL was used without a connection: asking Slack for a fresh one")
                client.wss_uri = None
                url = None
            seen = url
