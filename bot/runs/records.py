"""The records the bot keeps between requests, and how they turn into strings for Redis."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from enum import StrEnum

from pydantic import TypeAdapter

from bot.actions import ActionRequest, ActionResult


class PreviewState(StrEnum):
    """A run's state. Moves only forward, each move one atomic step in Redis (bot/runs/store.py):

        pending -> running -> succeeded | empty | failed | unknown
        pending -> cancelled | expired | unposted
    `unknown`: the execute request may have reached Zapier but the bot cannot know what happened (it
    stopped, or the answer was unreadable); a late answer may still move it to its real outcome."""

    PENDING = "pending"  # waiting for Confirm or Cancel (or more approvals)
    RUNNING = "running"  # confirmed; the execute request is out, held by a process's lease
    SUCCEEDED = "succeeded"  # Zapier answered `success`
    EMPTY = "empty"  # Zapier ran it and found nothing
    FAILED = "failed"  # Zapier answered an error, or refused the request before running it
    UNKNOWN = "unknown"  # the outcome is not known: see above
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    # Its post failed and it was not found in the channel: the requester was told it was not posted, so
    # a copy that landed after all (unrecorded) may not be confirmed, cancelled or edited.
    UNPOSTED = "unposted"
    DONE = "done"  # records written before the outcome states existed: ran, outcome posted

    @property
    def ran(self) -> bool:
        """Whether a confirmed run is over (or may be): the preview can no longer change."""
        return self in _RAN


_RAN = frozenset(
    {PreviewState.SUCCEEDED, PreviewState.EMPTY, PreviewState.FAILED, PreviewState.UNKNOWN, PreviewState.DONE}
)


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
    # Team confirmation (bot/approvals/policy.py, bot/approvals/rules.py): who may confirm, how many
    # must, who has.
    confirm_by: str = "anyone"  # `ConfirmBy.encode()` of the policy when the preview was made
    approvals_needed: int = 1
    approved_by: tuple[str, ...] = ()  # changed only by the store's atomic approve script
    revision: int = 0  # how many times the preview was edited
    edited_by: str = ""

    @property
    def fingerprint(self) -> str:
        """A hash of what the preview shows (the action and every param): a Confirm runs only this."""
        shown = {
            "app": self.request.app,
            "action": self.request.action,
            "action_type": self.request.action_type.value,
            "instructions": self.request.instructions,
            "params": {k: [p.mode.value, p.value] for k, p in sorted(self.request.params.items())},
            "resolved": self.result.resolved_params,
        }
        canonical = json.dumps(shown, sort_keys=True, ensure_ascii=False, default=str, separators=(",", ":"))
        return hashlib.sha256(canonical.encode()).hexdigest()[:32]

    request_id: str = ""  # the log request id of the command, so a confirm on any replica logs the same
    outcome_detail: str = ""  # why a run ended as it did, in the bot's words (e.g. why it is unknown)
    run_log_id: str = ""  # the execution_log_id of the confirmed run (the preview's is in `result`)
    run_as: str = "shared"  # whose Zapier account: requester, confirmer or shared (bot/runs/credentials.py)

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
            "confirm_by": self.confirm_by,
            "approvals_needed": str(self.approvals_needed),
            "approved_by": " ".join(self.approved_by),
            "revision": str(self.revision),
            "edited_by": self.edited_by,
            "fingerprint": self.fingerprint,
            "request_id": self.request_id,
            "outcome_detail": self.outcome_detail,
            "run_log_id": self.run_log_id,
            "run_as": self.run_as,
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
            confirm_by=fields.get("confirm_by", "anyone"),
            approvals_needed=int(fields.get("approvals_needed", "1")),
            approved_by=tuple(fields.get("approved_by", "").split()),
            revision=int(fields.get("revision", "0")),
            edited_by=fields.get("edited_by", ""),
            request_id=fields.get("request_id", ""),
            outcome_detail=fields.get("outcome_detail", ""),
            run_log_id=fields.get("run_log_id", ""),
            run_as=fields.get("run_as", "shared"),
        )


_REQUEST: TypeAdapter[ActionRequest] = TypeAdapter(ActionRequest)
_RESULT: TypeAdapter[ActionResult] = TypeAdapter(ActionResult)


def result_to_json(result: ActionResult) -> str:
    return _RESULT.dump_json(result).decode()
