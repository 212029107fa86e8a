"""The OAuth redirect URI the bot serves (`GET /zapier/oauth/callback`): where Zapier sends the person
back with `code` and `state` (or `error`). It answers with a small page; the person's Slack hears of it
through the notifier the composition root passes in.
"""

from __future__ import annotations

import html
import logging
from collections.abc import Mapping
from typing import Protocol

from aiohttp import web

from bot.accounts.accounts import Accounts, Connected
from bot.accounts.config import CALLBACK_PATH
from bot.accounts.errors import AccountError, GrantRejected, StateInvalid
from bot.errors import StoreError, ZapierError

log = logging.getLogger(__name__)

AGAIN = "Run <code>/zap connect</code> in Slack for a new link."
HEADERS = {
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",  # the address holds the code: no other site may see it
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
}


class ConnectedNotifier(Protocol):
    """Told when someone has connected (e.g. a Slack DM); a failure is logged, the page still succeeds."""

    async def __call__(self, connected: Connected) -> None: ...


class _Declined(AccountError):
    """The callback carries Zapier's `error` (the person declined, or Zapier refused the request)."""

    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


class _Incomplete(AccountError):
    """The callback lacks a code or a state: not an answer from Zapier."""


def callback_route(accounts: Accounts, notify: ConnectedNotifier | None = None) -> web.RouteDef:
    """The route to add to the bot's aiohttp application."""

    async def callback(request: web.Request) -> web.Response:
        try:
            connected = await _finish(accounts, request.query)
        except (AccountError, ZapierError, StoreError) as exc:
            return _failure_page(exc)
        if notify is not None:
            try:
                await notify(connected)
            except Exception:
                log.exception("telling %s/%s they connected failed", connected.team, connected.user)
        return _page(200, "Connected", "Your Zapier account is connected to zapbot. You can close this tab.")

    return web.get(CALLBACK_PATH, callback)


async def _finish(accounts: Accounts, query: Mapping[str, str]) -> Connected:
    state, code, error = (query.get(name, "") for name in ("state", "code", "error"))
    if error:
        await accounts.abandon(state)
        raise _Declined(error)
    if not state or not code:
        raise _Incomplete
    return await accounts.complete(state, code)


def _failure_page(exc: Exception) -> web.Response:
    if isinstance(exc, _Declined):
        return _page(
            400, "Not connected", f"Zapier did not connect your account ({_text(exc.error)}). {AGAIN}"
        )
    if isinstance(exc, _Incomplete):
        return _page(400, "Not connected", f"This address needs Zapier's code and state. {AGAIN}")
    if isinstance(exc, StateInvalid):
        return _page(400, "Link expired", f"This connect link has expired or was already used. {AGAIN}")
    if isinstance(exc, GrantRejected):
        log.warning("Zapier refused to exchange a code: %s", exc)
        return _page(400, "Not connected", f"Zapier refused the connection ({_text(exc.error)}). {AGAIN}")
    log.warning("could not finish a Zapier connection: %s", exc)
    if isinstance(exc, StoreError):
        return _page(503, "Not connected", f"zapbot's storage is unavailable right now. {AGAIN}")
    return _page(502, "Not connected", f"Zapier could not be reached to finish. {AGAIN}")


def _text(value: str) -> str:
    """Text from outside (the request, Zapier), fit for the page: short and escaped."""
    return html.escape(value[:100])


def _page(status: int, title: str, message_html: str) -> web.Response:
    """A small page; `message_html` is ours, with anything from the request escaped before it gets here."""
    body = (
        "<!doctype html><html><head><meta charset=utf-8>"
        f"<title>zapbot: {title}</title>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<style>body{font-family:system-ui,sans-serif;max-width:34em;margin:4em auto;padding:0 1em}</style>"
        f"</head><body><h1>{title}</h1><p>{message_html}</p></body></html>"
    )
    return web.Response(status=status, text=body, content_type="text/html", headers=HEADERS)
