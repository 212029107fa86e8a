"""Reading the discovery endpoints' answers (guess-actions, apps/search, apps/{app}/actions) defensively.

Zapier documents these shapes less precisely than execute. What we rely on: guess-actions answers a JSON array
of `{app, action, action_type, name, description, image, score}`; the two searches answer an object whose
`results` is an array (a bare array is accepted too). Unknown fields are ignored and items that do not fit are
skipped; an answer of the wrong kind, or one where no item fits, raises `ZapierResponseError` saying what was
expected, so the user gets a clear message instead of a wrong list.
"""

from __future__ import annotations

import logging
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from bot.actions import ActionType
from bot.discovery.finder import ActionChoice, AppChoice
from bot.errors import ZapierResponseError
from bot.zapier.models import ActionItem, AppItem, GuessedActionItem

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
_TYPES = {t.value: t for t in ActionType}


def read_guesses(payload: Any) -> list[ActionChoice]:
    items = _items(payload, "Zapier's action guesses", results_key=None)
    choices = []
    for item in _fitting(items, GuessedActionItem, "action guesses"):
        action_type = _TYPES.get(item.action_type.lower())
        if action_type is None:
            continue  # a kind of action the bot cannot run (e.g. search_or_write)
        name = (item.name or "").strip() or f"{item.app}: {item.action}"
        choices.append(
            ActionChoice(
                item.app, item.action, action_type, name, (item.description or "").strip(), item.score
            )
        )
    return choices


def read_apps(payload: Any) -> list[AppChoice]:
    items = _items(payload, "Zapier's app search", results_key="results")
    apps = []
    for item in _fitting(items, AppItem, "app search"):
        counts = {str(k): int(v) for k, v in (item.actions or {}).items() if isinstance(v, int) and v >= 0}
        for kind, count in (
            ("write", item.write_action_count),
            ("search", item.search_action_count),
            ("read", item.read_action_count),
        ):
            if count is not None and kind not in counts:
                counts[kind] = count
        name = (item.name or "").strip() or item.app
        apps.append(AppChoice(item.app, name, (item.description or "").strip(), counts))
    return apps


def read_actions(payload: Any, app: str) -> list[ActionChoice]:
    items = _items(payload, f"Zapier's list of {app} actions", results_key="results")
    actions = []
    for item in _fitting(items, ActionItem, "action list"):
        action_type = _TYPES.get(item.action_type.lower())
        if action_type is None:
            continue
        name = (item.name or "").strip() or item.action
        actions.append(
            ActionChoice(item.app or app, item.action, action_type, name, (item.description or "").strip())
        )
    return actions


def _items(payload: Any, what: str, *, results_key: str | None) -> list[Any]:
    """The list of items in an answer: the answer itself, or its `results`."""
    if isinstance(payload, list):
        return payload
    if isinstance(payload, dict):
        found = payload.get(results_key or "results")
        if isinstance(found, list):
            return found
    expected = f"an object with a `{results_key}` list" if results_key else "a list of actions"
    raise ZapierResponseError(f"{what} did not have the expected shape ({expected}, got {_kind(payload)}).")


def _fitting(items: list[Any], model: type[M], what: str) -> list[M]:
    fitting, skipped = [], 0
    for item in items:
        try:
            fitting.append(model.model_validate(item))
        except ValidationError:
            skipped += 1
    if skipped:
        log.warning("skipped %d of %d items in Zapier's %s that did not fit", skipped, len(items), what)
    if items and not fitting:
        raise ZapierResponseError(
            f"None of the {len(items)} items in Zapier's {what} had the expected fields."
        )
    return fitting


def _kind(value: Any) -> str:
    if isinstance(value, dict):
        return "an object without that list"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"
