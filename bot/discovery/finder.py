"""Finding an action for people who do not know app and action keys: guesses, app and action look-ups.

`DiscoveryBackend` is the second small interface the bot needs from an AI Actions provider (next to
`bot.actions.ActionsBackend`); `Finder` is the use-case layer over it: ranking what comes back, caching
look-ups briefly in Redis (the modal's menus must answer Slack within 3 s), and remembering which other
candidates a guessed preview can switch to, so that any replica can handle the click.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from pydantic import TypeAdapter, ValidationError

from bot.actions import ActionType

if TYPE_CHECKING:
    from bot.discovery.store import DiscoveryStore

if TYPE_CHECKING:
    from bot.zapier.client import Auth

log = logging.getLogger(__name__)

T = TypeVar("T")

GUESS_TYPES = (ActionType.WRITE, ActionType.SEARCH, ActionType.READ)  # Zapier's own default for guessing
MAX_ALTERNATIVES = 3  # candidates offered as "Not this?" buttons under a guessed preview
MAX_QUERY_CHARS = 500


@dataclass(frozen=True)
class ActionChoice:
    """One action of one app, as a guess or a listing found it."""

    app: str
    action: str
    action_type: ActionType
    name: str  # what people read: "Gmail: Send Email" from a guess, "Send Email" from a listing
    description: str = ""
    score: float | None = None


@dataclass(frozen=True)
class AppChoice:
    """One app found by a search, with how many actions of each type it has (when Zapier says)."""

    app: str
    name: str
    description: str = ""
    action_counts: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class Candidates:
    """The actions a guessed preview may switch between, and which one it shows now."""

    items: list[ActionChoice]
    current: int = 0

    def others(self) -> list[tuple[int, ActionChoice]]:
        return [(index, item) for index, item in enumerate(self.items) if index != self.current]


class DiscoveryBackend(Protocol):
    """What finding actions needs from an AI Actions provider. Every call is read-only and safe to retry."""

    async def guess_actions(
        self, query: str, *, action_types: Sequence[ActionType], count: int, auth: Auth | None = None
    ) -> list[ActionChoice]:
        """The actions that best fit a plain-English request, best first (`auth`: whose account)."""

    async def search_apps(self, query: str, *, auth: Auth | None = None) -> list[AppChoice]:
        """Apps whose name matches `query`."""

    async def search_actions(
        self, app: str, query: str | None = None, *, auth: Auth | None = None
    ) -> list[ActionChoice]:
        """The actions of `app`, those matching `query` first (all of them without a query)."""


_APPS: TypeAdapter[list[AppChoice]] = TypeAdapter(list[AppChoice])
_ACTIONS: TypeAdapter[list[ActionChoice]] = TypeAdapter(list[ActionChoice])
_CANDIDATES: TypeAdapter[Candidates] = TypeAdapter(Candidates)


class Finder:
    def __init__(
        self, backend: DiscoveryBackend, store: DiscoveryStore, *, guess_count: int, cache_seconds: int
    ) -> None:
        self._backend = backend
        self._store = store
        self._guess_count = guess_count
        self._cache_seconds = cache_seconds
        self._in_flight: dict[str, asyncio.Future[Any]] = {}

    async def guess(self, query: str, *, auth: Auth | None = None) -> list[ActionChoice]:
        """Candidates for a plain-English request, best first, each (app, action, type) once. With a
        person's `auth`, among the actions their own Zapier account exposes."""
        found = await self._backend.guess_actions(
            query[:MAX_QUERY_CHARS], action_types=GUESS_TYPES, count=self._guess_count, auth=auth
        )
        ranked = sorted(found, key=lambda c: -(c.score or 0.0))  # stable: Zapier's order breaks ties
        seen: set[tuple[str, str, ActionType]] = set()
        unique = []
        for choice in ranked:
            key = (choice.app, choice.action, choice.action_type)
            if key not in seen:
                seen.add(key)
                unique.append(choice)
        return unique

    async def apps(self, query: str, *, auth: Auth | None = None, owner: str = "") -> list[AppChoice]:
        """Apps matching `query`; answered from a short-lived cache when the same search was just made
        (by the same `owner`: whose account `auth` is, "" for the shared one)."""
        query = query.strip()
        key = _cache_key("apps", owner, query.lower())
        return await self._cached(key, _APPS, lambda: self._backend.search_apps(query, auth=auth))

    async def actions(
        self, app: str, query: str | None = None, *, auth: Auth | None = None, owner: str = ""
    ) -> list[ActionChoice]:
        """The actions of `app` matching `query`, cached like `apps`."""
        query = (query or "").strip() or None
        key = _cache_key("actions", owner, app, (query or "").lower())
        return await self._cached(key, _ACTIONS, lambda: self._backend.search_actions(app, query, auth=auth))

    async def _cached(self, key: str, adapter: TypeAdapter[T], fetch: Callable[[], Awaitable[T]]) -> T:
        cached = await self._store.cached(key)
        if cached is not None:
            try:
                return adapter.validate_json(cached)
            except ValidationError:
                log.warning("ignored an unreadable cached look-up")
        # One look-up per key at a time in this process: people type faster than Zapier answers, and a
        # menu request that stopped waiting must not start the same search again.
        task = self._in_flight.get(key)
        if task is None:
            task = asyncio.ensure_future(self._fetch(key, adapter, fetch))
            self._in_flight[key] = task
            task.add_done_callback(lambda done: self._finished(key, done))
        result: T = await asyncio.shield(task)
        return result

    async def _fetch(self, key: str, adapter: TypeAdapter[T], fetch: Callable[[], Awaitable[T]]) -> T:
        found = await fetch()
        await self._store.cache(key, adapter.dump_json(found).decode(), seconds=self._cache_seconds)
        return found

    def _finished(self, key: str, task: asyncio.Future[Any]) -> None:
        self._in_flight.pop(key, None)
        if not task.cancelled():
            task.exception()  # retrieved here: every waiter may have stopped waiting


def candidates_to_json(candidates: Candidates) -> str:
    return _CANDIDATES.dump_json(candidates).decode()


def candidates_from_json(text: str) -> Candidates | None:
    try:
        return _CANDIDATES.validate_json(text)
    except ValidationError:
        return None


def _cache_key(kind: str, *parts: str) -> str:
    # A digest keeps whatever people type out of Redis key names (and their length bounded).
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]
    return f"{kind}:{digest}"
