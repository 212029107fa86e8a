"""Pydantic models mirroring ../shared/spec/zapier-ai-actions-v2.openapi.yaml (the parts we use)."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

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


class AuthCheckResponse(BaseModel):
    """A 200 from `GET /api/v2/auth/check/` (Zapier's docs; not in our spec file): who the key belongs to."""

    model_config = ConfigDict(extra="ignore")

    success: bool | None = None
    email: str | None = None
    name: str | None = None
    user_id: int | None = None
