"""What the bot asks an AI Actions backend to do, and what it gets back.

These types are the bot's own vocabulary; `bot.zapier` translates them to and from Zapier's wire format,
so another backend can stand behind `ActionsBackend` without touching the rest of the bot.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol


class ActionType(StrEnum):
    WRITE = "write"
    SEARCH = "search"
    READ = "read"
    READ_BULK = "read_bulk"


class ParamMode(StrEnum):
    LOCKED = "locked"  # use this exact value
    GUESS = "guess"  # let the AI find the value that best matches this text
    CHOOSE_FROM = "choose_from"  # let the AI pick one of these exact values
    IGNORED = "ignored"  # leave this need empty


ParamValue = str | list[str] | dict[str, str] | None


@dataclass(frozen=True)
class Param:
    mode: ParamMode
    value: ParamValue = None


@dataclass(frozen=True)
class ActionRequest:
    app: str
    action: str
    instructions: str
    action_type: ActionType = ActionType.WRITE
    params: dict[str, Param] = field(default_factory=dict)


class RunStatus(StrEnum):
    SUCCESS = "success"
    ERROR = "error"
    EMPTY = "empty"  # the action ran and correctly found nothing
    PREVIEW = "preview"


@dataclass(frozen=True)
class ActionResult:
    execution_log_id: str
    action_used: str
    status: RunStatus
    input_params: dict[str, Any] = field(default_factory=dict)
    resolved_params: dict[str, Any] = field(default_factory=dict)
    results: list[dict[str, Any]] = field(default_factory=list)
    result_field_labels: dict[str, str] = field(default_factory=dict)
    error: str | None = None


if TYPE_CHECKING:
    from bot.zapier.client import Auth


class ActionsBackend(Protocol):
    """The one interface the service needs from an AI Actions provider."""

    async def preview(self, request: ActionRequest, *, auth: Auth | None = None) -> ActionResult:
        """Resolve the params the AI would use, running nothing. Safe to retry. `auth`: whose account
        (None: the backend's own credentials)."""

    async def execute(
        self, request: ActionRequest, *, skip_param_guessing: bool, auth: Auth | None = None
    ) -> ActionResult:
        """Run the action for real. Never retried: a retry could run it twice."""

    async def rate(self, execution_log_id: str, rating: int, feedback: str | None = None) -> None:
        """Record a rating (-1, 0, 1) and optional feedback against an execution log."""
