"""Edit before confirming: the Edit button opens a form with the preview's params; saving it locks the
changed values, makes a new preview and shows it in place of the old message. Approvals start over."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.approvals.messages import (
    EDIT_VIEW,
    edit_modal,
    submitted_values,
)
from bot.render.messages import EDIT, SECTION_CHARS, Message, clip
from bot.runs.service import Where
from bot.slack.deps import Deps
from bot.slack.listeners.buttons import clicked, clicked_value, start_click
from bot.slack.replies import SLACK_FAILURES, Privately, no_answer, slack_error_code
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)

NOTHING_TO_EDIT = "This preview shows no params that can be edited here."
EDIT_TITLE = "Edit before confirming"  # as the form's own title (bot/approvals/messages.py)
CHECKING = "Checking that you may edit this preview…"
NOT_EDITABLE = "This preview cannot be edited now."


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(EDIT)
    async def on_edit(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = clicked(body)
        job = open_editor(deps, clicked_value(body), where, str(body.get("trigger_id", "")), privately)
        start_click(deps, privately, job, "edit-open")

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
        privately = Privately(user, channel)
        job = deps.runs.changes.edit(
            preview_id, Where(team, channel, user), SlackPerson(deps, privately), seen=seen, values=values
        )
        start_click(deps, privately, job, "edit-apply")


async def open_editor(
    deps: Deps, preview_id: str, where: Where, trigger_id: str, privately: Privately
) -> None:
    """Open the form first (a trigger_id is valid 3 s, once), then check, with the same policy check as
    Cancel (`Changes.editable`, bot/runs/changes.py), whether this person may edit; a refusal is shown in
    the form itself, which a slow check (a user group looked up in Slack) can no longer keep from opening."""
    try:
        opened = await deps.slack.views_open(trigger_id=trigger_id, view=notice_view(CHECKING))
    except SLACK_FAILURES as exc:
        code = slack_error_code(exc)
        log.warning("could not open the edit form: %s", code)
        if no_answer(exc):
            await privately.say(deps, f"Slack did not answer in time (`{code}`) when opening the edit form.")
        else:
            await privately.say(deps, f"Slack would not open the edit form (`{code}`). Try again.")
        return
    view_id = str((opened.get("view") or {}).get("id", ""))
    in_form = InTheForm(where.user)
    preview = await deps.runs.changes.editable(preview_id, where, in_form)
    refusal = in_form.text() or NOT_EDITABLE
    view = edit_modal(preview) if preview is not None else notice_view(refusal)
    try:
        await deps.slack.views_update(view_id=view_id, view=view)
    except SLACK_FAILURES as exc:
        log.warning("could not show the edit form: %s", slack_error_code(exc))
        if preview is None:
            await privately.say(deps, refusal)
        else:
            await privately.say(
                deps, f"Slack would not show the edit form (`{slack_error_code(exc)}`). Try again."
            )


@dataclass
class InTheForm:
    """A `Person` (bot/runs/ports.py) whose answers go into the open Edit form instead of a message."""

    user: str
    said: list[str] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.said.append(str(message.get("text", "")))

    async def say(self, text: str) -> None:
        self.said.append(text)

    def text(self) -> str:
        return "\n".join(t for t in self.said if t)


def notice_view(text: str) -> dict[str, Any]:
    """The Edit form's frame with only a short text: while the check runs, or why there is nothing to edit."""
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": EDIT_TITLE},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": clip(text, SECTION_CHARS)}}],
    }
