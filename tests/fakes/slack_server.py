"""FakeSlack: a local stand-in for Slack's Web API and for the ``response_url``s Slack hands out.

Point ``AsyncWebClient(base_url=fake.api_url)`` at it. Every call is recorded with its arguments, whether
slack-sdk sent them as JSON, as a form or in the query string. Tests can make the next calls of a method
fail (``fail``) or be rate limited (``rate_limit``); otherwise it answers like Slack for the methods the
bot uses and ``{"ok": true}`` for any other. ``apps.connections.open`` (with the app-level token) hands
out a Socket Mode URL on this same server; ``socket`` (a FakeSocketMode) is Slack's end of those sockets.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from tests.fakes._http import LocalServer, wait_until
from tests.fakes.slack_socket import FakeSocketMode

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"
SCOPES = "commands,app_mentions:read,chat:write,reactions:read"
JSON_FORM_FIELDS = {"blocks", "attachments", "view", "metadata"}  # slack-sdk JSON-encodes these in forms


@dataclass
class SlackCall:
    """One Web API call. ``args`` merges query string and body; ``headers`` keys are lower-case."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    answer: dict[str, Any] = field(default_factory=dict)  # what the fake answered (e.g. the posted ts)


@dataclass
class ResponseUrlPost:
    """One POST to a ``response_url`` (what Bolt's ``respond()`` sends)."""

    key: str
    json: Any


@dataclass
class _Failure:
    error: str | None = None  # {"ok": false, "error": ...}
    retry_after: int | None = None  # HTTP 429 with Retry-After


@dataclass
class _Sequence:
    """Slack-like message timestamps, unique and increasing: 1700000000.000100, ...000200, ..."""

    count: int = 0

    def next_ts(self) -> str:
        self.count += 1
        return f"1700000000.{self.count * 100:06d}"


