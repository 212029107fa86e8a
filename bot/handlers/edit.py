"""Edit before confirming: the Edit button opens a form with the preview's params; saving it locks the
changed values, makes a new preview and shows it in place of the old message. Approvals start over."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.approvals import editable_params
from bot.audit import Step
from bot.errors import BotError
from bot.handlers.deps import Deps
from bot.handlers.replies import Privately, slack_error_code, update
from bot.messages import EDIT, describe_failure, escape, failure_message, preview_message
from bot.records import PreviewState
from bot.service import PreviewRefused, Where
from bot.tasks import TooBusy
from bot.team_messages import (
    EDIT_VIEW,
    UNKNOWN_PREVIEW,
    edit_modal,
    edit_outcome_text,
    edited_text,
    refusal_text,
    submitted_values,
)

log = logging.getLogger(__name__)

NOTHING_TO_EDIT = "This preview shows no params that can be edited here."


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(EDIT)
    async def on_edit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        user = body.get("user", {}).get("id", "")
        channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id", "")
        team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")
        privately = Privately(user=user, channel=channel, response_url=body.get("response_url"))
        value = str(((body.get("actions") or [{}])[0]).get("value", ""))[:2000]
        job = open_editor(deps, value, Where(team, channel, user), str(body.get("trigger_id", "")), privately)
        _spawn(deps, job, "edit-open")

    @app.view(EDIT_VIEW)
    async def on_edit_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        await ack()  # closes the form; the new preview replaces the message in the channel
        try:
            meta = json.loads(view.get("private_metadata") or "{}")
            preview_id, seen, channel = str(meta["preview"]), str(meta["seen"]), str(meta["channel"])
        except (ValueError, KeyError, TypeError):
            log.warning("an edit form came back without its metadata")
            return
        user = body.get("user", {}).get("id", "")
        team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")
        values = submitted_values((view.get("state") or {}).get("values") or {})
        job = apply_edit(
            deps, preview_id, Where(team, channel, user), Privately(user, channel), seen=seen, values=values
        )
        _spawn(deps, job, "edit-apply")


async def open_editor(
    deps: Deps, preview_id: str, where: Where, trigger_id: str, privately: Privately
) -> None:
    """Open the form, if this person may edit (the requester, or anyone allowed to confirm)."""
    try:
        preview = await deps.store.get_preview(preview_id)
        if preview is None or preview.team != where.team or preview.channel != where.channel:
            await privately.say(deps, UNKNOWN_PREVIEW)
            return
        if preview.state is not PreviewState.PENDING:
            await privately.say(deps, edit_outcome_text(preview.state.value))
            return
        refusal = await deps.approvals.refusal(preview, where.user, to_cancel=True)
    except BotError as exc:
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    if refusal is not None:
        await deps.audit.preview_step(Step.REFUSED, preview, who=where.user, detail="may not edit")
        await privately.say(deps, refusal_text(refusal, "edit"))
        return
    if not editable_params(preview):
        await privately.say(deps, NOTHING_TO_EDIT)
        return
    try:
        await deps.slack.views_open(trigger_id=trigger_id, view=edit_modal(preview))
    except SlackApiError as exc:
        log.warning("could not open the edit form: %s", slack_error_code(exc))
        await privately.say(
            deps, f"Slack would not open the edit form (`{slack_error_code(exc)}`). Try again."
        )


async def apply_edit(
    deps: Deps, preview_id: str, where: Where, privately: Privately, *, seen: str, values: dict[str, str]
) -> None:
    """Preview the edited request and put it in place of the preview the editor saw."""
    try:
        preview = await deps.store.get_preview(preview_id)
        if preview is None or preview.team != where.team or preview.channel != where.channel:
            await privately.say(deps, UNKNOWN_PREVIEW)
            return
        refusal = await deps.approvals.refusal(preview, where.user, to_cancel=True)
        if refusal is not None:
            await privately.say(deps, refusal_text(refusal, "edit"))
            return
        outcome = await deps.approvals.edit(preview, seen, where, values)
    except PreviewRefused as exc:
        said = escape(exc.result.error or exc.result.status.value)
        text = f":warning: Zapier could not preview the edited request: {said}. The preview stays as it was."
        await privately.say(deps, text)
        return
    except BotError as exc:
        await privately.send(deps, failure_message("Edit", exc, "preview"))
        return
    edited = outcome.preview
    if outcome.outcome != "replaced" or edited is None:
        await privately.say(deps, edit_outcome_text(outcome.outcome))
        return
    changed = "changed " + ", ".join(outcome.changed)
    await deps.audit.preview_step(Step.EDITED, edited, who=where.user, detail=changed)
    await update(deps, edited.channel, edited.message_ts, preview_message(edited))
    try:
        # Reactions on the message now rate the new preview's execution log.
        await deps.service.shown(edited, message_ts=edited.message_ts, thread_ts=edited.thread_ts)
    except BotError as exc:
        log.warning("could not record the edited preview's message: %s", type(exc).__name__)
    await privately.say(deps, edited_text(edited, outcome.changed))


def _spawn(deps: Deps, coro: Any, name: str) -> None:
    try:
        deps.tasks.spawn(coro, name=name)
    except TooBusy:
        log.warning("dropped a %s: too many tasks in flight", name)
