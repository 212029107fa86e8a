"""An httpx client that times every Zapier request and counts the failed ones.

It sits under `ZapierClient` (at `send`, which every request goes through, proxied or not), so any endpoint
the client learns later is measured without touching its code. Each retry is its own observation.
"""

from __future__ import annotations

import re
import time
from typing import Any

import httpx

from bot.ops.metrics import Metrics

# Path templates -> operation label. Ids in paths (execution logs, app keys) never become label values.
_OPERATIONS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"/api/v2/execute/"), "execute"),
    (re.compile(r"/api/v2/execute/log/[^/]+/rate/"), "rate"),
    (re.compile(r"/api/v2/auth/check/"), "auth_check"),
    (re.compile(r"/api/v2/guess-actions/"), "guess_actions"),
    (re.compile(r"/api/v2/apps/search/"), "apps_search"),
    (re.compile(r"/api/v2/apps/[^/]+/actions/"), "app_actions"),
    (re.compile(r"/api/v2/apps/[^/]+/choices/[^/]+/"), "app_choices"),
)


def operation_of(request: httpx.Request) -> str:
    """A low-cardinality name for what a request does: `preview`, `execute`, `rate`, ... or `other`."""
    path = request.url.path
    for pattern, name in _OPERATIONS:
        if pattern.fullmatch(path):
            if name == "execute" and request.url.params.get("preview_only", "").lower() == "true":
                return "preview"
            return name
    return "other"


class MeteredAsyncClient(httpx.AsyncClient):
    """`httpx.AsyncClient` that reports each request's latency and failure to `metrics`."""

    def __init__(self, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._metrics = metrics

    async def send(self, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        operation = operation_of(request)
        started = time.perf_counter()
        error: str | None = None
        try:
            response = await super().send(request, **kwargs)
        except httpx.TimeoutException:
            error = "timeout"
            raise
        except httpx.TransportError:
            error = "connection"
            raise
        else:
            if response.status_code >= 400:
                error = f"http_{response.status_code}"
            return response
        finally:
            self._metrics.zapier_request(operation, time.perf_counter() - started, error)
