"""Pydantic models mirroring the parts we use of the AI Actions OpenAPI file (tests/spec/)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field

ActionTypeName = Literal["read", "write", "search", "read_bulk"]
ConstraintMode = Literal["locked", "guess", "choose_from", "ignored"]
StatusName = Literal["success", "error", "empty", "preview"]


class ParamConstraint(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mode: ConstraintMode
    value: str | list[str] | dict[str, str] | None = None


class StatelessExecuteRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    instructions: str
    app: str
    action: str
    action_type: ActionTypeName = "write"
    params: dict[str, ParamConstraint] = Field(default_factory=dict)


class ExecuteResponse(BaseModel):
    """A 200 from execute or rate. Unknown fields are kept out of the way, not rejected."""

    model_config = ConfigDict(extra="ignore")

    execution_log_id: str
    action_used: str
    input_params: dict[str, Any]
    resolved_params: dict[str, Any] | None = None
    results: list[dict[str, Any]] | None = None
    full_results: list[dict[str, Any]] | None = None
    result_field_labels: dict[str, Any] | None = None
    status: StatusName = "success"
    error: str | None = None


class ErrorResponse(BaseModel):
    model_config = ConfigDict(extra="allow")

    error: str
    detail: Any = None


# Discovery endpoints (guess-actions, apps/search, apps/{app}/actions). Zapier documents these less precisely
# than execute, so each item is read leniently: unknown fields are ignored, a few alternative field names are
# accepted, and an item that still does not fit is skipped rather than failing the whole answer.


class GuessActionsRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    query: str
    action_types: list[ActionTypeName]
    count: int


class GuessedActionItem(BaseModel):
    """One element of the JSON array guess-actions answers."""

    model_config = ConfigDict(extra="ignore")

    app: str = Field(min_length=1)
    action: str = Field(min_length=1)
    action_type: str = Field(default="write", validation_alias=AliasChoices("action_type", "type"))
    name: str | None = None
    description: str | None = None
    image: str | None = None
    score: float | None = None


class AppItem(BaseModel):
    """One app in apps/search `results`: its key, name, and counts of actions by type."""

    model_config = ConfigDict(extra="ignore")

    app: str = Field(min_length=1)
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "title", "label"))
    description: str | None = None
    actions: dict[str, int] | None = Field(
        default=None, validation_alias=AliasChoices("actions", "action_counts")
    )
    write_action_count: int | None = None
    search_action_count: int | None = None
    read_action_count: int | None = None


class ActionItem(BaseModel):
    """One action in apps/{app}/actions `results`."""

    model_config = ConfigDict(extra="ignore")

    app: str | None = None
    action: str = Field(min_length=1, validation_alias=AliasChoices("action", "key"))
    action_type: str = Field(default="write", validation_alias=AliasChoices("action_type", "type"))
    name: str | None = Field(default=None, validation_alias=AliasChoices("name", "display_name", "label"))
    description: str | None = None


class AuthCheckResponse(BaseModel):
    """A 200 from `GET /api/v2/auth/check/` (Zapier's docs; not in our spec file): who the key belongs to."""

    model_config = ConfigDict(extra="ignore")

    success: bool | None = None
    email: str | None = None
    name: str | None = None
    user_id: int | None = None
