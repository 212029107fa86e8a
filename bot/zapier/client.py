"""The Zapier AI Actions API v2 client: the only module that speaks HTTP to Zapier."""

from __future__ import annotations

import asyncio
import json
import logging
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

import httpx
from pydantic import SecretStr, ValidationError

from bot.actions import ActionRequest, ActionResult, ActionType, RunStatus
from bot.discovery.finder import ActionChoice, AppChoice
from bot.errors import (
    SharedKeyMissing,
    ZapierAuthError,
    ZapierConnectionError,
    ZapierError,
    ZapierRateLimited,
    ZapierRejected,
    ZapierResponseError,
    ZapierServerError,
    ZapierStatusError,
)
from bot.zapier.lookups import read_actions, read_apps, read_guesses
from bot.zapier.metered import MeteredAsyncClient
from bot.zapier.models import (
    AuthCheckResponse,
    ErrorResponse,
    ExecuteResponse,
    GuessActionsRequest,
    ParamConstraint,
    StatelessExecuteRequest,
)

if TYPE_CHECKING:
    from bot.ops.metrics import Metrics
from bot.zapier.transport import AiohttpTransport

log = logging.getLogger(__name__)

T = TypeVar("T")

# Zapier gives an action about 30 s plus the AI's guessing time; the read timeout must sit well above that.
DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=90.0, write=10.0, pool=10.0)
MAX_RETRY_AFTER = 30.0


def new_http_client(
    read_timeout: float = DEFAULT_TIMEOUT.read or 90.0,
    *,
    metrics: Metrics | None = None,
    after_response: Callable[[], Awaitable[None]] | None = None,
    aiohttp_pool: bool = True,
    max_connections: int = 200,
) -> httpx.AsyncClient:
    """The one shared HTTP client for Zapier (timed into `metrics` when given). Proxies come from the env.

    `after_response` is awaited after each answer, before the caller handles it (bot/ops/give_way.py).
    `aiohttp_pool`: send through aiohttp's pool (bot/zapier/transport.py) instead of httpx's own.
    `max_connections`: calls in flight at once; more wait for a connection (up to the pool timeout)."""
    timeout = httpx.Timeout(
        DEFAULT_TIMEOUT.connect, read=read_timeout, write=DEFAULT_TIMEOUT.write, pool=10.0
    )
    limits = httpx.Limits(max_connections=max_connections)
    transport = (
        AiohttpTransport(max_connections=max_connections)
        if aiohttp_pool
        else httpx.AsyncHTTPTransport(limits=limits)
    )
    hooks: dict[str, list[Callable[..., Any]]] = {}
    if after_response is not None:
        wait = after_response

        async def waited(_: httpx.Response) -> None:
            await wait()

        hooks["response"] = [waited]
    if metrics is not None:
        return MeteredAsyncClient(
            metrics, timeout=timeout, limits=limits, transport=transport, event_hooks=hooks
        )
    return httpx.AsyncClient(timeout=timeout, limits=limits, transport=transport, event_hooks=hooks)


@dataclass(frozen=True)
class ApiKey:
    """Credentials: an AI Actions API key, sent as `x-api-key`."""

    key: SecretStr

    def headers(self) -> dict[str, str]:
        return {"x-api-key": self.key.get_secret_value(), "accept": "application/json"}


@dataclass(frozen=True)
class BearerToken:
    """Credentials: a person's OAuth access token (bot/accounts/), sent as `Authorization: Bearer`."""

    token: SecretStr

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token.get_secret_value()}", "accept": "application/json"}


Auth = ApiKey | BearerToken


