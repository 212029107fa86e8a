"""Sending ratings to Zapier: a background worker on every replica, driven by the queue in Redis.

A change to a rating or its feedback is queued in Redis (by the same atomic script that records it) to be
sent `coalesce` seconds later; whatever else changes meanwhile rides along, because the worker reads the
newest state when it sends. Each replica's worker claims due deliveries with a lease, sends them (one call
each, no retries inside the call) and records the outcome:

- 2xx: delivered. If the state changed while the call was in flight, it is queued again.
- timeout, connection error, 429, 408 or 5xx: queued again after a backoff (`retry_base` doubling up to
  `retry_max`; a 429's Retry-After instead, when given). Nothing is lost across restarts: the queue is in
  Redis, and a claim whose replica died runs out after `lease` seconds.
- any other 4xx: recorded as failed and logged; not retried until the rating or feedback changes again.

Each rating goes to Zapier with the credentials of the account that ran the execution (recorded with it,
bot/runs/service.py): a person's own token (refreshed once if Zapier refuses it), or the shared key. When
that account can no longer be used (the person disconnected, their tokens must be reconnected, or no
shared key is set any more), the call is skipped: the rating stays in Redis, the delivery is recorded as
`skipped` with a log line and `zapbot_rating_deliveries_skipped_total{reason}`, and it is not retried until
the rating or feedback changes again (then with whatever that account has by then).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from bot.accounts.errors import AccountError, NotConnected, ReconnectNeeded
from bot.errors import (
    BotError,
    SharedKeyMissing,
    ZapierError,
    ZapierRateLimited,
    ZapierResponseError,
    ZapierServerError,
    ZapierStatusError,
)
from bot.ops.metrics import Metrics
from bot.ops.stopping import AFTER_CANCEL_SECONDS, wait_stopped
from bot.ratings.store import SHARED_ACCOUNT, DeliveryState, Outcome, RatingStore
from bot.zapier.client import Auth

log = logging.getLogger(__name__)

T = TypeVar("T")

REQUEST_TIMEOUT_STATUS = 408


class Rater(Protocol):
    """The one call the worker needs; it must not retry by itself (the worker's queue does)."""

    async def rate(
        self, execution_log_id: str, rating: int, feedback: str | None = None, *, auth: Auth | None = None
    ) -> None: ...


class AccountCalls(Protocol):
    """Calling Zapier as an account (bot/runs/credentials.py `Credentials`): `user` "" is the shared one."""

    async def call(
        self, team: str, user: str, call: Callable[[Auth | None], Awaitable[T]], *, write: bool
    ) -> T: ...


@dataclass(frozen=True)
class DeliveryTiming:
    coalesce: float = 2.0  # seconds from a change to its delivery: a burst of reactions becomes one call
    poll: float = 1.0  # how often each replica looks for due deliveries
    retry_base: float = 5.0  # the first backoff after a failure; it doubles with each further failure
    retry_max: float = 600.0  # the longest backoff (also caps a 429's Retry-After)
    lease: float = 120.0  # a claimed delivery is this replica's for so long (longer than any call)
    batch: int = 20  # deliveries claimed, and sent concurrently, at a time


class DeliveryWorker:
    def __init__(
        self,
        store: RatingStore,
        rater: Rater,
        timing: DeliveryTiming,
        *,
        clock: Callable[[], float] = time.time,
        accounts: AccountCalls | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self._store = store
        self._rater = rater
        # Whose credentials rate an execution; None: the rater's own (the console's shared key).
        self._accounts = accounts
        self._metrics = metrics or Metrics()
        self._timing = timing
        self._clock = clock
        self._stopping = asyncio.Event()
        self._task: asyncio.Task[None] | None = None  # held here: asyncio keeps only weak references

    def start(self) -> None:
        if self._task is None:
            self._stopping.clear()
            self._task = asyncio.create_task(self._loop(), name="rating-delivery")

    async def stop(self, grace: float) -> None:
        """Finish the deliveries in flight (up to `grace` s), then stop; a cut one is retried later."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping.set()
        _, pending = await asyncio.wait({task}, timeout=grace)
        if pending:
            log.warning("rating delivery stopped mid-call; the lease will run out and it is retried")
            task.cancel()
            await wait_stopped("rating delivery", task, AFTER_CANCEL_SECONDS)

    async def _loop(self) -> None:
        while not self._stopping.is_set():
            handled = 0
            try:
                handled = await self.run_once()
            except BotError as exc:
                log.warning("rating delivery skipped a round: %s", exc)
            except Exception:
                log.exception("rating delivery round failed")
            if handled < self._timing.batch:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopping.wait(), self._timing.poll)

    async def run_once(self) -> int:
        """Claim and send the deliveries that are due now. Returns how many were claimed."""
        now = self._clock()
        claimed = await self._store.claim_due(
            now=now, limit=self._timing.batch, lease_until=now + self._timing.lease
        )
        results = await asyncio.gather(*(self._deliver(i) for i in claimed), return_exceptions=True)
        for execution_log_id, result in zip(claimed, results, strict=True):
            if isinstance(result, BaseException):
                # Its lease runs out and it is claimed again: a Redis hiccup loses nothing.
                log.warning("rating delivery of %s not recorded: %s", execution_log_id, result)
        return len(claimed)

    async def _deliver(self, execution_log_id: str) -> None:
        state = await self._store.delivery_state(execution_log_id)
        if state is None:
            return
        outcome, delay, error = await self._send(state)
        now = self._clock()
        after = await self._store.complete(
            state,
            outcome,
            now=now,
            retry_at=now + delay,
            again_at=now + self._timing.coalesce,
            error=error,
        )
        if outcome is Outcome.SKIPPED:
            self._metrics.rating_skipped(error)
            log.warning(
                "rating of %s not sent to Zapier: %s; it is kept here and not retried until it changes",
                execution_log_id,
                _SKIPPED[error],
            )
        elif after == Outcome.FAILED.value:
            log.warning(
                "Zapier refused the rating of %s (%s); it is not retried until it changes",
                execution_log_id,
                error,
            )
        elif after == Outcome.RETRY.value:
            log.warning(
                "rating of %s not delivered (%s); attempt %d, next in %.1fs",
                execution_log_id,
                error,
                state.attempts + 1,
                delay,
            )

    async def _send(self, state: DeliveryState) -> tuple[Outcome, float, str]:
        """One call to Zapier: what it came to, the backoff if it is to be retried, and the error."""

        def rate(auth: Auth | None) -> Awaitable[None]:
            return self._rater.rate(state.execution_log_id, state.rating, state.feedback or None, auth=auth)

        try:
            if self._accounts is None:
                await rate(None)
            else:
                # Read-only as far as a retry goes: a rating sent twice sets the same rating.
                user = "" if state.account == SHARED_ACCOUNT else state.account
                await self._accounts.call(state.team, user, rate, write=False)
        except (AccountError, SharedKeyMissing) as exc:
            return Outcome.SKIPPED, 0.0, _skip_reason(exc)
        except ZapierResponseError as exc:
            # A success status with an unreadable body: Zapier took the rating.
            log.info("rating of %s delivered; its answer was unreadable: %s", state.execution_log_id, exc)
        except ZapierError as exc:
            outcome, delay = self._after(exc, state.attempts)
            return outcome, delay, _describe(exc)
        return Outcome.DELIVERED, 0.0, ""

    def _after(self, error: ZapierError, attempts: int) -> tuple[Outcome, float]:
        """Retry (and when) or give up: only a 4xx other than 408 and 429 is final."""
        if isinstance(error, ZapierRateLimited) and error.retry_after is not None:
            return Outcome.RETRY, min(error.retry_after, self._timing.retry_max)
        final = isinstance(error, ZapierStatusError) and error.status_code != REQUEST_TIMEOUT_STATUS
        if final and not isinstance(error, ZapierRateLimited | ZapierServerError):
            return Outcome.FAILED, 0.0
        backoff = self._timing.retry_base * 2 ** min(attempts, 30)
        return Outcome.RETRY, min(self._timing.retry_max, backoff)


def _describe(error: ZapierError) -> str:
    return f"{type(error).__name__}: {error}"


# Why a rating was not sent (the `reason` label of zapbot_rating_deliveries_skipped_total), for the log line.
_SKIPPED = {
    "disconnected": "the person whose Zapier account ran it has disconnected it",
    "reconnect": "the Zapier account that ran it must be connected again",
    "no_shared_key": "it ran with the shared Zapier account and ZAPIER_API_KEY is no longer set",
    "accounts_off": "it ran with a person's Zapier account and per-user accounts are now off",
}


def _skip_reason(error: BotError) -> str:
    if isinstance(error, NotConnected):
        return "disconnected"
    if isinstance(error, ReconnectNeeded):
        return "reconnect"
    if isinstance(error, SharedKeyMissing):
        return "no_shared_key"
    return "accounts_off"
