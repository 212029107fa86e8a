"""Team confirmation use-cases: who may confirm, count approvals, edit a preview. No Slack here: user
groups come through a `GroupDirectory` the edge provides; Redis through the `TeamStore`."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Protocol

from bot.actions import ActionRequest, ActionResult, Param, ParamMode, RunStatus
from bot.approvals.policy import ConfirmBy
from bot.approvals.store import ApproveResult, TeamStore
from bot.errors import BotError
from bot.runs.records import Preview, PreviewState
from bot.runs.service import PreviewRefused, Where, lockable

MAX_EDIT_CHARS = 3000  # Slack's limit for a text input's value; longer values are not offered for editing


class GroupLookupError(BotError):
    """The members of a user group could not be found out (Slack refused, or did not answer)."""

    def __init__(self, group: str, code: str) -> None:
        super().__init__(f"could not list the members of {group}: {code}")
        self.group = group
        self.code = code


class GroupDirectory(Protocol):
    async def members(self, team: str, group: str) -> frozenset[str]:
        """The user IDs in a user group. Raises `GroupLookupError` when that cannot be found out."""


@dataclass(frozen=True)
class Refusal:
    """Why someone may not confirm (or cancel, or edit) a preview: the policy it was made under."""

    confirm_by: ConfirmBy
    requester: str
    unchecked_groups: tuple[str, ...] = ()  # groups whose members could not be looked up just now


@dataclass(frozen=True)
class EditOutcome:
    """`replaced` (then `preview` is the new one), `unchanged`, `stale` (it changed since the editor saw
    it), `unknown`, `expired`, or the state it had moved on to (running, done, cancelled)."""

    outcome: str
    preview: Preview | None = None
    changed: tuple[str, ...] = ()


class Approvals:
    def __init__(
        self,
        store: TeamStore,
        directory: GroupDirectory,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._directory = directory
        self._clock = clock

    async def refusal(self, preview: Preview, user: str, *, to_cancel: bool = False) -> Refusal | None:
        """None when `user` may confirm the preview; with `to_cancel`, cancel or edit it (the requester
        always may). Otherwise why not."""
        requester = preview.requested_by
        if to_cancel and user == requester:
            return None
        confirm_by = ConfirmBy.decode(preview.confirm_by)
        allowed = {
            "anyone": True,
            "requester": user == requester,
            "others": user != requester,
            "listed": user in confirm_by.users,
        }[confirm_by.kind]
        if allowed:
            return None
        unchecked = []
        for group in confirm_by.groups:
            try:
                if user in await self._directory.members(preview.team, group):
                    return None
            except GroupLookupError:
                unchecked.append(group)
        return Refusal(confirm_by, requester, tuple(unchecked))

    async def approve(self, preview_id: str, fingerprint: str, where: Where) -> ApproveResult:
        """Count one person's approval of the params they were shown (see `TeamStore.approve`)."""
        return await self._store.approve(
            preview_id,
            team=where.team,
            channel=where.channel,
            user=where.user,
            fingerprint=fingerprint,
            now=self._clock(),
        )

    async def edit(
        self,
        preview: Preview,
        seen: str,
        where: Where,
        values: dict[str, str],
        *,
        preview_again: Callable[[ActionRequest], Awaitable[ActionResult]],
    ) -> EditOutcome:
        """Lock the changed values, preview again, and put the new preview in place of the one whose
        fingerprint the editor saw (`seen`). Approvals given so far are discarded. Raises BotError when
        Zapier fails and `PreviewRefused` when it will not preview the edited request."""
        if preview.state is not PreviewState.PENDING:
            return EditOutcome(preview.state.value)
        if preview.fingerprint != seen:
            return EditOutcome("stale")
        changes = changed_params(preview, values)
        if not changes:
            return EditOutcome("unchanged")
        request = replace(preview.request, params={**preview.request.params, **changes})
        # `preview_again` asks with the account the preview was made with (bot/runs/credentials.py), never
        # implicitly the shared key.
        result = await preview_again(request)
        if result.status not in (RunStatus.PREVIEW, RunStatus.SUCCESS):
            raise PreviewRefused(result)
        now = self._clock()
        edited = replace(
            preview,
            request=request,
            result=result,
            created_at=now,
            expires_at=now + max(1.0, preview.expires_at - preview.created_at),  # a fresh preview, same term
            approved_by=(),
            revision=preview.revision + 1,
            edited_by=where.user,
        )
        outcome = await self._store.replace_preview(edited, expected_fingerprint=seen, now=now)
        return EditOutcome(outcome, edited if outcome == "replaced" else None, tuple(changes))


def editable_params(preview: Preview) -> dict[str, str]:
    """Each param the edit form offers, with the value the preview shows (as text)."""
    given = preview.request.params
    resolved = preview.result.resolved_params
    values: dict[str, str] = {}
    for key in dict.fromkeys([*given, *resolved]):
        param = given.get(key)
        if param is not None and param.mode is ParamMode.IGNORED:
            values[key] = ""
            continue
        value = lockable(resolved[key]) if key in resolved else (param.value if param is not None else None)
        if isinstance(value, str) and len(value) <= MAX_EDIT_CHARS:
            values[key] = value
    return values


def changed_params(preview: Preview, values: dict[str, str]) -> dict[str, Param]:
    """The params whose submitted value differs from the one shown: locked to it, or left empty if cleared.
    Keys the form did not offer are ignored."""
    changes: dict[str, Param] = {}
    for key, shown in editable_params(preview).items():
        if key not in values:
            continue
        new = values[key].strip()
        if new != shown.strip():
            changes[key] = Param(ParamMode.LOCKED, new) if new else Param(ParamMode.IGNORED)
    return changes
