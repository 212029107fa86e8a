"""The records the bot keeps between requests, and how they turn into strings for Redis."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from pydantic import TypeAdapter

from bot.actions import ActionRequest, ActionResult


class PreviewState(StrEnum):
    PENDING = "pending"  # waiting for Confirm or Cancel
    RUNNING = "running"  # confirmed; the action is being run
    DONE = "done"  # ran; the outcome was posted
    CANCELLED = "cancelled"
    EXPIRED = "expired"


@dataclass
class Preview:
    """One preview shown in Slack, from the command until it is confirmed, cancelled or expired."""

    id: str
    team: str
    channel: str
    requested_by: str
    request: ActionRequest
    result: ActionResult
    created_at: float
    expires_at: float
    state: PreviewState = PreviewState.PENDING
    message_ts: str = ""
    thread_ts: str = ""
    decided_by: str = ""
    request_id: str = ""  # the log request id of the command, so a confirm on any replica logs the same

    def to_fields(self) -> dict[str, str]:
        return {
            "id": self.id,
            "team": self.team,
            "channel": self.channel,
            "requested_by": self.requested_by,
            "request": _REQUEST.dump_json(self.request).decode(),
            "result": _RESULT.dump_json(self.result).decode(),
            "created_at": repr(self.created_at),
            "expires_at": repr(self.expires_at),
            "state": self.state.value,
            "message_ts": self.message_ts,
            "thread_ts": self.thread_ts,
            "decided_by": self.decided_by,
            "request_id": self.request_id,
        }

    @classmethod
    def from_fields(cls, fields: dict[str, str]) -> Preview:
        return cls(
            id=fields["id"],
            team=fields["team"],
            channel=fields["channel"],
            requested_by=fields["requested_by"],
            request=_REQUEST.validate_json(fields["request"]),
            result=_RESULT.validate_json(fields["result"]),
            created_at=float(fields["created_at"]),
            expires_at=float(fields["expires_at"]),
            state=PreviewState(fields["state"]),
            message_ts=fields.get("message_ts", ""),
            thread_ts=fields.get("thread_ts", ""),
            decided_by=fields.get("decided_by", ""),
            request_id=fields.get("request_id", ""),
        )


_REQUEST: TypeAdapter[ActionRequest] = TypeAdapter(ActionRequest)
_RESULT: TypeAdapter[ActionResult] = TypeAdapter(ActionResult)


def result_to_json(result: ActionResult) -> str:
    return _RESULT.dump_json(result).decode()


def result_from_json(text: str) -> ActionResult:
    return _RESULT.validate_json(text)
