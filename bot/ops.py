"""Endpoints for the people and systems that run the bot: GET /readyz and GET /metrics.

(`GET /healthz`, liveness, is in `bot.app`: it answers 200 whenever the process serves and Redis answers.)

`/readyz` says whether this replica can do its job: Redis answers and Zapier accepts the API key. The key
check costs a call to Zapier, so its verdict is kept for `ttl` seconds (READINESS_CACHE_SECONDS) and only
one check runs at a time, however often probes come.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.errors import (
    BotError,
    ZapierAuthError,
    ZapierConnectionError,
    ZapierStatusError,
)
from bot.metrics import Metrics
from bot.store import Store

CHECK_TIMEOUT_SECONDS = 5.0  # probes time out after a few seconds; a slower Zapier counts as not ready


def describe_zapier_problem(error: BaseException) -> str:
    """Why the key check failed, in an operator's words (never the key)."""
    if isinstance(error, ZapierAuthError):
        return f"Zapier rejected the API key (HTTP {error.status_code}): check ZAPIER_API_KEY"
    if isinstance(error, ZapierConnectionError):
        return "Zapier did not answer in time" if error.timed_out else "Zapier could not be reached"
    if isinstance(error, ZapierStatusError):
        return f"Zapier answered HTTP {error.status_code}"
    if isinstance(error, TimeoutError):
        return f"Zapier did not answer within {CHECK_TIMEOUT_SECONDS:.0f} s"
    return str(error) or type(error).__name__


class ZapierKeyCheck:
    """Whether Zapier accepts the key, remembered for `ttl` seconds (failures too: no hammering Zapier)."""

    def __init__(
        self,
        check: Callable[[], Awaitable[Any]],
        *,
        ttl: float,
        timeout: float = CHECK_TIMEOUT_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._check = check
        self._ttl = ttl
        self._timeout = timeout
        self._clock = clock
        self._lock = asyncio.Lock()
        self._verdict: str | None = None
        self._until = float("-inf")

    async def problem(self) -> str | None:
        """None when the key is accepted, else what is wrong."""
        async with self._lock:
            if self._clock() < self._until:
                return self._verdict
            try:
                async with asyncio.timeout(self._timeout):
                    await self._check()
            except (BotError, TimeoutError) as exc:
                self._verdict = describe_zapier_problem(exc)
            else:
                self._verdict = None
            self._until = self._clock() + self._ttl
            return self._verdict


def register_ops_routes(
    web_app: web.Application, *, store: Store, metrics: Metrics, zapier_key: ZapierKeyCheck
) -> None:
    async def readyz(request: web.Request) -> web.Response:
        parts: dict[str, str] = {}
        try:
            await store.ping()
            parts["redis"] = "ok"
        except BotError as exc:
            parts["redis"] = str(exc)
        parts["zapier"] = await zapier_key.problem() or "ok"
        failing = sorted(name for name, state in parts.items() if state != "ok")
        if failing:
            return web.json_response({"status": "unavailable", "failing": failing, **parts}, status=503)
        return web.json_response({"status": "ready", **parts})

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_page)
