"""The audit trail: every step of every preview, appended to the Redis stream `zapbot:audit`.

Each entry says what happened (`step`), who did it, when, where (team, channel), to what (app, action,
preview id, execution_log_id) and a short `detail`. The stream is capped near AUDIT_MAX_ENTRIES (XADD
MAXLEN ~), oldest entries first out; `/zap audit [N]` shows the caller the newest N entries of the channel.

Other features add their steps with `append`:

    await deps.audit.append(Step.EXECUTED, who=user, channel=channel, app=app, action=action,
                            execution_log_id=log_id, detail="success")

An audit write that fails is logged and does not stop the step it records: the step has already happened
(an action may have run) and its outcome must still reach Slack.

A step that is itself one Lua script can append its entry in that same script, with `write` (the same
fields, keys and trimming): ratings do, so that a vote costs one Redis call (bot/ratings/store.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Required, TypedDict, Unpack

from bot.approvals.store import AuditWrite, TeamStore
from bot.errors import BotError
from bot.runs.records import Preview

log = logging.getLogger(__name__)

DEFAULT_MAX_ENTRIES = 100_000
DETAIL_CHARS = 300


class Step(StrEnum):
    REQUESTED = "requested"  # a /zap or @mention asked for an action
    DENIED = "denied"  # the channel's policy does not allow that app or action
    PREVIEWED = "previewed"  # Zapier previewed it; the preview was posted
    EDITED = "edited"  # someone changed params; a new preview replaced the old one
    APPROVED = "approved"  # one person's Confirm counted (detail: "1/2")
    REFUSED = "refused"  # a click the policy does not allow, or on params no longer shown
    CONFIRMED = "confirmed"  # enough approvals (or auto_run): the action is about to run
    EXECUTED = "executed"  # it ran; detail is Zapier's status, or the error
    CANCELLED = "cancelled"
    EXPIRED = "expired"
    RATED = "rated"  # a reaction rated a result (the ratings feature)


@dataclass(frozen=True)
class AuditEntry:
    id: str  # the stream entry ID
    step: str
    who: str
    at: float
    team: str
    channel: str
    app: str
    action: str
    execution_log_id: str
    preview_id: str
    detail: str

    @classmethod
    def from_fields(cls, entry_id: str, fields: dict[str, str]) -> AuditEntry:
        try:
            at = float(fields.get("at", "0"))
        except ValueError:
            at = 0.0
        return cls(
            id=entry_id,
            step=fields.get("step", ""),
            who=fields.get("who", ""),
            at=at,
            team=fields.get("team", ""),
            channel=fields.get("channel", ""),
            app=fields.get("app", ""),
            action=fields.get("action", ""),
            execution_log_id=fields.get("execution_log_id", ""),
            preview_id=fields.get("preview_id", ""),
            detail=fields.get("detail", ""),
        )


class Where(TypedDict, total=False):
    """What an entry says besides its step and time: who (required), and where and to what."""

    who: Required[str]
    team: str
    channel: Required[str]
    app: str
    action: str
    execution_log_id: str
    preview_id: str
    detail: str


WHERE_FIELDS = tuple(Where.__annotations__)


class Audit:
    def __init__(
        self,
        store: TeamStore,
        *,
        max_entries: int = DEFAULT_MAX_ENTRIES,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._max_entries = max_entries
        self._clock = clock

    async def append(self, step: Step | str, **where: Unpack[Where]) -> None:
        """Add one step to the trail. `who` is a Slack user ID ("" for the bot itself, e.g. expiry)."""
        await self._add(self.write(step, **where), step, where.get("preview_id") or where.get("app", ""))

    async def _add(self, write: AuditWrite, step: Step | str, of: str) -> None:
        try:
            await self._store.audit_add(write)
        except BotError as exc:
            log.warning("could not append %s of %s to the audit trail: %s", step, of, exc)

    def write(self, step: Step | str, **where: Unpack[Where]) -> AuditWrite:
        """One entry, stamped now, ready for a Lua script to append (what `append` sends)."""
        fields = {"step": str(step), "who": where["who"], "at": f"{self._clock():.3f}"}
        fields |= {name: str(where.get(name, "")) for name in WHERE_FIELDS[1:]}  # all but who
        fields["detail"] = fields["detail"][:DETAIL_CHARS]
        return self._store.audit_write(fields, max_entries=self._max_entries)

    async def preview_step(
        self, step: Step, preview: Preview, *, who: str, execution_log_id: str | None = None, detail: str = ""
    ) -> None:
        """A step of one preview: where, what and its execution_log_id come from the preview."""
        write = self.preview_write(step, preview, who=who, execution_log_id=execution_log_id, detail=detail)
        await self._add(write, step, preview.id)

    def preview_write(
        self, step: Step, preview: Preview, *, who: str, execution_log_id: str | None = None, detail: str = ""
    ) -> AuditWrite:
        """`preview_step`'s entry, ready for another step to append in its own round trip."""
        return self.write(
            step,
            who=who,
            team=preview.team,
            channel=preview.channel,
            app=preview.request.app,
            action=preview.request.action,
            execution_log_id=preview.result.execution_log_id
            if execution_log_id is None
            else execution_log_id,
            preview_id=preview.id,
            detail=detail,
        )

    async def recent(self, channel: str, count: int) -> list[AuditEntry]:
        """The newest `count` entries of `channel`, oldest first. Raises StoreError if Redis is down."""
        found = await self._store.audit_recent(channel, count)
        return [AuditEntry.from_fields(entry_id, fields) for entry_id, fields in reversed(found)]
