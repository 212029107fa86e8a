"""Edit before confirming: the Edit button opens a form with the preview's params; saving it locks the
changed values, makes a new preview and shows it in place of the old message. Approvals start over."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.approvals.messages import (
    EDIT_VIEW,
    edit_modal,
    submitted_values,
)
from bot.render.messages import EDIT
from bot.runs.service import Where
from bot.slack.deps import Deps
from bot.slack.listeners.buttons import clicked, clicked_value, start_click
from bot.slack.replies import Privately, slack_error_code
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)

NOTHING_TO_EDIT = "This preview shows no params that can be edited here."


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
        job = deps.runs.edit(
            preview_id, Where(team, channel, user), SlackPerson(deps, privately), seen=seen, values=values
        )
        start_click(deps, privately, job, "edit-apply")


async def open_editor(
    deps: Deps, preview_id: str, where: Where, trigger_id: str, privately: Privately
) -> None:
    """Open the form, if this person may edit (the same policy check as Cancel: bot/runs/lifecycle.py)."""
    preview = await deps.runs.editable(preview_id, where, SlackPerson(deps, privately))
    if preview is None:
        return
    try:
        await deps.slack.views_open(trigger_id=trigger_id, view=edit_modal(preview))
    except SlackApiError as exc:
        log.warning("could not open the edit form: %s", slack_error_code(exc))
        await privately.say(
            deps, f"Slack would not open the edit form (`{slack_error_code(exc)}`). Try again."
        )
