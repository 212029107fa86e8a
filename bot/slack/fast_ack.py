"""`/zap` acked before Bolt's middleware chain, where that provably changes nothing.

Bolt runs every request through its global middleware (SSL check, signature, authorization, self-event
filter, URL verification, function token), then matches listeners, builds the listener's arguments by
introspection, and runs it: under load that is most of the cost of an ack (see bench/). For a slash command
only two of those steps do anything: the signature check and the authorization (an `auth.test` that Bolt
makes once and then caches for good). So `FastCommands` answers a `/zap` itself when:

- the body is a form with `command=/zap`, no `payload` and no `ssl_check` field (Bolt's own conditions);
- the signature is valid, checked by the same `SignatureVerifier` Bolt uses (else Bolt answers its 401);
- Bolt has already answered a `/zap` with 200, so its cached authorization passed (else Bolt decides);
- the app has only Bolt's built-in global middleware and our own listed in `own_middleware` (which the
  fast path runs itself, e.g. the log request id): any other custom middleware (`app.use`), OAuth or
  `before_authorize` turn the fast path off, so that it never skips code somebody added.

It then runs the very function Bolt's `/zap` listener runs (`commands.answer_command`) and serializes the
ack with Bolt's own `AsyncAck`, so the answer is byte for byte the one Bolt gives. Anything else, and every
other kind of request, goes through Bolt as before. Reaction events have a fast path of their own, on the
same terms (bot/slack/fast_events.py); the helpers both use are here.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.middleware.async_builtins import (
    AsyncAttachingFunctionToken,
    AsyncIgnoringSelfEvents,
    AsyncRequestVerification,
    AsyncSslCheck,
    AsyncUrlVerification,
)
from slack_bolt.middleware.authorization.async_single_team_authorization import AsyncSingleTeamAuthorization
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse
from slack_sdk.signature import SignatureVerifier

from bot.render.messages import Message
from bot.slack.deps import Deps
from bot.slack.listeners.commands import answer_command
from bot.slack.request import parse_slack_body

log = logging.getLogger(__name__)

COMMAND = "/zap"
FORM = "application/x-www-form-urlencoded"
_BUILTIN_MIDDLEWARE = (
    AsyncSslCheck,
    AsyncRequestVerification,
    AsyncSingleTeamAuthorization,
    AsyncIgnoringSelfEvents,
    AsyncUrlVerification,
    AsyncAttachingFunctionToken,
)


_PLAIN_ACK_KEYS = frozenset({"text", "blocks", "response_type"})

OwnMiddleware = Callable[[dict[str, Any], Callable[[], Awaitable[None]]], Awaitable[None]]


async def no_next() -> None:
    """`next` for our own middleware run outside Bolt: the fast path itself goes on afterwards."""


def custom_middleware(bolt: AsyncApp, own_middleware: tuple[OwnMiddleware, ...]) -> list[object]:
    """Bolt's global middleware other than its built-in steps and `own_middleware`: a fast path that
    would skip any of it must stay off. Unknown (no list to look at) counts as custom."""
    middleware = getattr(bolt, "_async_middleware_list", None)  # no public accessor in Bolt 1.x
    return [
        m
        for m in middleware or [None]
        if type(m) not in _BUILTIN_MIDDLEWARE and getattr(m, "func", None) not in own_middleware
    ]


async def ack_response(message: Message) -> web.Response:
    """What Bolt sends for `await ack(**message)` (AsyncAck, then the aiohttp adapter), byte for byte.

    The acks `/zap` gives (text, blocks, response_type) are built here directly: Bolt's way (a BoltResponse,
    its headers as lists, a regular expression over the content type, a cookie jar) cost ~35 us of an
    ack's ~300. Any other shape goes through Bolt itself. tests/e2e/test_fast_ack.py compares the two.
    """
    if not _plain_ack(message):
        ack = AsyncAck()  # type: ignore[no-untyped-call]  # Bolt leaves its __init__ unannotated
        return await to_aiohttp_response(await ack(**message))
    text: str = message.get("text", "")
    body: dict[str, Any] = {"text": text}
    if message.get("response_type"):
        body["response_type"] = message["response_type"]
    if message.get("blocks"):
        body["blocks"] = message["blocks"]
    # Bolt sends a lone text as plain text, anything more as JSON; the content type follows the first
    # character, and its charset is dropped (the body is UTF-8 either way).
    serialized = text if len(body) == 1 else json.dumps(body)
    content_type = "application/json" if serialized.startswith("{") else "text/plain"
    return web.Response(body=serialized.encode(), content_type=content_type)


def _plain_ack(message: Message) -> bool:
    blocks = message.get("blocks") or []
    return (
        message.keys() <= _PLAIN_ACK_KEYS
        and isinstance(message.get("text", ""), str)
        and isinstance(blocks, list)
        and all(type(block) is dict for block in blocks)  # Bolt would turn Block objects into dicts
    )


class FastPath:
    """What the fast paths share: our own middleware to run, the signature check, and staying off when the
    app has middleware of its own."""

    kind = "requests"  # what it answers, for the log

    def __init__(
        self,
        bolt: AsyncApp,
        deps: Deps,
        *,
        signing_secret: str,
        own_middleware: tuple[OwnMiddleware, ...] = (),
    ) -> None:
        self._deps = deps
        self._own = own_middleware
        self._verifier = SignatureVerifier(signing_secret)
        custom = custom_middleware(bolt, own_middleware)
        self.enabled = not custom and self.usable_with(bolt)
        if custom:
            names = ", ".join(type(m).__name__ for m in custom)
            log.info(
                "%s go through Bolt's whole chain: the app has middleware of its own (%s)", self.kind, names
            )

    def usable_with(self, bolt: AsyncApp) -> bool:
        """Whatever else a fast path needs of the app (beyond no middleware of its own)."""
        return True

    def signed(self, headers: Mapping[str, str], raw: str) -> bool:
        """Bolt's signature check (AsyncRequestVerification), on the same headers and raw body."""
        return self._verifier.is_valid(
            raw, headers.get("X-Slack-Request-Timestamp", "0"), headers.get("X-Slack-Signature", "")
        )


