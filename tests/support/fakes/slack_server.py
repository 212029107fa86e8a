"""FakeSlack: a local stand-in for Slack's Web API and for the ``response_url``s Slack hands out.

Point ``AsyncWebClient(base_url=fake.api_url)`` at it. Every call is recorded with its arguments, whether
slack-sdk sent them as JSON, as a form or in the query string. Tests can make the next calls of a method
fail (``fail``) or be rate limited (``rate_limit``); otherwise it answers like Slack for the methods the
bot uses (``slack_methods``) and ``{"ok": true}`` for any other. ``apps.connections.open`` (with the
app-level token) hands out a Socket Mode URL on this same server; ``socket`` (a FakeSocketMode) is Slack's
end of those sockets.

Two modes. The *polite* stand-in takes every well-formed call. The *realistic* one behaves as Slack
documents (NOTES.md, "Slack payloads and limits" and "Slack under load and at its edges"): rate limits
(``slack_rates``), size limits (``slack_blocks``), channel membership, trigger ids valid 3 s and once,
response URLs taking 5 posts in 30 minutes, ephemerals hidden in threads without replies
(``slack_workspace``). ``REALISTIC_BY_DEFAULT`` picks the mode of ``FakeSlack()``; a test says
``@pytest.mark.polite_slack(reason=...)`` or ``@pytest.mark.realistic_slack`` to choose its own.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any, Literal

from aiohttp import web

from tests.support.fakes._http import LocalServer, wait_until
from tests.support.fakes.slack_blocks import check_message
from tests.support.fakes.slack_methods import BOT_ID, BOT_USER_ID, TEAM_ID, WebApi
from tests.support.fakes.slack_rates import RateLimited, RateLimiter, SlackClock, SlackLimits
from tests.support.fakes.slack_records import ResponseUrlPost, SlackCall, body_args
from tests.support.fakes.slack_socket import FakeSocketMode
from tests.support.fakes.slack_workspace import Channels, Ephemeral, Message, UploadedFile, Workspace

# The mode of every FakeSlack() that does not name one: realistic, for the whole suite (a test that needs
# the polite one carries @pytest.mark.polite_slack(reason=...), tests/conftest.py).
REALISTIC_BY_DEFAULT = True

__all__ = ["BOT_ID", "BOT_USER_ID", "REALISTIC_BY_DEFAULT", "TEAM_ID", "FakeSlack", "SlackCall"]

SCOPES = (
    "commands,app_mentions:read,chat:write,reactions:read,usergroups:read,files:write,channels:history,"
    "groups:history"
)
# The scope each method needs beyond chat:write (Slack's method reference), where a test takes it away.
NEEDS_SCOPE = {"conversations.replies": "channels:history", "conversations.history": "channels:history"}


@dataclass
class _Failure:
    error: str | None = None  # {"ok": false, "error": ...}
    retry_after: int | None = None  # HTTP 429 with Retry-After


@dataclass
class _Loss:
    """The answer to a call that Slack carried out is lost: the connection is reset, or the answer comes
    only after ``stall`` seconds (past the caller's timeout)."""

    how: Literal["reset", "stall"]
    stall: float = 0.0


class FakeSlack:
    """Slack's Web API and response URLs on 127.0.0.1, recording everything it receives."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",  # noqa: S107 (a test token)
        app_token: str = "xapp-test-token",  # noqa: S107 (a test token)
        *,
        realistic: bool | None = None,
        limits: SlackLimits | None = None,
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.realistic = REALISTIC_BY_DEFAULT if realistic is None else realistic
        self.clock = SlackClock()
        self.rates = RateLimiter(limits or SlackLimits(), self.clock)
        self.workspace = Workspace(self.clock)
        self.api = WebApi(self.workspace, realistic=self.realistic, upload_url=self._file_upload_url)
        self.socket = FakeSocketMode()
        self.calls: list[SlackCall] = []
        self.response_posts: list[ResponseUrlPost] = []
        self.token_error: str | None = None  # set by revoke_token
        self._failures: dict[str, list[_Failure]] = {}
        self._losses: dict[str, list[_Loss]] = {}
        self.scopes = set(SCOPES.split(","))  # what the token was granted (auth.test's X-OAuth-Scopes)
        self.api.answers["apps.connections.open"] = lambda args: {
            "ok": True,
            "url": self.socket.issue_url(self._server.url),
        }
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_post("/upload/{file_id}", self._handle_upload)
        app.router.add_get("/link", self.socket.handle)
        app.on_shutdown.append(self.socket.close_all)
        self._server = LocalServer(app)

    # ---- where it listens -------------------------------------------------------------------------------

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: the ``base_url`` for slack-sdk (it must end with ``/``)."""
        return f"{self._server.url}/api/"

    @property
    def response_url_base(self) -> str:
        """``http://127.0.0.1:PORT/response/``: append a key to get a response URL."""
        return f"{self._server.url}/response/"

    def response_url(self, key: str = "r1", *, user: str | None = None) -> str:
        """A response URL; naming ``user`` issues it now for that person (see ``seen_by``)."""
        if user is not None:
            self.workspace.issue_response_url(key, user)
        return f"{self.response_url_base}{key}"

    def _file_upload_url(self, file_id: str) -> str:
        return f"{self._server.url}/upload/{file_id}"

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    # ---- what a test sets up ------------------------------------------------------------------------

    @property
    def channels(self) -> Channels:
        """Where the bot is a member (realistic mode): ``remove_bot``, ``archive``, ``only``, ``add_bot``."""
        return self.workspace.channels

    @property
    def limits(self) -> SlackLimits:
        return self.rates.limits

    @limits.setter
    def limits(self, limits: SlackLimits) -> None:
        self.rates.limits = limits

    @property
    def users_in_group(self) -> dict[str, list[str]]:
        return self.api.users_in_group

    def mint_trigger(self, trigger_id: str | None = None) -> str:
        """A trigger id handed out now, valid 3 s and once (put it in the payload sent to the bot)."""
        return self.workspace.mint_trigger(trigger_id)

    def add_user_message(
        self, channel: str, ts: str, user: str = "U1", text: str = "", thread_ts: str = ""
    ) -> None:
        """A person's message the stand-in should know (e.g. a reply that makes a thread have replies)."""
        self.workspace.add_user_message(channel, ts, user, text, thread_ts)

    def revoke_token(self, error: str = "token_revoked") -> None:
        """From now on every Web API call answers ``error`` (``invalid_auth``, ``token_revoked``, ...)."""
        self.token_error = error

    def restore_token(self) -> None:
        self.token_error = None

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, []).extend(_Failure(error=error) for _ in range(times))

    def lose_answer(
        self, method: str, *, how: Literal["reset", "stall"] = "reset", stall: float = 0.0, times: int = 1
    ) -> None:
        """The next ``times`` calls of ``method`` are carried out (a post is stored, in its thread), but
        their answers never arrive: the connection is reset, or the answer waits ``stall`` seconds."""
        self._losses.setdefault(method, []).extend(_Loss(how, stall) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After: retry_after``."""
        self._failures.setdefault(method, []).extend(_Failure(retry_after=retry_after) for _ in range(times))

    # ---- what a test reads --------------------------------------------------------------------------

    def of(self, method: str) -> list[SlackCall]:
        """Every call of ``method``, refused ones included."""
        return [c for c in self.calls if c.method == method]

    def accepted(self, method: str) -> list[SlackCall]:
        """The calls of ``method`` that Slack took (``ok: true``)."""
        return [c for c in self.calls if c.method == method and c.ok]

    @property
    def rate_limited(self) -> list[RateLimited]:
        """Every 429 the realistic limits gave (scripted ``rate_limit`` ones are not in it)."""
        return self.rates.refused

    @property
    def messages(self) -> list[Message]:
        """Every message in the workspace as it stands (updates applied), the bot's and those added."""
        return self.workspace.messages

    @property
    def ephemerals(self) -> list[Ephemeral]:
        return self.workspace.ephemerals

    @property
    def files(self) -> dict[str, UploadedFile]:
        return self.workspace.files

    def thread(self, channel: str, thread_ts: str) -> list[Message]:
        """A thread's root (if known) and its replies, oldest first."""
        return self.workspace.thread_of(channel, thread_ts)

    def seen_by(self, user: str, channel: str) -> list[Message | Ephemeral]:
        """What ``user`` would see in ``channel``: its messages and the ephemerals Slack showed them."""
        return self.workspace.seen_by(user, channel)

    def response_posts_seen_by(self, user: str) -> list[ResponseUrlPost]:
        """Accepted posts to response URLs issued for ``user`` (``response_url(key, user=...)``)."""
        return [
            p
            for p in self.response_posts
            if p.status == 200 and self.workspace.response_url_owner(p.key) == user
        ]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:  # noqa: ASYNC109
        """Wait until ``count`` calls of ``method`` arrived; AssertionError listing all calls otherwise."""
        return await wait_until(lambda: self.of(method), count, timeout, self._describe_calls)

    async def wait_for_accepted(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:  # noqa: ASYNC109
        """Wait until Slack took ``count`` calls of ``method``."""
        return await wait_until(lambda: self.accepted(method), count, timeout, self._describe_calls)

    async def wait_for_response_posts(self, count: int = 1, timeout: float = 5.0) -> list[ResponseUrlPost]:  # noqa: ASYNC109
        """Wait until ``count`` posts to response URLs arrived."""
        return await wait_until(
            lambda: self.response_posts, count, timeout, lambda: repr(self.response_posts) or "none"
        )

    def _describe_calls(self) -> str:
        return ", ".join(f"{c.method}{'' if c.ok else '(refused)'}" for c in self.calls) or "none"

    # ---- handlers -----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = {**request.query, **await body_args(request)}
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = SlackCall(method, args, headers)
        self.calls.append(call)
        token = headers.get("authorization", "").removeprefix("Bearer ") or args.get("token")
        answer, status, extra = self._answer(method, args, token), 200, {}
        if isinstance(answer, int):  # rate limited: Retry-After seconds
            answer, status, extra = {"ok": False, "error": "ratelimited"}, 429, {"Retry-After": str(answer)}
        elif method == "auth.test" and answer.get("ok"):
            extra = {"X-OAuth-Scopes": ",".join(sorted(self.scopes))}
        call.answer, call.status = answer, status
        if lost := self._losses.get(method):
            loss = lost.pop(0)
            call.status = 0  # done, but the caller never hears it
            if loss.how == "reset" and request.transport is not None:
                request.transport.close()
                return web.Response(status=500)  # written to nobody: the connection is gone
            await asyncio.sleep(loss.stall)  # Slack is slow to answer; the caller times out meanwhile
        return web.json_response(answer, status=status, headers=extra)

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any] | int:
        """The body Slack would answer, or the Retry-After seconds of a 429."""
        if error := self._token_refusal(method, token):
            return {"ok": False, "error": error}
        if queue := self._failures.get(method):
            failure = queue.pop(0)
            if failure.retry_after is not None:
                return failure.retry_after
            return {"ok": False, "error": failure.error or "unknown_error"}
        if self.realistic and (wait := self.rates.check(method, _channel_of(method, args))) is not None:
            return wait
        if (scope := NEEDS_SCOPE.get(method)) and scope not in self.scopes:
            return {"ok": False, "error": "missing_scope", "needed": scope, "provided": ",".join(self.scopes)}
        return self.api.answer(method, args)

    def _token_refusal(self, method: str, token: str | None) -> str | None:
        if not token:
            return "not_authed"
        if method == "apps.connections.open":  # the one method that takes the app-level token
            if token != self.app_token:
                return "not_allowed_token_type" if token == self.bot_token else "invalid_auth"
        elif token != self.bot_token:
            return "invalid_auth"
        return self.token_error

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        """Slack takes 5 posts to a response URL within 30 minutes (NOTES.md); then HTTP 404 ``used_url``
        (``expired_url`` after the 30 minutes). Block limits apply, the 12,000 total does not."""
        body = await request.read()
        post = ResponseUrlPost(request.match_info["key"], json.loads(body or b"null"))
        self.response_posts.append(post)
        if self.realistic:
            if error := self.workspace.use_response_url(post.key):
                post.status, post.error = 404, error
            elif isinstance(post.json, dict) and (refusal := check_message(post.json, total_limit=False)):
                post.status, post.error = 400, refusal.error
        return web.Response(text=post.error or "ok", status=post.status)

    async def _handle_upload(self, request: web.Request) -> web.Response:
        """The upload URL of ``files.getUploadURLExternal``: the file's bytes, as slack-sdk POSTs them."""
        content = await request.read()
        if not self.api.receive_upload(request.match_info["file_id"], content):
            return web.Response(status=404, text="not found")
        return web.Response(text=f"OK - {len(content)}")


def _channel_of(method: str, args: dict[str, Any]) -> str | None:
    return str(args.get("channel") or "") if method == "chat.postMessage" else None