class FakeSlack:
    """Slack's Web API and response URLs on 127.0.0.1, recording everything it receives."""

    def __init__(
        self,
        bot_token: str = "xoxb-test-token",  # noqa: S107 (a test token)
        app_token: str = "xapp-test-token",  # noqa: S107 (a test token)
    ) -> None:
        self.bot_token = bot_token
        self.app_token = app_token
        self.socket = FakeSocketMode()
        self.calls: list[SlackCall] = []
        self.response_posts: list[ResponseUrlPost] = []
        self.users_in_group: dict[str, list[str]] = {}
        self._failures: dict[str, list[_Failure]] = {}
        self._ts = _Sequence()
        self._views = 0
        self._answers: dict[str, Callable[[dict[str, Any]], dict[str, Any]]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": lambda args: {"ok": True, "message_ts": self._ts.next_ts()},
            "views.open": self._view,
            "views.update": self._view,
            "views.push": self._view,
            "usergroups.users.list": self._group_users,
            "apps.connections.open": lambda args: {
                "ok": True,
                "url": self.socket.issue_url(self._server.url),
            },
        }
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle_api)
        app.router.add_post("/response/{key}", self._handle_response_url)
        app.router.add_get("/link", self.socket.handle)
        app.on_shutdown.append(self.socket.close_all)
        self._server = LocalServer(app)

    @property
    def api_url(self) -> str:
        """``http://127.0.0.1:PORT/api/``: the ``base_url`` for slack-sdk (it must end with ``/``)."""
        return f"{self._server.url}/api/"

    @property
    def response_url_base(self) -> str:
        """``http://127.0.0.1:PORT/response/``: append a key to get a response URL."""
        return f"{self._server.url}/response/"

    def response_url(self, key: str = "r1") -> str:
        return f"{self.response_url_base}{key}"

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    def of(self, method: str) -> list[SlackCall]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[SlackCall]:  # noqa: ASYNC109
        """Wait until ``count`` calls of ``method`` arrived; AssertionError listing all calls otherwise."""
        return await wait_until(
            lambda: self.of(method), count, timeout, lambda: ", ".join(c.method for c in self.calls) or "none"
        )

    async def wait_for_response_posts(self, count: int = 1, timeout: float = 5.0) -> list[ResponseUrlPost]:  # noqa: ASYNC109
        """Wait until ``count`` posts to response URLs arrived."""
        return await wait_until(
            lambda: self.response_posts, count, timeout, lambda: repr(self.response_posts) or "none"
        )

    def fail(self, method: str, error: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer ``{"ok": false, "error": error}``."""
        self._failures.setdefault(method, []).extend(_Failure(error=error) for _ in range(times))

    def rate_limit(self, method: str, retry_after: int = 1, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` answer HTTP 429 with ``Retry-After: retry_after``."""
        self._failures.setdefault(method, []).extend(_Failure(retry_after=retry_after) for _ in range(times))

    # ---- handlers -----------------------------------------------------------------------------------

    async def _handle_api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        args = {**request.query, **await _body_args(request)}
        headers = {k.lower(): v for k, v in request.headers.items()}
        call = SlackCall(method, args, headers)
        self.calls.append(call)
        token = headers.get("authorization", "").removeprefix("Bearer ") or args.get("token")
        if not token:
            return _ok_false("not_authed")
        if method == "apps.connections.open":  # the one method that takes the app-level token
            if token != self.app_token:
                return _ok_false("not_allowed_token_type" if token == self.bot_token else "invalid_auth")
        elif token != self.bot_token:
            return _ok_false("invalid_auth")
        if queue := self._failures.get(method):
            failure = queue.pop(0)
            if failure.retry_after is not None:
                return web.json_response(
                    {"ok": False, "error": "ratelimited"},
                    status=429,
                    headers={"Retry-After": str(failure.retry_after)},
                )
            return _ok_false(failure.error or "unknown_error")
        answer = self._answers[method](args) if method in self._answers else {"ok": True}
        call.answer = answer
        headers_out = {"X-OAuth-Scopes": SCOPES} if method == "auth.test" else {}
        return web.json_response(answer, headers=headers_out)

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        body = await request.read()
        self.response_posts.append(ResponseUrlPost(request.match_info["key"], json.loads(body or b"null")))
        return web.Response(text="ok")

    # ---- answers per method ---------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> dict[str, Any]:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "zapbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel"):
            return {"ok": False, "error": "channel_not_found"}
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        ts = self._ts.next_ts()
        content = {k: v for k, v in args.items() if k not in {"channel", "token"}}
        message = {"type": "message", **content, "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
        return {"ok": True, "channel": args["channel"], "ts": ts, "message": message}

    def _update(self, args: dict[str, Any]) -> dict[str, Any]:
        if not args.get("channel") or not args.get("ts"):
            return {"ok": False, "error": "message_not_found"}
        content = {k: v for k, v in args.items() if k not in {"channel", "token"}}
        return {
            "ok": True,
            "channel": args["channel"],
            "ts": args["ts"],
            "text": args.get("text", ""),
            "message": {"type": "message", **content, "user": BOT_USER_ID, "bot_id": BOT_ID},
        }

    def _view(self, args: dict[str, Any]) -> dict[str, Any]:
        self._views += 1
        view = args["view"] if isinstance(args.get("view"), dict) else {}
        view_id = args.get("view_id") or f"V{self._views}"
        return {"ok": True, "view": {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"h{self._views}"}}

    def _group_users(self, args: dict[str, Any]) -> dict[str, Any]:
        group = args.get("usergroup", "")
        if group not in self.users_in_group:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.users_in_group[group])}


async def _body_args(request: web.Request) -> dict[str, Any]:
    """The call's arguments: a JSON object, or a form whose JSON-valued fields are decoded."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {"_body": body}
    form = dict(await request.post())
    for name in JSON_FORM_FIELDS & form.keys():
        value = form[name]
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # else left as sent (Slack would say invalid_blocks)
                form[name] = json.loads(value)
    return form


def _ok_false(error: str) -> web.Response:
    return web.json_response({"ok": False, "error": error})
