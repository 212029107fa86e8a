"""The Feedback button on results: it opens a modal; the text submitted is kept and sent to Zapier."""

from __future__ import annotations

import json
import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.errors import BotError
from bot.ops.tasks import TooBusy
from bot.ratings.render import FEEDBACK_BLOCK, FEEDBACK_INPUT, feedback_modal
from bot.ratings.service import FEEDBACK_CHARS
from bot.render.messages import FEEDBACK
from bot.slack.deps import Deps
from bot.slack.replies import SLACK_FAILURES, Privately, slack_error_code

log = logging.getLogger(__name__)

UNAVAILABLE = "zapbot could not save this right now (its database did not answer). Try again in a minute."
UNKNOWN = "zapbot no longer knows this result, so the feedback could not be kept."
EMPTY = "Write a few words, or close this."
THANKS = "Thanks: your feedback is kept with this result and goes to Zapier with its rating."


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(FEEDBACK)
    async def on_feedback_button(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        if deps.ratings is None or not body.get("trigger_id"):
            return
        try:
            deps.tasks.spawn(_open_modal(deps, body), name="feedback-modal")
        except TooBusy:
            log.warning("dropped a Feedback click: too many tasks in flight")

    @app.view(FEEDBACK)
    async def on_feedback_submitted(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        # Saved before the ack, so that the person sees in the modal itself if it could not be.
        meta = _metadata(view.get("private_metadata", ""))
        text = _submitted_text(view)
        user = str((body.get("user") or {}).get("id", ""))
        if not text.strip():
            await ack(response_action="errors", errors={FEEDBACK_BLOCK: EMPTY})
            return
        if deps.ratings is None or not meta.get("id") or not user:
            await ack(response_action="errors", errors={FEEDBACK_BLOCK: UNKNOWN})
            return
        try:
            kept = await deps.ratings.add_feedback(meta["id"], user=user, text=text)
        except BotError as exc:
            log.warning("could not keep feedback on %s: %s", meta["id"], exc)
            await ack(response_action="errors", errors={FEEDBACK_BLOCK: UNAVAILABLE})
            return
        if not kept:
            await ack(response_action="errors", errors={FEEDBACK_BLOCK: UNKNOWN})
            return
        await ack()
        if meta.get("channel"):
            privately = Privately(user, meta["channel"], thread_ts=meta.get("thread_ts") or None)
            try:
                deps.tasks.spawn(privately.say(deps, THANKS), name="feedback-thanks")
            except TooBusy:
                log.warning("skipped a feedback thank-you: too many tasks in flight")


async def _open_modal(deps: Deps, body: dict[str, Any]) -> None:
    actions = body.get("actions") or [{}]
    execution_log_id = str(actions[0].get("value", ""))[:2000]
    message = body.get("message") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    thread_ts = message.get("thread_ts") or (body.get("container") or {}).get("thread_ts") or ""
    metadata = json.dumps({"id": execution_log_id, "channel": channel, "thread_ts": thread_ts})
    try:
        execution = await deps.store.get_execution(execution_log_id)
    except BotError:
        execution = {}  # the modal opens anyway: trigger_id lasts 3 s; the submission checks again
    view = feedback_modal(
        FEEDBACK, metadata, action_used=execution.get("action_used", ""), max_chars=FEEDBACK_CHARS
    )
    try:
        await deps.slack.views_open(trigger_id=body["trigger_id"], view=view)
    except SLACK_FAILURES as exc:
        log.warning("could not open the feedback modal: %s", slack_error_code(exc))


def _submitted_text(view: dict[str, Any]) -> str:
    values = ((view.get("state") or {}).get("values") or {}).get(FEEDBACK_BLOCK) or {}
    return str((values.get(FEEDBACK_INPUT) or {}).get("value") or "")


def _metadata(raw: str) -> dict[str, str]:
    try:
        parsed = json.loads(raw)
    except ValueError:
        return {}
    if not isinstance(parsed, dict):
        return {}
    return {key: str(value) for key, value in parsed.items() if isinstance(value, str)}
