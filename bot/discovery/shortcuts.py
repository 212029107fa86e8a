"""Shortcuts a workspace saves: `/zap save NAME = APP ACTION[:TYPE] [PARAM]... [INSTRUCTIONS]`.

`/zap NAME [more instructions]` then previews the saved action with the more instructions appended. A name
is one lower-case word (`standup`, `leads-row`; see `bot.discovery.grammar.is_shortcut_name`), so it is
never read as an
app key (those start upper-case and end in `API`) and never be a built-in word. Names typed with capitals
(`Standup`) are taken in lower case. Each workspace has its own shortcuts; a name is saved once and must be
forgotten before it can be saved again, so nobody replaces a colleague's shortcut by accident.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from pydantic import TypeAdapter, ValidationError

from bot.actions import ActionRequest
from bot.discovery.grammar import (
    BUILTIN_WORDS,
    MAX_SHORTCUT_NAME_CHARS,
    is_app_key,
    is_shortcut_name,
    parse_action,
)
from bot.discovery.store import DiscoveryStore
from bot.errors import BotError, UsageError

log = logging.getLogger(__name__)

MAX_SHORTCUTS = 100  # per workspace: the list must stay readable in one message

SAVE_USAGE = "Write it as `/zap save NAME = APP ACTION[:TYPE] [PARAM]... [INSTRUCTIONS]`."


@dataclass(frozen=True)
class Shortcut:
    name: str
    request: ActionRequest  # its instructions may be empty: they then come when it is run
    saved_by: str
    saved_at: float


class ShortcutRefused(BotError):
    """A shortcut could not be saved as asked; `problem` says why, in the user's terms."""

    def __init__(self, problem: str, existing: Shortcut | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.existing = existing


def check_name(raw: str) -> str:
    """The shortcut name for `raw`, in lower case. Raises `UsageError` saying what is wrong with it."""
    name = raw.strip()
    if not name:
        raise UsageError("The shortcut has no name. " + SAVE_USAGE)
    if is_app_key(name):
        raise UsageError(
            f"`{name}` looks like an app key; a shortcut name is a lower-case word like `standup`."
        )
    name = name.lower()
    if name in BUILTIN_WORDS:
        raise UsageError(f"`{name}` is a built-in word of `/zap`; pick another name for the shortcut.")
    if len(name) > MAX_SHORTCUT_NAME_CHARS:
        raise UsageError(f"Shortcut names are at most {MAX_SHORTCUT_NAME_CHARS} characters.")
    if not is_shortcut_name(name):
        raise UsageError(
            "A shortcut name is one word of letters and digits, joined by `-` or `_` "
            f"(like `standup` or `leads-row`); `{name[:40]}` is not."
        )
    return name


def parse_save(args: str) -> tuple[str, ActionRequest]:
    """`NAME = APP ACTION...` -> the name and the saved request. Raises `UsageError`."""
    raw_name, equals, definition = args.partition("=")
    if not equals:
        raise UsageError("The shortcut has no `=`. " + SAVE_USAGE)
    name = check_name(raw_name)
    if not definition.strip():
        raise UsageError(f"Say what `{name}` runs after the `=`. " + SAVE_USAGE)
    return name, parse_action(definition)


def expand(shortcut: Shortcut, more: str) -> ActionRequest:
    """The request a run of the shortcut sends: its own instructions, then the words given with it."""
    instructions = " ".join(part for part in (shortcut.request.instructions, more.strip()) if part)
    return replace(shortcut.request, instructions=instructions)


_SHORTCUT: TypeAdapter[Shortcut] = TypeAdapter(Shortcut)


class ShortcutBook:
    """The workspace's shortcuts, kept in Redis (`DiscoveryStore`)."""

    def __init__(
        self, store: DiscoveryStore, *, limit: int = MAX_SHORTCUTS, clock: Callable[[], float] = time.time
    ) -> None:
        self._store = store
        self._limit = limit
        self._clock = clock

    async def save(self, team: str, name: str, request: ActionRequest, *, by: str) -> Shortcut:
        shortcut = Shortcut(name=name, request=request, saved_by=by, saved_at=self._clock())
        outcome = await self._store.add_shortcut(
            team, name, _SHORTCUT.dump_json(shortcut).decode(), limit=self._limit
        )
        if outcome == "exists":
            raise ShortcutRefused(f"A shortcut called `{name}` already exists.", await self.get(team, name))
        if outcome == "full":
            raise ShortcutRefused(
                f"This workspace already has {self._limit} shortcuts: forget one first (`/zap forget NAME`)."
            )
        return shortcut

    async def get(self, team: str, name: str) -> Shortcut | None:
        return _load(await self._store.shortcut(team, name.lower()))

    async def all(self, team: str) -> list[Shortcut]:
        found = [_load(text) for text in (await self._store.shortcuts(team)).values()]
        return sorted((s for s in found if s is not None), key=lambda s: s.name)

    async def forget(self, team: str, name: str) -> Shortcut | None:
        """Remove a shortcut; returns what was removed, or None when there was no such shortcut."""
        existing = await self.get(team, name)
        if existing is None or not await self._store.remove_shortcut(team, existing.name):
            return None
        return existing


def _load(text: str | None) -> Shortcut | None:
    if text is None:
        return None
    try:
        return _SHORTCUT.validate_json(text)
    except ValidationError:
        log.warning("ignored a stored shortcut that could not be read")
        return None