class ZapierClient:
    """Typed access to the endpoints we use. Safe calls (preview, rate) retry; a real run never does.

    Every call takes `auth=` (an `ApiKey` or a person's `BearerToken`); without it, the client's API key.
    A client made without a key (per-user accounts only) refuses a call without `auth`, sending nothing
    (`SharedKeyMissing`).
    """

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_key: SecretStr | None,
        base_url: str = "https://actions.zapier.com",
        provider_id: str | None = None,
        retries: int = 2,
        backoff: float = 0.5,
    ) -> None:
        self._http = http
        self._api_key = ApiKey(api_key) if api_key is not None else None
        self._base_url = base_url.rstrip("/")
        self._urls: dict[tuple[str, tuple[tuple[str, str], ...]], httpx.URL] = {}
        self._provider_id = provider_id
        self._retries = retries
        self._backoff = backoff

    def __repr__(self) -> str:
        return f"ZapierClient(base_url={self._base_url!r})"

    async def preview(self, request: ActionRequest, *, auth: Auth | None = None) -> ActionResult:
        body = _request_body(request)
        return await self._retrying(lambda: self._execute(body, {"preview_only": "true"}, auth))

    async def execute(
        self, request: ActionRequest, *, skip_param_guessing: bool, auth: Auth | None = None
    ) -> ActionResult:
        query = {"skip_param_guessing": "true"} if skip_param_guessing else {}
        return await self._execute(_request_body(request), query, auth)

    async def rate(
        self, execution_log_id: str, rating: int, feedback: str | None = None, *, auth: Auth | None = None
    ) -> None:
        query: dict[str, str] = {"rating": str(rating)}
        if feedback:
            query["feedback"] = feedback
        path = f"/api/v2/execute/log/{quote(execution_log_id, safe='')}/rate/"
        await self._retrying(lambda: self._post(path, query, None, auth))

    # discovery (read-only, so retried like a preview) ------------------------------------------------
    async def guess_actions(
        self, query: str, *, action_types: Sequence[ActionType], count: int, auth: Auth | None = None
    ) -> list[ActionChoice]:
        body = GuessActionsRequest(query=query, action_types=[t.value for t in action_types], count=count)
        path = "/api/v2/guess-actions/"
        payload = await self._retrying(lambda: self._post(path, {}, body.model_dump(), auth))
        return read_guesses(payload)

    async def search_apps(self, query: str, *, auth: Auth | None = None) -> list[AppChoice]:
        payload = await self._retrying(lambda: self._get("/api/v2/apps/search/", {"query": query}, auth))
        return read_apps(payload)

    async def search_actions(
        self, app: str, query: str | None = None, *, auth: Auth | None = None
    ) -> list[ActionChoice]:
        path = f"/api/v2/apps/{quote(app, safe='')}/actions/"
        payload = await self._retrying(lambda: self._get(path, {"query": query} if query else {}, auth))
        return read_actions(payload, app)

    async def check_auth(self, *, auth: Auth | None = None) -> AuthCheckResponse:
        """Who the key belongs to (`GET /api/v2/auth/check/`); ZapierAuthError when Zapier rejects it.

        Not retried: readiness probes and the console call it, and both simply ask again later.
        """
        payload = await self._send("GET", "/api/v2/auth/check/", {}, None, auth)
        try:
            answer = AuthCheckResponse.model_validate(payload)
        except ValidationError as exc:
            raise ZapierResponseError("Zapier's auth check answer does not fit the API contract.") from exc
        if answer.success is False:
            raise ZapierAuthError(200, "Zapier says the key is not authenticated.")
        return answer

    async def _execute(self, body: dict[str, Any], query: dict[str, str], auth: Auth | None) -> ActionResult:
        if self._provider_id:
            query = {**query, "provider_id": self._provider_id}
        payload = await self._post("/api/v2/execute/", query, body, auth)
        try:
            parsed = ExecuteResponse.model_validate(payload)
        except ValidationError as exc:
            fields = ", ".join(".".join(str(p) for p in e["loc"]) or "body" for e in exc.errors()[:5])
            raise ZapierResponseError(f"Zapier's answer does not fit the API contract ({fields}).") from exc
        return _to_result(parsed)

    async def _post(
        self, path: str, query: dict[str, str], body: dict[str, Any] | None, auth: Auth | None = None
    ) -> Any:
        return await self._send("POST", path, query, body, auth)

    async def _get(self, path: str, query: dict[str, str], auth: Auth | None = None) -> Any:
        return await self._send("GET", path, query, None, auth)

    async def _send(
        self,
        method: str,
        path: str,
        query: dict[str, str],
        body: dict[str, Any] | None,
        auth: Auth | None = None,
    ) -> Any:
        credentials = auth or self._api_key
        if credentials is None:
            raise SharedKeyMissing
        headers = credentials.headers()
        try:
            response = await self._http.request(method, self._url(path, query), json=body, headers=headers)
        except httpx.TimeoutException as exc:
            raise ZapierConnectionError("Zapier did not answer in time.", timed_out=True) from exc
        except httpx.TransportError as exc:
            raise ZapierConnectionError(
                f"Could not reach Zapier ({type(exc).__name__}).", timed_out=False
            ) from exc
        if response.status_code >= 300:
            error = status_error(response)
            if isinstance(error, ZapierAuthError) and isinstance(credentials, BearerToken):
                error.personal = True  # a person's token was refused, not zapbot's key
            raise error
        # Any bytes may come back: text that is not UTF-8 is read with U+FFFD in place of what does not
        # decode, and escaped lone surrogates (valid JSON, but not storable text) become U+FFFD too.
        text = response.content.decode("utf-8", errors="replace")
        try:
            parsed = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ZapierResponseError(
                f"Zapier answered HTTP {response.status_code} with a non-JSON body."
            ) from exc
        return _without_lone_surrogates(parsed) if "\\u" in text else parsed

    def _url(self, path: str, query: dict[str, str]) -> httpx.URL:
        # httpx parses a URL string and merges its params on every request (~0.1 ms of CPU each under
        # load): the few execute URLs are parsed once. Rate URLs carry an id, so the cache is kept small.
        key = (path, tuple(query.items()))
        url = self._urls.get(key)
        if url is None:
            if len(self._urls) >= 64:
                self._urls.clear()
            url = self._urls[key] = httpx.URL(self._base_url + path, params=query)
        return url

    async def _retrying(self, call: Callable[[], Awaitable[T]]) -> T:
        attempt = 0
        while True:
            try:
                return await call()
            except (ZapierConnectionError, ZapierServerError, ZapierRateLimited) as exc:
                if attempt >= self._retries:
                    raise
                delay = self._backoff * 2**attempt
                if isinstance(exc, ZapierRateLimited) and exc.retry_after is not None:
                    delay = min(exc.retry_after, MAX_RETRY_AFTER)
                attempt += 1
                log.warning("zapier call failed (%s); retry %d in %.1fs", type(exc).__name__, attempt, delay)
                await asyncio.sleep(delay)


