"""Changing a pending preview: switching a guessed preview to another candidate, and editing its params.

Both pass the same permission check as Confirm and Cancel (`may_change`, bot/runs/lifecycle.py), and both
put the new preview in place of the old one on the same message, so reactions then rate the new one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from functools import partial

from bot.approvals.audit import Audit, Step
from bot.approvals.messages import UNKNOWN_PREVIEW, edit_outcome_text, edited_text
from bot.approvals.rules import Approvals, editable_params
from bot.approvals.store import TeamStore
from bot.discovery.finder import Candidates, candidates_from_json, candidates_to_json
from bot.discovery.messages import guessed_preview_message, switched_note
from bot.errors import BotError
from bot.render.messages import describe_failure, escape, expired_note, failure_message, preview_message, user
from bot.runs.outcomes import CANDIDATES_FIELD, NOTHING_TO_EDIT, SWITCH_REFUSED, UNKNOWN
from bot.runs.ports import Person
from bot.runs.records import Preview, PreviewState
from bot.runs.sending import Sender
from bot.runs.service import PreviewRefused, Where, ZapService

log = logging.getLogger(__name__)

MayChange = Callable[[Preview, str, str, Person], Awaitable[bool]]


class Changes:
    def __init__(
        self,
        service: ZapService,
        store: TeamStore,
        audit: Audit,
        approvals: Approvals,
        sender: Sender,
        *,
        may_change: MayChange,
    ) -> None:
        self.service = service
        self.store = store
        self.audit = audit
        self.approvals = approvals
        self.sender = sender
        self.may_change = may_change

    async def switch(self, value: str, where: Where, person: Person) -> Preview | None:
        """Replace a guessed preview by a preview of another candidate, if it is still pending and this
        person may change it (the same policy check as Cancel and Edit). Returns the new preview."""
        preview_id, _, index_text = value.rpartition(":")
        try:
            old = await self.store.get_preview(preview_id) if preview_id else None
            saved = await self.store.preview_field(preview_id, CANDIDATES_FIELD) if old else None
        except BotError as exc:
            await person.say(describe_failure(exc, "preview"))
            return None
        candidates = candidates_from_json(saved) if saved else None
        index = int(index_text) if index_text.isdigit() else -1
        if (
            old is None
            or candidates is None
            or old.channel != where.channel
            or not 0 <= index < len(candidates.items)
        ):
            await person.say(UNKNOWN.replace("nothing was run", "nothing changed"))
            return None
        where = replace(where, team=old.team)
        if old.state is not PreviewState.PENDING or old.expires_at <= time.time():
            await self._switch_refused(old.state.value, old.decided_by, person)
            return None
        if index == candidates.current:
            await person.say("That is the action this preview shows already.")
            return None
        if not await self.may_change(old, where.user, "change", person):
            return None
        return await self._switch(old, Candidates(candidates.items, index), where, person)

    async def _switch(
        self, old: Preview, switched: Candidates, where: Where, person: Person
    ) -> Preview | None:
        choice = switched.items[switched.current]
        request = replace(old.request, app=choice.app, action=choice.action, action_type=choice.action_type)
        asked_by = Where(old.team, old.channel, old.requested_by)  # it stays the requester's preview
        try:
            new = await self.service.preview(request, asked_by)
        except BotError as exc:
            if isinstance(exc, PreviewRefused):
                refused = escape(exc.result.error or exc.result.status.value)
                said = f"Zapier could not preview it: {refused}. Nothing was run."
            else:
                said = "the preview failed: " + describe_failure(exc, "preview")
            await person.say(f":warning: I couldn't switch to *{escape(choice.name)}*: {said}")
            return None
        try:
            claim = await self.service.decide(old.id, where, confirm=False)
            if claim.outcome != "claimed":
                await self.service.decide(new.id, asked_by, confirm=False)  # never shown: close it at once
                if claim.outcome == "expired_now" and claim.preview is not None:
                    await self.sender.update_preview(
                        claim.preview, preview_message(claim.preview, closed=expired_note())
                    )
                await self._switch_refused(claim.outcome, claim.decided_by, person)
                return None
            await self.audit.preview_step(
                Step.CANCELLED, old, who=where.user, detail=f"switched to {choice.action}"
            )
            await self.store.update_preview(new.id, **{CANDIDATES_FIELD: candidates_to_json(switched)})
            await self.service.shown(new, message_ts=old.message_ts, thread_ts=old.thread_ts)
        except BotError as exc:
            log.warning("switching preview %s failed: %s", old.id, type(exc).__name__)
            await person.say(describe_failure(exc, "preview"))
            return None
        message = guessed_preview_message(new, switched, note=switched_note(where.user, choice))
        await self.sender.update_preview(new, message)
        return new

    async def _switch_refused(self, outcome: str, decided_by: str, person: Person) -> None:
        who = user(decided_by) if decided_by else "Someone"
        if outcome in {"succeeded", "empty", "failed", "outcome_unknown", "done"}:
            text = f"{who} already confirmed this preview and it has run."
        else:
            text = SWITCH_REFUSED.get(outcome, UNKNOWN.replace("nothing was run", "nothing changed"))
        await person.say(text.format(who=who))

    async def editable(self, preview_id: str, where: Where, person: Person) -> Preview | None:
        """The preview to open the Edit form for, if it is pending and this person may edit it."""
        try:
            preview = await self.store.get_preview(preview_id)
            if preview is None or preview.channel != where.channel:
                await person.say(UNKNOWN_PREVIEW)
                return None
            if preview.state is not PreviewState.PENDING:
                await person.say(edit_outcome_text(preview.state.value))
                return None
            if not await self.may_change(preview, where.user, "edit", person):
                return None
        except BotError as exc:
            await person.say(describe_failure(exc, "preview"))
            return None
        if not editable_params(preview):
            await person.say(NOTHING_TO_EDIT)
            return None
        return preview

    async def edit(
        self, preview_id: str, where: Where, person: Person, *, seen: str, values: dict[str, str]
    ) -> None:
        """Preview the edited request and put it in place of the preview the editor saw."""
        try:
            preview = await self.store.get_preview(preview_id)
            if preview is None or preview.channel != where.channel:
                await person.say(UNKNOWN_PREVIEW)
                return
            where = replace(where, team=preview.team)
            if not await self.may_change(preview, where.user, "edit", person):
                return
            edited_again = partial(self.service.preview_again, preview)
            outcome = await self.approvals.edit(preview, seen, where, values, preview_again=edited_again)
        except PreviewRefused as exc:
            said = escape(exc.result.error or exc.result.status.value)
            await person.say(
                f":warning: Zapier could not preview the edited request: {said}. The preview stays as it was."
            )
            return
        except BotError as exc:
            await person.send(failure_message("Edit", exc, "preview"))
            return
        edited = outcome.preview
        if outcome.outcome != "replaced" or edited is None:
            await person.say(edit_outcome_text(outcome.outcome))
            return
        await self.audit.preview_step(
            Step.EDITED, edited, who=where.user, detail="changed " + ", ".join(outcome.changed)
        )
        await self.sender.update_preview(edited, preview_message(edited))
        try:
            # Reactions on the message now rate the new preview's execution log.
            await self.service.shown(edited, message_ts=edited.message_ts, thread_ts=edited.thread_ts)
        except BotError as exc:
            log.warning("could not record the edited preview's message: %s", type(exc).__name__)
        await person.say(edited_text(edited, outcome.changed))
