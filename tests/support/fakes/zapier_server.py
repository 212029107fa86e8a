"""FakeZapier: a local stand-in for the Zapier AI Actions API v2 that holds every exchange to the spec.

Each request is checked against the vendored OpenAPI document, tests/spec/ (path, method, query parameters,
JSON body, credentials) and each answer the fake gives is checked too, unless the test marked it ``off_spec``.
Anything that does not fit lands in ``violations``; the ``fake_zapier`` fixture fails a test that leaves
any behind. Tests script answers per operation (``script``); otherwise the fake answers like Zapier would.
Endpoints the spec file does not describe (``zapier_extras``: ``guess``, ``apps``, ``actions``) are checked
against small JSON schemas of our own instead.
"""

from __future__ import annotations

import asyncio
import json
import re
import warnings
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

from aiohttp import web
from multidict import CIMultiDict, MultiDict
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from openapi_core.validation.request.exceptions import SecurityValidationError

from tests.support.fakes import zapier_extras
from tests.support.fakes._http import LocalServer, wait_until

SPEC_PATH = Path(__file__).resolve().parents[2] / "spec" / "zapier-ai-actions-v2.openapi.yaml"
SPEC_HOST = "https://actions.zapier.com"  # the spec's only server: requests are matched as if sent there
EXECUTE_PATH = re.compile(r"/api/v2/execute/")
RATE_PATH = re.compile(r"/api/v2/execute/log/(?P<log_id>[^/]+)/rate/")
AUTH_CHECK_PATH = "/api/v2/auth/check/"
# Documented by Zapier but not in the spec file: checked minimally here (method, no body, credentials).
EXTRA_OPERATIONS = {"auth_check"}
ACCOUNT = {"success": True, "email": "ada@example.com", "name": "Ada Lovelace", "user_id": 4242}
LABELS = {"text": "Message Text", "message_ts": "Message Timestamp"}


@dataclass
class Reply:
    """A scripted answer. ``off_spec=True`` says it breaks the spec on purpose: not a violation."""

    status: int = 200
    json: Any = None
    body: bytes | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    off_spec: bool = False


class Drop:
    """A scripted answer: close the connection without answering (the client sees a reset)."""


@dataclass
class ZapierRequest:
    """One request as received. ``headers`` keys are lower-case."""

    operation: str  # preview, execute, rate, auth_check, an extra (guess, apps, actions) or unknown
    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class _SpecRequest:
    """openapi-core's request protocol for what we received."""

    method: str
    path: str
    body: bytes | None
    content_type: str
    parameters: RequestParameters
    host_url: str = SPEC_HOST


@dataclass
class _SpecResponse:
    """openapi-core's response protocol for what we are about to send."""

    status_code: int
    data: bytes
    content_type: str
    headers: dict[str, str]


@cache
def _load_spec(path: Path) -> OpenAPI:
    return OpenAPI.from_file_path(str(path))


# openapi-core takes milliseconds to check one exchange, and the tests send the same requests and get the
# same answers again and again: what a check found depends only on what it read (below), so each distinct
# exchange is checked once per process. Bounded: emptied when full.
_CHECKED_MAX = 4096
_checked_requests: dict[tuple[Any, ...], tuple[str, ...]] = {}
_checked_answers: dict[tuple[Any, ...], tuple[str, ...]] = {}


def _exchange_key(record: ZapierRequest, raw: bytes) -> tuple[Any, ...]:
    """Everything of a request that openapi-core reads: method, path, query, body, its type, credentials."""
    headers = record.headers
    return (
        record.method,
        record.path,
        tuple(sorted(record.query.items())),
        raw,
        headers.get("content-type", "").lower(),
        headers.get("x-api-key"),
        headers.get("authorization"),
    )


def _remember(
    checked: dict[tuple[Any, ...], tuple[str, ...]], key: tuple[Any, ...], problems: list[str]
) -> tuple[str, ...]:
    if len(checked) >= _CHECKED_MAX:
        checked.clear()
    checked[key] = found = tuple(problems)
    return found


