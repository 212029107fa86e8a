"""Readiness of the Zapier side: whether Zapier accepts the API key, checked at most every `ttl` seconds.

The check costs a call to Zapier, so its verdict (a failure too: no hammering Zapier) is kept for `ttl`
seconds (READINESS_CACHE_SECONDS) and only one check runs at a time, however often probes come.

Without a ZAPIER_API_KEY (per-user accounts only) there is no key to check, and no person's token to
check on a probe's behalf: `AccountsCheck` reports whether the OAuth client's configuration (what the
authorize link and the token endpoint need) is complete. Readiness never fails for lack of a key then.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from bot.errors import BotError, ZapierAuthError, ZapierConnectionError, ZapierStatusError

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


class ZapierCheck(Protocol):
    """What /readyz asks of the Zapier side (bot/ops/routes.py)."""

    async def problem(self) -> str | None: ...


class AccountsCheck:
    """Readiness with per-user accounts only: `missing()` names what the OAuth client lacks (none: ready).
    No call to Zapier: each person's token is theirs, checked when they use it."""

    def __init__(self, missing: Callable[[], list[str]]) -> None:
        self._missing = missing

    async def problem(self) -> str | None:
        missing = self._missing()
        return f"per-user accounts lack {', '.join(missing)}" if missing else None
