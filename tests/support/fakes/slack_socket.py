"""FakeSocketMode: Slack's side of Socket Mode, served by FakeSlack at ``ws://127.0.0.1:PORT/link``.

The protocol, as slack-sdk's aiohttp client (``slack_sdk/socket_mode/aiohttp``) and Slack's documentation
describe it:

- The app calls ``apps.connections.open`` with its app-level token and gets a one-time URL
  (``FakeSlack`` answers it with ``issue_url``); it opens a WebSocket there.
- Slack first sends ``{"type": "hello", "num_connections", "connection_info", "debug_info"}``.
- Then envelopes: ``{"envelope_id", "type": "slash_commands"|"events_api"|"interactive", "payload",
  "accepts_response_payload"}`` (events also carry ``retry_attempt`` and ``retry_reason``).
- The app acks each with ``{"envelope_id"}`` or ``{"envelope_id", "payload"}`` (a command's reply).
- ``{"type": "disconnect", "reason": "refresh_requested"}`` asks the app to reconnect on a new URL.
- WebSocket pings are answered with pongs (aiohttp's ``autoping``), as the client expects.
- A URL is single use (NOTES.md, "Slack under load and at its edges"): a second connect with it is refused
  (HTTP 401), even after a failed handshake. ``fail_next_handshakes`` makes the next connects fail (HTTP 503),
  using up their URLs as Slack does.

Every text frame the app sends is recorded in ``received``; acks also in ``acks``.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import WSMsgType, web

from tests.support.fakes._http import wait_until

APP_ID = "A0ZAPBOT"


@dataclass
class SocketAck:
    """One ack from the app: which envelope, the payload if any, and on which connection it came."""

    envelope_id: str
    payload: Any
    connection: int
    has_payload: bool


@dataclass
class SocketConnection:
    """One WebSocket the app opened; ``index`` counts connections from 0 in the order they opened."""

    index: int
    ticket: str
    ws: web.WebSocketResponse
    open: bool = True
    envelopes: list[str] = field(default_factory=list)  # ids of the envelopes sent on this connection


class FakeSocketMode:
    """The WebSocket side of Socket Mode: hands out envelopes and records what comes back."""

    def __init__(self) -> None:
        self.connections: list[SocketConnection] = []
        self.received: list[dict[str, Any]] = []
        self.acks: list[SocketAck] = []
        self.refused_tickets: list[str] = []
        self.failed_handshakes: list[str] = []  # tickets whose handshake fail_next_handshakes broke
        self._handshakes_to_fail = 0
        self._tickets: set[str] = set()
        self._ticket_numbers = itertools.count(1)
        self._envelope_numbers = itertools.count(1)

    def issue_url(self, base_url: str) -> str:
        """A one-time WebSocket URL under ``base_url`` (``http://127.0.0.1:PORT``), as Slack hands out."""
        ticket = f"ticket-{next(self._ticket_numbers)}"
        self._tickets.add(ticket)
        return f"{base_url.replace('http://', 'ws://', 1)}/link?ticket={ticket}&app_id={APP_ID}"

    def fail_next_handshakes(self, times: int = 1) -> None:
        """The next ``times`` connects fail with HTTP 503; the URLs they used are spent."""
        self._handshakes_to_fail += times

    @property
    def open_connections(self) -> list[SocketConnection]:
        return [c for c in self.connections if c.open]

    async def wait_connected(self, count: int = 1, timeout: float = 5.0) -> list[SocketConnection]:  # noqa: ASYNC109
        """Wait until ``count`` connections are open at once."""
        return await wait_until(
            lambda: self.open_connections, count, timeout, lambda: f"{len(self.connections)} ever opened"
        )

    async def send(
        self,
        envelope_type: str,
        payload: dict[str, Any],
        *,
        accepts_response_payload: bool,
        retry_attempt: int | None = None,
        retry_reason: str | None = None,
        connection: SocketConnection | None = None,
    ) -> str:
        """Send one envelope (on ``connection``, else the newest open one); returns its envelope_id."""
        target = connection or self._newest_open()
        envelope_id = f"env-{next(self._envelope_numbers)}"
        envelope: dict[str, Any] = {
            "envelope_id": envelope_id,
            "type": envelope_type,
            "payload": payload,
            "accepts_response_payload": accepts_response_payload,
        }
        if retry_attempt is not None:
            envelope["retry_attempt"] = retry_attempt
            envelope["retry_reason"] = retry_reason or ""
        target.envelopes.append(envelope_id)
        await target.ws.send_str(json.dumps(envelope))
        return envelope_id

    async def wait_for_ack(self, envelope_id: str, timeout: float = 5.0) -> SocketAck:  # noqa: ASYNC109
        """Wait for the app's ack of ``envelope_id``; AssertionError if none comes in time."""
        [ack] = await wait_until(
            lambda: [a for a in self.acks if a.envelope_id == envelope_id],
            1,
            timeout,
            lambda: f"acks for {[a.envelope_id for a in self.acks]}",
        )
        return ack

    async def disconnect(self, connection: SocketConnection, reason: str = "refresh_requested") -> None:
        """Ask the app to move to a new connection, as Slack does every few hours."""
        await connection.ws.send_str(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "fake-slack"}})
        )

    async def close_all(self, _: web.Application | None = None) -> None:
        """Close every open connection from Slack's side (also run when FakeSlack stops)."""
        await asyncio.gather(*(c.ws.close() for c in self.open_connections), return_exceptions=True)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """The ``/link`` endpoint: only a ticket from ``apps.connections.open``, and only once."""
        ticket = request.query.get("ticket", "")
        if ticket not in self._tickets:
            self.refused_tickets.append(ticket)
            return web.json_response({"ok": False, "error": "invalid_ticket"}, status=401)
        self._tickets.discard(ticket)
        if self._handshakes_to_fail:
            self._handshakes_to_fail -= 1
            self.failed_handshakes.append(ticket)
            return web.json_response({"ok": False, "error": "handshake_failed"}, status=503)
        ws = web.WebSocketResponse(autoping=True)
        await ws.prepare(request)
        connection = SocketConnection(len(self.connections), ticket, ws)
        self.connections.append(connection)
        await ws.send_str(
            json.dumps(
                {
                    "type": "hello",
                    "num_connections": len(self.open_connections),
                    "debug_info": {"host": "fake-slack", "approximate_connection_time": 18060},
                    "connection_info": {"app_id": APP_ID},
                }
            )
        )
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    self._record(message.data, connection)
        finally:
            connection.open = False
        return ws

    def _record(self, text: str, connection: SocketConnection) -> None:
        data = json.loads(text)
        self.received.append(data)
        if isinstance(data, dict) and "envelope_id" in data:
            self.acks.append(
                SocketAck(data["envelope_id"], data.get("payload"), connection.index, "payload" in data)
            )

    def _newest_open(self) -> SocketConnection:
        if not self.open_connections:
            raise AssertionError("no Socket Mode connection is open")
        return self.open_connections[-1]