class ContractCheck:
    """Holds one exchange with Zapier to the contract: the operations of the shared OpenAPI file with
    openapi-core, the discovery endpoints it lacks with `zapier_extras`' schemas, the auth check minimally.

    FakeZapier checks everything it receives and answers with it; the tests of bot/demo's simulator check
    every exchange the simulator had. Each problem is one line; none means the exchange fits.
    """

    def __init__(self, spec_path: Path = SPEC_PATH) -> None:
        self._spec = _load_spec(spec_path)
        self._spec_path = spec_path

    def request_problems(self, record: ZapierRequest, raw: bytes) -> list[str]:
        """How the request (`record`, its body `raw`) breaks the contract."""
        extra = zapier_extras.find_extra(record.method, record.path)
        if extra is not None:
            problems = zapier_extras.request_problems(extra, record.query, raw, record.json)
            return problems + _credential_problems(record)
        if record.operation == "unknown":
            return [f"no such operation in the spec: {record.method} {record.path}"]
        if record.operation in EXTRA_OPERATIONS:
            return _extra_problems(record)
        key = (self._spec_path, *_exchange_key(record, raw))
        if (found := _checked_requests.get(key)) is None:
            with warnings.catch_warnings():
                # openapi-core cannot check the spec's OAuth scheme and warns; credentials are checked below.
                warnings.simplefilter("ignore", UserWarning)
                result = self._spec.unmarshal_request(_spec_request(record, raw))
            found = _remember(
                _checked_requests,
                key,
                [_explain(e) for e in result.errors if not isinstance(e, SecurityValidationError)],
            )
        problems = [*found, *_credential_problems(record)]
        rating = record.query.get("rating")
        if record.operation == "rate" and rating is not None and rating not in {"-1", "0", "1"}:
            problems.append(f"rating must be -1, 0 or 1, got {rating!r}")
        return problems

    def answer_problems(
        self, record: ZapierRequest, raw: bytes, status: int, data: bytes, content_type: str
    ) -> list[str]:
        """How the answer (`status`, body `data`) to that request breaks the contract."""
        extra = zapier_extras.find_extra(record.method, record.path)
        if extra is not None:
            try:
                body = json.loads(data)
            except ValueError:
                problems = ["the answer is not JSON"]
            else:
                problems = zapier_extras.answer_problems(extra, status, body)
        elif record.operation in EXTRA_OPERATIONS or record.operation == "unknown":
            return []
        else:
            key = (self._spec_path, *_exchange_key(record, raw), status, data, content_type)
            if (found := _checked_answers.get(key)) is None:
                response = _SpecResponse(status, data, content_type, {"Content-Type": content_type})
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", UserWarning)
                    result = self._spec.unmarshal_response(_spec_request(record, raw), response)
                found = _remember(_checked_answers, key, [_explain(e) for e in result.errors])
            problems = list(found)
        return [f"answer {status} to {record.operation}: {p}" for p in problems]


def _spec_request(record: ZapierRequest, raw: bytes) -> _SpecRequest:
    return _SpecRequest(
        method=record.method.lower(),
        path=record.path,
        body=raw or None,
        content_type=record.headers.get("content-type", "").lower(),
        parameters=RequestParameters(
            query=MultiDict(record.query), header=CIMultiDict(record.headers), cookie={}
        ),
    )


