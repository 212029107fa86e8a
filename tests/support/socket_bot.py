"""The bot in Socket Mode, and the same Slack requests as ``SlackSender``, delivered as Slack does there.

``SocketSender`` builds every request exactly as ``SlackSender`` does (same fields, same ids) but, instead
of POSTing it signed to ``/slack/events``, hands it to ``FakeSocketMode`` as the envelope Slack would send
over the bot's WebSocket, and answers with the bot's ack. So a scenario written against ``bot.slack`` runs
unchanged over either transport.
"""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any
from urllib.parse import parse_qsl

import aiohttp

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot, settings_for
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.slack_socket import FakeSocketMode, SocketConnection
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.slack_requests import SentResponse, SlackSender

APP_TOKEN = "xapp-test-token"
# Interactivity whose ack may carry a response (e.g. a modal's errors); Slack says so in the envelope.
ACCEPTS_RESPONSE = {"view_submission", "block_suggestion"}


def socket_settings(slack: FakeSlack, zapier: FakeZapier, redis_url: str, **overrides: Any) -> Settings:
    """Socket Mode settings: an app-level token and no signing secret (Socket Mode needs none)."""
    values: dict[str, Any] = {"slack_app_token": APP_TOKEN, "slack_signing_secret": None, **overrides}
    return settings_for(slack, zapier, redis_url, **values)


def envelope_for(body: str, content_type: str) -> tuple[str, dict[str, Any], bool]:
    """The Socket Mode envelope type, payload and accepts_response_payload for an HTTP request body."""
    if content_type == "application/json":
        return "events_api", json.loads(body), False
    form = dict(parse_qsl(body, keep_blank_values=True))
    if "payload" in form:
        payload = json.loads(form["payload"])
        return "interactive", payload, payload.get("type") in ACCEPTS_RESPONSE
    return "slash_commands", form, True


class SocketSender(SlackSender):
    """Sends SlackSender's requests as Socket Mode envelopes; the response is built from the bot's ack.

    Envelopes go on ``connection`` when set (one replica's socket), else on the newest open connection.
    """

    def __init__(
        self,
        http: aiohttp.ClientSession,
        socket: FakeSocketMode,
        response_url_base: str,
        connection: SocketConnection | None = None,
    ) -> None:
        super().__init__(http, "socket-mode", "", response_url_base)
        self.socket = socket
        self.connection = connection

    async def post_raw(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SentResponse:
        """Deliver ``body`` as an envelope; retry headers become ``retry_attempt``/``retry_reason``."""
        envelope_type, payload, accepts_response = envelope_for(body, content_type)
        sent = {k.lower(): v for k, v in (headers or {}).items()}
        retry: dict[str, Any] = {}
        if envelope_type == "events_api":  # Slack marks every event delivery, the first one with 0
            retry["retry_attempt"] = int(sent.get("x-slack-retry-num", "0"))
            retry["retry_reason"] = sent.get("x-slack-retry-reason", "")
        started = time.monotonic()
        envelope_id = await self.socket.send(
            envelope_type,
            payload,
            accepts_response_payload=accepts_response,
            connection=self.connection,
            **retry,
        )
        ack = await self.socket.wait_for_ack(envelope_id)
        text = json.dumps(ack.payload) if ack.has_payload else ""
        return SentResponse(200, text, {"x-envelope-id": envelope_id}, time.monotonic() - started)


@asynccontextmanager
async def running_socket_bot(
    settings: Settings, http: aiohttp.ClientSession, slack: FakeSlack, **build: Any
) -> AsyncIterator[RunningBot]:
    """The real bot in Socket Mode, connected to FakeSlack's socket; ``url`` serves the probes."""
    before = len(slack.socket.connections)
    async with running_bot(settings, http, slack.response_url_base, **build) as running:
        await wait_until(lambda: slack.socket.connections, before + 1, 5.0, lambda: "no new connection")
        sender = SocketSender(http, slack.socket, slack.response_url_base)
        yield RunningBot(running.url, sender, settings)