_LONE_SURROGATE = re.compile("[\ud800-\udfff]")


def _without_lone_surrogates(value: Any) -> Any:
    if isinstance(value, str):
        return _LONE_SURROGATE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_without_lone_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {_without_lone_surrogates(k): _without_lone_surrogates(v) for k, v in value.items()}
    return value


def status_error(response: httpx.Response) -> ZapierStatusError:
    """Map an HTTP error status to the matching error class, with Zapier's own words where it gave them."""
    code = response.status_code
    error, detail = _error_text(response)
    if code in (401, 403):
        return ZapierAuthError(code, error, detail)
    if code == 429:
        return ZapierRateLimited(code, error, detail, retry_after=_retry_after(response))
    if code >= 500:
        return ZapierServerError(code, error, detail)
    return ZapierRejected(code, error, detail)


def _error_text(response: httpx.Response) -> tuple[str, str | None]:
    try:
        parsed = ErrorResponse.model_validate(response.json())
    except (ValueError, ValidationError):
        return response.reason_phrase or f"HTTP {response.status_code}", None
    detail = parsed.detail
    if detail is not None and not isinstance(detail, str):
        detail = json.dumps(detail)[:500]
    return parsed.error, detail


def _retry_after(response: httpx.Response) -> float | None:
    try:
        return max(0.0, float(response.headers["retry-after"]))
    except (KeyError, ValueError):
        return None


def _request_body(request: ActionRequest) -> dict[str, Any]:
    body = StatelessExecuteRequest(
        instructions=request.instructions,
        app=request.app,
        action=request.action,
        action_type=request.action_type.value,
        params={key: ParamConstraint(mode=p.mode.value, value=p.value) for key, p in request.params.items()},
    )
    return body.model_dump(exclude_none=True)


def _to_result(response: ExecuteResponse) -> ActionResult:
    results = response.results if response.results is not None else response.full_results
    labels = {str(k): str(v) for k, v in (response.result_field_labels or {}).items()}
    return ActionResult(
        execution_log_id=response.execution_log_id,
        action_used=response.action_used,
        status=RunStatus(response.status),
        input_params=response.input_params,
        resolved_params=response.resolved_params or {},
        results=results or [],
        result_field_labels=labels,
        error=response.error,
    )


__all__ = [
    "DEFAULT_TIMEOUT",
    "ApiKey",
    "Auth",
    "BearerToken",
    "ZapierClient",
    "ZapierError",
    "new_http_client",
    "status_error",
]