class FastCommands(FastPath):
    kind = "/zap commands"
    _authorized = False  # set (on the instance) once Bolt has authorized a /zap and answered it 200

    def command_of(self, request: web.Request, raw: str) -> dict[str, str] | None:
        """The `/zap` command this request carries, or None when it is anything else."""
        if not self.enabled or request.content_type != FORM or "command=%2Fzap" not in raw:
            return None
        form = parse_slack_body(raw, request.content_type)
        if form.get("command") != COMMAND or "ssl_check" in form or "payload" in form:
            return None
        return form

    async def answer(self, request: web.Request, raw: str) -> web.Response | None:
        """Bolt's answer to a `/zap`, without Bolt, or None to let Bolt handle the request."""
        command = self.command_of(request, raw) if self._authorized else None
        if command is None or not self.signed(request.headers, raw):
            return None
        # One turn of the event loop, as Bolt's chain takes several: the connections whose requests came in
        # meanwhile are read before this one is answered. Answered in one go instead, a burst's requests
        # were served strictly in turn, and the few that reached the socket just after a round of reads
        # waited for the whole next round: one request in 50 took twice as long (bench/: ack p99 1.3-1.8x
        # the floor's with p50 at par; with this turn, 0.9-1.2x).
        await asyncio.sleep(0)
        try:
            for step in self._own:
                await step(command, no_next)  # e.g. the log request id, as Bolt would have run it
            message = answer_command(self._deps, command)
        except Exception as error:
            # As Bolt does for a listener that raises: log it, and a plain 500 with no body.
            log.error("unhandled error in a Slack handler: %s", type(error).__name__, exc_info=error)
            return await to_aiohttp_response(BoltResponse(status=500, body=""))
        log.debug("acked a /zap before Bolt's chain")
        return await ack_response(message)

    def learn(self, request: web.Request, bolt_request: AsyncBoltRequest, response: BoltResponse) -> None:
        """After Bolt answered: a `/zap` answered 200 *with an authorization result* means Bolt's
        authorization passed (and is cached). A 200 alone does not: when `auth.test` fails, Bolt answers
        200 too, with its apology text."""
        if (
            not self._authorized
            and response.status == 200
            and bolt_request.context.authorize_result is not None
            and self.command_of(request, bolt_request.raw_body) is not None
        ):
            self._authorized = True
