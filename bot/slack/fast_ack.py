"""`/zap` acked in front of Bolt's adapter, through public seams only (ZAPBOT_FAST_PATHS: `acks`).

Bolt runs every request through its global middleware (SSL check, signature, authorization, self-event
filter, URL verification, function token), then matches listeners, builds the listener's arguments by
introspection, and runs it: under load that is most of the cost of an ack (bench/README.md has the figure,
on and off). For a slash command only two of those steps do anything: the signature check and the
authorization (an `auth.test` that Bolt makes once and then caches for good). So `FastCommands`, a step of
our own aiohttp route in front of `AsyncApp.async_dispatch`, answers a `/zap` itself when:

- the route's gate (bot/slack/request.py `read_checked`) has verified the signature with slack-sdk's
  `SignatureVerifier`, the very check Bolt makes, and parsed the body;
- the body is a form with `command=/zap`, no `payload` and no `ssl_check` field (Bolt's own conditions);
- Bolt has already answered a `/zap` with 200 *and an authorization result* (`context.authorize_result`,
  public): its cached authorization passed. Until then, and after a failed `auth.test`, Bolt decides.

It then runs the global middleware our app registers (`own_middleware`: bot/slack/app.py passes the same tuple
it gives Bolt, so nothing we add is skipped) and the very function Bolt's `/zap` listener runs
(`commands.answer_command`), and answers with Bolt's public `AsyncAck` and `to_aiohttp_response`: the
answer is Bolt's own. Anything else goes through Bolt. Reaction events have a fast path of their own, on
the same terms (bot/slack/fast_events.py); the base both use is here.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.slack.deps import Deps
from bot.slack.listeners.commands import answer_command
from bot.slack.request import FORM, Checked

log = logging.getLogger(__name__)

COMMAND = "/zap"

OwnMiddleware = Callable[[dict[str, Any], Callable[[], Awaitable[None]]], Awaitable[None]]


async def no_next() -> None:
    """`next` for our own middleware run outside Bolt: the fast path itself goes on afterwards."""


async def bolt_ack(**message: Any) -> web.Response:
    """What Bolt sends for `await ack(**message)`: its AsyncAck, then its aiohttp adapter."""
    ack = AsyncAck()  # type: ignore[no-untyped-call]  # Bolt leaves its __init__ unannotated
    return await to_aiohttp_response(await ack(**message))


async def listener_failed(error: Exception) -> web.Response:
    """As Bolt does for a listener that raises: log it, and a plain 500 with no body."""
    log.error("unhandled error in a Slack handler: %s", type(error).__name__, exc_info=error)
    return await to_aiohttp_response(BoltResponse(status=500, body=""))


class FastPath:
    """What the fast paths share: the dependencies and our own global middleware to run."""

    def __init__(self, deps: Deps, *, own_middleware: tuple[OwnMiddleware, ...] = ()) -> None:
        self._deps = deps
        self._own = own_middleware

    async def run_own_middleware(self, body: dict[str, Any]) -> None:
        for step in self._own:
            await step(body, no_next)  # e.g. the log request id, as Bolt would have run it

    async def answer(self, request: Checked) -> web.Response | None:
        """Bolt's answer to the request, without Bolt, or None to let Bolt handle it."""
        raise NotImplementedError

    def learn(self, request: Checked, bolt_request: AsyncBoltRequest, response: BoltResponse) -> None:
        """After Bolt answered a request: what the fast path needs to know of Bolt's authorization."""


class FastCommands(FastPath):
    _authorized = False  # set (on the instance) once Bolt has authorized a /zap and answered it 200

    @staticmethod
    def command_of(request: Checked) -> dict[str, Any] | None:
        """The `/zap` command this request carries, or None when it is anything else."""
        body = request.body
        if request.content_type != FORM or body.get("command") != COMMAND:
            return None
        return None if "ssl_check" in body or "payload" in body else body

    async def answer(self, request: Checked) -> web.Response | None:
        command = self.command_of(request) if self._authorized else None
        if command is None:
            return None
        # One turn of the event loop, as Bolt's chain takes several: the connections whose requests came in
        # meanwhile are read before this one is answered. Answered in one go instead, a burst's requests
        # were served strictly in turn, and the few that reached the socket just after a round of reads
        # waited for the whole next round (one request in 50 took twice as long).
        await asyncio.sleep(0)
        try:
            await self.run_own_middleware(command)
            message = answer_command(self._deps, command)
        except Exception as error:
            return await listener_failed(error)
        log.debug("acked a /zap in front of Bolt")
        return await bolt_ack(**message)

    def learn(self, request: Checked, bolt_request: AsyncBoltRequest, response: BoltResponse) -> None:
        """A `/zap` answered 200 *with an authorization result* means Bolt's authorization passed (and is
        cached). A 200 alone does not: when `auth.test` fails, Bolt answers 200 too, with its apology."""
        if (
            not self._authorized
            and response.status == 200
            and bolt_request.context.authorize_result is not None
            and self.command_of(request) is not None
        ):
            self._authorized = True
