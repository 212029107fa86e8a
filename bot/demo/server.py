"""The simulated Zapier AI Actions API v2: an aiohttp server on 127.0.0.1 that answers like Zapier.

It serves what zapbot calls, shaped as the vendor's OpenAPI document says (execute and rate) and as
Zapier documents the rest (auth check, guess-actions, app search, an app's actions):

    POST /api/v2/execute/                      preview_only=true: status `preview`, the resolved params;
                                               otherwise a run: `success`, `empty` (a search that found
                                               nothing) or `error` (e.g. a needed param is missing)
    POST /api/v2/execute/log/{id}/rate/        records the rating (see `ratings`)
    GET  /api/v2/auth/check/                   who the key belongs to (a demo account)
    POST /api/v2/guess-actions/                actions matching plain English
    GET  /api/v2/apps/search/?query=           apps by name
    GET  /api/v2/apps/{app}/actions/?query=    one app's actions

Requests must carry the simulator's key (`x-api-key`, or `Authorization: Bearer`); a request the spec
refuses gets the spec's error answer (400, or 422 with `detail`). Each exchange is kept (the last
`KEPT_EXCHANGES`) so that tests can hold them to the spec.
"""

from __future__ import annotations

import logging
import re
import secrets
from collections import deque
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from bot.demo.catalogue import APPS, DemoAction, DemoApp, Outcome, find_action, find_app

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
ActionTypeName = Literal["read", "write", "search", "read_bulk"]
DEFAULT_TYPES: tuple[ActionTypeName, ...] = ("write", "search", "read")

KEPT_EXCHANGES = 500
DEMO_ACCOUNT = {"success": True, "email": "demo@zapbot.invalid", "name": "Demo Account", "user_id": 1}
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_WORDS = re.compile(r"[a-z0-9]+")
_STOP_WORDS = frozenset(
    ["a", "an", "and", "the", "to", "of", "for", "in", "on", "at", "my", "me", "about", "from", "with"]
)


@dataclass(frozen=True)
class Exchange:
    """One request as received and the answer given. `headers` keys are lower-case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    status: int
    answer: bytes


@dataclass(frozen=True)
class Rating:
    """One call of the rate endpoint, as recorded."""

    execution_log_id: str
    rating: int | None
    feedback: str | None


@dataclass
class _Log:
    action_used: str
    input_params: dict[str, Any]
    resolved_params: dict[str, Any]
    status: str


class _Param(BaseModel):
    """The spec's ParamConstraint."""

    mode: Literal["locked", "guess", "choose_from", "ignored"]
    value: str | list[str] | dict[str, str] | None = None


class _ExecuteBody(BaseModel):
    """The spec's StatelessExecuteRequest (other properties are allowed, as the spec allows them)."""

    model_config = ConfigDict(extra="allow", strict=True)

    instructions: str
    app: str
    action: str
    action_type: ActionTypeName = "write"
    params: dict[str, _Param] = Field(default_factory=dict)
    authentication_id: int | None = None
    account_id: int | None = None


class _GuessBody(BaseModel):
    model_config = ConfigDict(strict=True)

    query: str = Field(min_length=1)
    action_types: list[ActionTypeName] = Field(default_factory=lambda: [*DEFAULT_TYPES], min_length=1)
    count: int = Field(default=25, ge=1, le=100)


class Refused(Exception):
    """A request Zapier would refuse: the status and the spec's error body."""

    def __init__(self, status: int, error: str, detail: Any = None) -> None:
        super().__init__(error)
        self.status = status
        self.body: dict[str, Any] = {"error": error} if detail is None else {"error": error, "detail": detail}