class FakeZapier:
    """Zapier AI Actions v2 on 127.0.0.1: records, validates, and answers scripted or default replies."""

    def __init__(self, api_key: str = "test-zapier-key", spec_path: Path = SPEC_PATH) -> None:
        self.api_key = api_key
        self.requests: list[ZapierRequest] = []
        self.violations: list[str] = []
        self.latency = 0.0
        self._contract = ContractCheck(spec_path)
        self._scripts: dict[str, list[Reply | Drop]] = {}
        self._log_count = 0
        self._actions: dict[str, str] = {}  # execution_log_id -> action_used, for rate answers
        # Served before the spec's operations, unrecorded: e.g. the OAuth endpoints (zapier_oauth.py).
        self.extra_routes: dict[str, Callable[[web.Request], Awaitable[web.StreamResponse]]] = {}
        # Which `Authorization: Bearer` tokens the API accepts besides the API key (zapier_oauth.py).
        self.accepts_bearer: Callable[[str], bool] = lambda token: False
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = LocalServer(app)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``: the base URL to give the Zapier client."""
        return self._server.url

    async def start(self) -> None:
        await self._server.start()

    async def stop(self) -> None:
        await self._server.stop()

    def script(self, operation: str, *replies: Reply | Drop) -> None:
        """Queue answers for the next requests of ``operation``; once used up, defaults resume."""
        self._scripts.setdefault(operation, []).extend(replies)

    def unscript(self, operation: str) -> None:
        """Drop the replies still queued for `operation`: it gets the default answers again."""
        self._scripts.pop(operation, None)

    def of(self, operation: str) -> list[ZapierRequest]:
        return [r for r in self.requests if r.operation == operation]

    async def wait_for(self, operation: str, count: int = 1, timeout: float = 5.0) -> list[ZapierRequest]:  # noqa: ASYNC109
        """Wait until ``count`` requests of ``operation`` arrived; AssertionError listing all otherwise."""
        return await wait_until(lambda: self.of(operation), count, timeout, self._describe)

    def _describe(self) -> str:
        return ", ".join(f"{r.operation} {r.method} {r.path}" for r in self.requests) or "nothing"

    # ---- one request ----------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if (route := self.extra_routes.get(request.path)) is not None:
            return await route(request)
        raw = await request.read()
        record = received(request.method, request.path, request.query, request.headers, raw)
        self.requests.append(record)
        problems = self._contract.request_problems(record, raw)
        self.violations += [f"{record.method} {request.path_qs}: {p}" for p in problems]
        reply = self._choose_reply(record, problems)
        await asyncio.sleep(self.latency + (reply.delay if isinstance(reply, Reply) else 0.0))
        if isinstance(reply, Drop):
            assert request.transport is not None
            request.transport.abort()
            return web.Response(status=500)  # never sent: the connection is gone
        data = reply.body if reply.body is not None else json.dumps(reply.json).encode()
        content_type = reply.headers.get("Content-Type", "application/json")
        if not reply.off_spec:
            self.violations += self._contract.answer_problems(record, raw, reply.status, data, content_type)
        headers = {"Content-Type": content_type, **reply.headers}
        return web.Response(status=reply.status, body=data, headers=headers)

    def _choose_reply(self, record: ZapierRequest, problems: list[str]) -> Reply | Drop:
        if record.operation == "unknown":
            known = EXECUTE_PATH.fullmatch(record.path) or RATE_PATH.fullmatch(record.path)
            return Reply(405 if known else 404, {"error": "Not found."}, off_spec=True)
        credentials = {record.headers.get("x-api-key"), record.headers.get("authorization")}
        bearer = (record.headers.get("authorization") or "").removeprefix("Bearer ")
        if not credentials & {self.api_key, f"Bearer {self.api_key}"} and not self.accepts_bearer(bearer):
            return Reply(401, {"error": "Invalid API key."}, off_spec=True)  # real Zapier: not in the spec
        if rule := _skip_guessing_problem(record):
            self.violations.append(f"{record.method} {record.path}: {rule}")
            return Reply(400, {"error": rule})
        if problems:
            return Reply(422, {"error": "Invalid request.", "detail": problems})
        queue = self._scripts.get(record.operation)
        return queue.pop(0) if queue else self._default(record)

    # ---- default answers --------------------------------------------------------------------------

    def _default(self, record: ZapierRequest) -> Reply:
        if extra := zapier_extras.find_extra(record.method, record.path):
            status, answered = zapier_extras.default_answer(extra, record.path, record.query, record.json)
            return Reply(status, answered)
        if record.operation == "auth_check":
            return Reply(json=ACCOUNT)
        self._log_count += 1
        if record.operation == "rate":
            log_id = record.path.split("/")[-3]  # /api/v2/execute/log/{id}/rate/
            action = self._actions.get(log_id, "Unknown Action")
            rated = {"execution_log_id": log_id, "action_used": action, "input_params": {}}
            return Reply(json={**rated, "status": "success"})
        body: dict[str, Any] = record.json
        params: dict[str, Any] = body.get("params") or {}
        resolved = _resolve(params, body["instructions"])
        log_id = f"01HLOG{self._log_count:06d}"
        self._actions[log_id] = body["action"].replace("_", " ").title()
        answer = {
            "execution_log_id": log_id,
            "action_used": self._actions[log_id],
            "input_params": params,
            "resolved_params": resolved,
        }
        if record.operation == "preview":
            return Reply(json={**answer, "status": "preview", "results": []})
        result = {"message_ts": f"1700000000.{self._log_count:06d}", **resolved}
        labels = {key: LABELS.get(key, key.replace("_", " ").title()) for key in result}
        return Reply(json={**answer, "status": "success", "results": [result], "result_field_labels": labels})


def received(
    method: str, path: str, query: Mapping[str, str], headers: Mapping[str, str], raw: bytes
) -> ZapierRequest:
    """A request as FakeZapier records it (and `ContractCheck` reads it), from what came over the wire."""
    return ZapierRequest(
        operation=_operation(method, path, query),
        method=method,
        path=path,
        query=dict(query),
        headers={k.lower(): v for k, v in headers.items()},
        json=_json_or_none(raw),
    )


def _operation(method: str, path: str, query: Mapping[str, str]) -> str:
    if extra := zapier_extras.find_extra(method, path):
        return extra.name
    if method == "GET" and path == AUTH_CHECK_PATH:
        return "auth_check"
    if method != "POST":
        return "unknown"
    if EXECUTE_PATH.fullmatch(path):
        return "preview" if query.get("preview_only", "").lower() == "true" else "execute"
    return "rate" if RATE_PATH.fullmatch(path) else "unknown"


def _credential_problems(record: ZapierRequest) -> list[str]:
    if "x-api-key" not in record.headers and "authorization" not in record.headers:
        return ["no credentials: the x-api-key header is missing"]
    return []


def _extra_problems(record: ZapierRequest) -> list[str]:
    """The minimal contract of an endpoint outside the spec file: credentials, no body, no query."""
    problems = []
    if "x-api-key" not in record.headers and "authorization" not in record.headers:
        problems.append("no credentials: the x-api-key header is missing")
    if record.json is not None or record.query:
        problems.append(f"{record.operation} takes no body and no query parameters")
    return problems


def _skip_guessing_problem(record: ZapierRequest) -> str | None:
    """The spec's prose rule for ``skip_param_guessing``, which its schemas cannot express."""
    if record.operation not in {"preview", "execute"}:
        return None
    if record.query.get("skip_param_guessing", "").lower() != "true":
        return None
    if record.operation == "preview":
        return "skip_param_guessing cannot be combined with preview_only"
    params = (record.json or {}).get("params") or {}
    guessed = sorted(k for k, c in params.items() if c.get("mode") not in {"locked", "ignored"})
    if guessed:
        return f"with skip_param_guessing every param must be locked or ignored: {', '.join(guessed)}"
    return None


def _resolve(params: dict[str, Any], instructions: str) -> dict[str, Any]:
    """What the AI 'resolves': locked/guess keep their value, choose_from its first, ignored nothing."""
    resolved: dict[str, Any] = {}
    for key, constraint in params.items():
        mode, value = constraint.get("mode"), constraint.get("value")
        if mode == "ignored":
            continue
        if mode == "choose_from" and isinstance(value, list):
            value = value[0] if value else None
        resolved[key] = value
    if "text" not in params:
        resolved["text"] = instructions
    return resolved


def _json_or_none(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


def _explain(error: Exception) -> str:
    """One line per problem, with the JSON path of each schema error rather than the whole value."""
    details = getattr(error.__cause__, "schema_errors", None)
    if not details:
        cause = error.__cause__
        return f"{error} ({cause})" if cause and str(cause) not in str(error) else str(error)
    where = type(error).__name__
    return "; ".join(f"{where} at {d.json_path}: {d.message}" for d in details)