class DemoZapier:
    """The simulator: `await start()`, give the client `url` and `api_key`, `await stop()` at the end."""

    def __init__(self, api_key: str | None = None) -> None:
        self.api_key = api_key or "demo-" + secrets.token_urlsafe(16)
        self.ratings: list[Rating] = []
        self.exchanges: deque[Exchange] = deque(maxlen=KEPT_EXCHANGES)
        self._logs: dict[str, _Log] = {}
        self._runs = 0
        app = web.Application(middlewares=[self._keep_exchange])
        app.router.add_post("/api/v2/execute/", self._execute)
        app.router.add_post("/api/v2/execute/log/{log_id}/rate/", self._rate)
        app.router.add_get("/api/v2/auth/check/", self._auth_check)
        app.router.add_post("/api/v2/guess-actions/", self._guess_actions)
        app.router.add_get("/api/v2/apps/search/", self._search_apps)
        app.router.add_get("/api/v2/apps/{app}/actions/", self._app_actions)
        self._app = app
        self._runner: web.AppRunner | None = None
        self._port = 0

    def __repr__(self) -> str:
        return f"DemoZapier(url={self.url if self._port else None!r})"  # never the key

    @property
    def url(self) -> str:
        """`http://127.0.0.1:PORT`, once started."""
        if not self._port:
            raise RuntimeError("the simulator is not started")
        return f"http://127.0.0.1:{self._port}"

    async def start(self) -> None:
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=1.0)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    # ---- every request -------------------------------------------------------------------------------

    @web.middleware
    async def _keep_exchange(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.read()
        try:
            self._authenticate(request)
            response: web.StreamResponse = await handler(request)
        except Refused as exc:
            response = web.json_response(exc.body, status=exc.status)
        except web.HTTPException as exc:  # an unknown path or method
            response = web.json_response({"error": exc.reason}, status=exc.status)
        sent = response.body if isinstance(response, web.Response) else None
        answer = sent if isinstance(sent, bytes) else b""
        self.exchanges.append(
            Exchange(
                request.method,
                request.path,
                dict(request.query),
                {k.lower(): v for k, v in request.headers.items()},
                body,
                response.status,
                answer,
            )
        )
        return response

    def _authenticate(self, request: web.Request) -> None:
        given = {request.headers.get("x-api-key"), request.headers.get("authorization")}
        if not given & {self.api_key, f"Bearer {self.api_key}"}:
            raise Refused(401, "Invalid API key.")

    # ---- execute --------------------------------------------------------------------------------------

    async def _execute(self, request: web.Request) -> web.Response:
        body = await _body(_ExecuteBody, request)
        preview = _flag(request, "preview_only")
        skip_guessing = _flag(request, "skip_param_guessing")
        if preview and skip_guessing:
            raise Refused(400, "skip_param_guessing cannot be combined with preview_only.")
        if skip_guessing and (
            guessed := sorted(k for k, p in body.params.items() if p.mode not in {"locked", "ignored"})
        ):
            raise Refused(
                400, "With skip_param_guessing every param must be locked or ignored: " + ", ".join(guessed)
            )
        input_params = {k: p.model_dump(exclude_none=True) for k, p in body.params.items()}
        log_id = _log_id()
        action = find_action(body.app, body.action)
        if action is None:
            outcome = Outcome("error", error=_unknown(body.app, body.action))
            return self._answer(log_id, f"{body.app} {body.action}", input_params, {}, outcome)
        resolved = _resolve(action, body.params, body.instructions, guess=not skip_guessing)
        if preview:
            return self._answer(log_id, action.name, input_params, resolved, Outcome("preview"))
        self._runs += 1
        return self._answer(log_id, action.name, input_params, resolved, action.run(resolved, self._runs))

    def _answer(
        self,
        log_id: str,
        action_used: str,
        input_params: dict[str, Any],
        resolved: dict[str, Any],
        outcome: Outcome,
    ) -> web.Response:
        self._logs[log_id] = _Log(action_used, input_params, resolved, outcome.status)
        answer: dict[str, Any] = {
            "execution_log_id": log_id,
            "action_used": action_used,
            "input_params": input_params,
            "resolved_params": resolved,
            "results": outcome.results,
            "status": outcome.status,
        }
        if outcome.labels:
            answer["result_field_labels"] = outcome.labels
        if outcome.error:
            answer["error"] = outcome.error
        return web.json_response(answer)

    # ---- rate -----------------------------------------------------------------------------------------

    async def _rate(self, request: web.Request) -> web.Response:
        log_id = request.match_info["log_id"]
        raw = request.query.get("rating")
        try:
            rating = int(raw) if raw is not None else None
        except ValueError:
            detail = [{"loc": ["query", "rating"], "msg": "not an integer"}]
            raise Refused(422, "Invalid request.", detail) from None
        if rating not in {None, -1, 0, 1}:
            raise Refused(400, "rating must be -1, 0 or 1.")
        found = self._logs.get(log_id)
        if found is None:
            raise Refused(400, f"No execution log {log_id}.")
        feedback = request.query.get("feedback")
        self.ratings.append(Rating(log_id, rating, feedback))
        log.info("demo: execution log %s rated %s", log_id, rating)
        return web.json_response(
            {
                "execution_log_id": log_id,
                "action_used": found.action_used,
                "input_params": found.input_params,
                "resolved_params": found.resolved_params,
                "status": found.status,
            }
        )

    # ---- account and discovery -----------------------------------------------------------------------

    async def _auth_check(self, _request: web.Request) -> web.Response:
        return web.json_response(DEMO_ACCOUNT)

    async def _guess_actions(self, request: web.Request) -> web.Response:
        body = await _body(_GuessBody, request)
        wanted = _words(body.query)
        scored = []
        for app in APPS:
            for action in app.actions:
                if action.action_type not in body.action_types:
                    continue
                hits = 3 * len(wanted & _words(action.name)) + len(wanted & _words(action.description))
                hits += 2 * len(wanted & _words(app.name))
                if hits:
                    scored.append((hits, app, action))
        scored.sort(key=lambda found: -found[0])  # stable: catalogue order breaks ties
        top = max((hits for hits, _, _ in scored), default=1)
        return web.json_response(
            [
                {
                    "app": app.app,
                    "action": action.action,
                    "action_type": action.action_type,
                    "name": f"{app.name}: {action.name}",
                    "description": action.description,
                    "image": None,
                    "score": round(hits / top, 3),
                }
                for hits, app, action in scored[: body.count]
            ]
        )

    async def _search_apps(self, request: web.Request) -> web.Response:
        query = request.query.get("query", "").strip().lower()
        found = [app for app in APPS if query in app.app.lower() or query in app.name.lower()]
        return web.json_response({"results": [_app_item(app) for app in found]})

    async def _app_actions(self, request: web.Request) -> web.Response:
        app = find_app(request.match_info["app"])
        if app is None:
            return web.json_response({"error": f"App {request.match_info['app']} not found."}, status=404)
        wanted = _words(request.query.get("query", ""))
        return web.json_response(
            {
                "results": [
                    {
                        "app": app.app,
                        "action": action.action,
                        "action_type": action.action_type,
                        "name": action.name,
                        "description": action.description,
                    }
                    for action in app.actions
                    if not wanted or wanted & _words(f"{action.name} {action.description} {action.action}")
                ]
            }
        )


def _resolve(
    action: DemoAction, given: dict[str, _Param], instructions: str, *, guess: bool
) -> dict[str, Any]:
    """What the AI would use: locked and guessed values as given (a guess is taken at its word), the first
    of a choose_from list, nothing for ignored; each need nobody gave, guessed from the instructions."""
    resolved: dict[str, Any] = {}
    for key, param in given.items():
        if param.mode == "ignored":
            continue
        value = param.value
        if param.mode == "choose_from" and isinstance(value, list):
            value = value[0] if value else None
        resolved[key] = value
    if guess:
        for need in action.needs:
            if need.key not in given and (value := need.guess(instructions)) is not None:
                resolved[need.key] = value
    return resolved


def _app_item(app: DemoApp) -> dict[str, Any]:
    counts: dict[str, int] = {}
    for action in app.actions:
        counts[action.action_type] = counts.get(action.action_type, 0) + 1
    return {
        "app": app.app,
        "name": app.name,
        "description": app.description,
        "image": None,
        "actions": counts,
    }


def _unknown(app: str, action: str) -> str:
    known = ", ".join(f"{a.app} {x.action}" for a in APPS for x in a.actions)
    if find_app(app) is None:
        return f"The demo has no app {app}. It knows: {known}."
    return f"The demo's {app} has no action {action}. It knows: {known}."


def _flag(request: web.Request, name: str) -> bool:
    value = request.query.get(name, "false").strip().lower()
    if value in {"true", "1", "yes", "on"}:
        return True
    if value in {"false", "0", "no", "off", ""}:
        return False
    raise Refused(422, "Invalid request.", [{"loc": ["query", name], "msg": "not a boolean"}])


async def _body(model: type[M], request: web.Request) -> M:
    """The JSON body read as `model` (strictly: no type coercion); a 422 saying where it does not fit."""
    try:
        return model.model_validate_json(await request.read() or b"null")
    except ValidationError as exc:
        detail = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        raise Refused(422, "Invalid request.", detail) from None


def _words(text: str) -> set[str]:
    return {w for w in _WORDS.findall(text.lower()) if len(w) > 1 and w not in _STOP_WORDS}


def _log_id() -> str:
    """An id shaped like Zapier's execution log ids (a ULID: 26 Crockford base-32 characters)."""
    return "01" + "".join(secrets.choice(_CROCKFORD) for _ in range(24))
