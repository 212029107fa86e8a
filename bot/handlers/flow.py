"""The conversation, after the ack: preview -> post -> Confirm/Cancel -> run -> result in the thread."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine, Sequence
from typing import Any

from slack_sdk.errors import SlackApiError

from bot.actions import ActionRequest
from bot.audit import Step
from bot.errors import BotError
from bot.handlers.deps import Deps
from bot.handlers.replies import Privately, post, slack_error_code, slack_error_text, update
from bot.handlers.team import approve_click, may_cancel, record_confirmation
from bot.messages import (
    Message,
    cancelled_note,
    confirmed_note,
    describe_failure,
    escape,
    expired_note,
    failure_message,
    full_result_messages,
    notice_message,
    preview_message,
    result_message,
    user,
)
from bot.policy import PolicyDenied
from bot.records import Preview, PreviewState
from bot.service import PreviewRefused, Where
from bot.team_messages import approvals_note, auto_run_note, denied_text

log = logging.getLogger(__name__)

EXPIRED = "This preview has expired, so nothing was run. Send the command again for a new preview."


async def preview_and_post(
    deps: Deps, request: ActionRequest, where: Where, *, thread_ts: str | None, privately: Privately
) -> None:
    """Ask for a preview and post it with the buttons: in the channel, or in the mention's thread."""
    preview = await make_preview(deps, request, where, privately)
    if preview is not None:
        await show_preview(deps, preview, where, thread_ts=thread_ts, privately=privately)


async def make_preview(
    deps: Deps,
    request: ActionRequest,
    where: Where,
    privately: Privately,
    *,
    title: str | None = None,
    hint: str = "",
) -> Preview | None:
    """The policy check, Zapier's preview and the audit entries; None when the requester has been told
    why there is no preview (denied, refused, failed), naming it `title`, with `hint` appended."""
    title = escape(title or f"{request.app} {request.action}")
    what = {"who": where.user, "team": where.team, "channel": where.channel}
    # Written beside the preview call rather than before it, and finished before the step that follows.
    requested = asyncio.create_task(
        deps.audit.append(Step.REQUESTED, **what, app=request.app, action=request.action)
    )
    try:
        try:
            preview = await deps.service.preview(request, where)
        finally:
            await requested
    except PolicyDenied as exc:
        await deps.audit.append(Step.DENIED, **what, app=request.app, action=request.action)
        await privately.say(deps, denied_text(request, exc.denial) + hint)
        return None
    except PreviewRefused as exc:
        await privately.say(
            deps, f":warning: Zapier could not preview `{title}`: {_said(exc)} Nothing was run.{hint}"
        )
        return None
    except BotError as exc:
        log.warning("preview of %s failed: %s", title, type(exc).__name__)
        await privately.say(deps, f":warning: *Preview of {title}*\n{describe_failure(exc, 'preview')}{hint}")
        return None
    await deps.audit.preview_step(Step.PREVIEWED, preview, who=where.user)
    return preview


async def show_preview(
    deps: Deps,
    preview: Preview,
    where: Where,
    *,
    thread_ts: str | None,
    privately: Privately,
    message: Message | None = None,
) -> None:
    """Post a preview (`message`, or the standard one), record where, and run it now if auto_run."""
    request = preview.request
    at_once = preview.state is PreviewState.RUNNING  # the policy's auto_run: no buttons, it runs now
    if at_once:
        message = preview_message(preview, closed=auto_run_note(request.action_type) + " · running…")
    try:
        ts = await post(deps, where.channel, message or preview_message(preview), thread_ts=thread_ts)
    except SlackApiError as exc:
        log.warning("could not post the preview in %s: %s", where.channel, slack_error_code(exc))
        await privately.say(deps, f":warning: {slack_error_text(exc)} Nothing was run.")
        return
    try:
        await deps.service.shown(preview, message_ts=ts, thread_ts=thread_ts or "")
    except BotError as exc:
        # The preview is in Slack but we could not record where: its buttons would thread results oddly.
        log.warning("could not record the preview message: %s", type(exc).__name__)
        await update(
            deps, where.channel, ts, preview_message(preview, closed=describe_failure(exc, "preview"))
        )
        return
    if at_once:
        await deps.audit.preview_step(Step.CONFIRMED, preview, who=where.user, detail="auto_run")
        await _run_and_report(deps, preview, where.user, note=auto_run_note(request.action_type))


async def confirm(deps: Deps, value: str, where: Where, privately: Privately) -> None:
    """One click on Confirm (`value` is `preview_id:fingerprint`): one approval (bot/handlers/team.py).
    Exactly one click per preview, the one that completes the approvals the policy asks for, wins the
    claim and runs the action."""
    preview_id = value.partition(":")[0]
    try:
        claim = await approve_click(deps, value, where, privately)
    except BotError as exc:
        deps.service.decided("confirm", "failed", preview_id, where.user, None)
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    if claim is None:
        return
    deps.service.decided("confirm", claim.outcome, preview_id, where.user, claim.preview)
    if claim.outcome != "claimed" or claim.preview is None:
        await _explain_refusal(deps, claim.outcome, claim.decided_by, claim.preview, privately)
        return
    preview = claim.preview
    head = confirmed_note(where.user) + approvals_note(preview)
    # The "running…" redraw and the click's audit steps go out beside the Zapier call, not before it: the
    # person who clicked waits for the result, not for Slack or the audit trail. Both are done before the
    # run's own audit step and the preview's last update, so neither can come out of order.
    beside = (
        asyncio.create_task(_quietly(_mark_running(deps, preview, head + " · running…"))),
        asyncio.create_task(_quietly(record_confirmation(deps, preview, where.user))),
    )
    try:
        await _run_and_report(deps, preview, where.user, note=head, beside=beside)
    finally:
        await asyncio.gather(*beside)  # never raises; done already unless the run itself raised


async def _mark_running(deps: Deps, preview: Preview, note: str) -> None:
    await update(deps, preview.channel, preview.message_ts, preview_message(preview, closed=note))


async def _quietly(work: Coroutine[Any, Any, None]) -> None:
    """For work beside a run: a failure is logged, and the run's result and last update still follow."""
    try:
        await work
    except Exception:
        log.exception("work beside a run failed")


async def _run_and_report(
    deps: Deps,
    preview: Preview,
    confirmed_by: str,
    *,
    note: str | None = None,
    beside: Sequence[asyncio.Task[None]] = (),
) -> None:
    """Run the action, post the outcome in the thread, record it, then close the preview. The tasks
    `beside` the run (which must not raise) are finished before the run is recorded in the audit trail."""
    thread = preview.thread_ts or preview.message_ts
    head = note or confirmed_note(confirmed_by)
    try:
        outcome = await deps.service.run(preview)
    except BotError as exc:
        log.warning("run of preview %s failed: %s", preview.id, type(exc).__name__)
        message = failure_message(f"{preview.result.action_used}", exc, "run")
        await _post_in_thread(deps, preview, message, thread)
        await asyncio.gather(*beside)
        await deps.audit.preview_step(
            Step.EXECUTED, preview, who=confirmed_by, detail=f"failed: {type(exc).__name__}"
        )
        await _close(deps, preview, head + " · it failed, see the thread")
        return
    result = outcome.result
    message = result_message(preview, outcome.result, fallback_reason=outcome.fallback_reason)
    ts = await _post_in_thread(deps, preview, message, thread)
    # Recorded after the post, which is what the people in the channel wait for.
    await asyncio.gather(*beside)
    await deps.audit.preview_step(
        Step.EXECUTED,
        preview,
        who=confirmed_by,
        execution_log_id=result.execution_log_id,
        detail=result.status.value,
    )
    if ts is not None:
        try:
            await deps.service.record_result(preview, outcome.result, message_ts=ts)
        except BotError as exc:
            log.warning("could not record result %s: %s", outcome.result.execution_log_id, type(exc).__name__)
    await _close(deps, preview, head + " · result in the thread")


async def _close(deps: Deps, preview: Preview, note: str) -> None:
    await update(deps, preview.channel, preview.message_ts, preview_message(preview, closed=note))


async def _post_in_thread(
    deps: Deps, preview: Preview, message: dict[str, object], thread: str
) -> str | None:
    try:
        return await post(deps, preview.channel, message, thread_ts=thread)
    except SlackApiError as exc:
        code = slack_error_code(exc)
        log.warning("could not post in thread %s: %s", thread, code)
    # The action ran; its outcome must reach the thread even if Slack refused the full message.
    short = notice_message(
        f"The outcome of *{preview.result.action_used}* could not be shown here (`{code}`). "
        f"execution_log_id `{preview.result.execution_log_id}`"
    )
    try:
        return await post(deps, preview.channel, short, thread_ts=thread)
    except SlackApiError:
        log.exception("could not post any outcome for preview %s", preview.id)
        return None


async def cancel(deps: Deps, preview_id: str, where: Where, privately: Privately) -> None:
    try:
        if not await may_cancel(deps, preview_id, where, privately):  # the policy (bot/handlers/team.py)
            return
        claim = await deps.service.decide(preview_id, where, confirm=False)
    except BotError as exc:
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    if claim.outcome != "claimed" or claim.preview is None:
        await _explain_refusal(deps, claim.outcome, claim.decided_by, claim.preview, privately)
        return
    preview = claim.preview
    await deps.audit.preview_step(Step.CANCELLED, preview, who=where.user)
    await update(
        deps, preview.channel, preview.message_ts, preview_message(preview, closed=cancelled_note(where.user))
    )


async def _explain_refusal(
    deps: Deps, outcome: str, decided_by: str, preview: Preview | None, privately: Privately
) -> None:
    if outcome == "expired_now" and preview is not None:
        await update(
            deps, preview.channel, preview.message_ts, preview_message(preview, closed=expired_note())
        )
    who = user(decided_by) if decided_by else "someone"
    text = {
        "running": f"{who} already confirmed this; it is running now. The result will appear in the thread.",
        "done": f"{who} already confirmed this and it has run: the result is in the thread.",
        "cancelled": f"{who} cancelled this preview, so nothing was run.",
        "expired": EXPIRED,
        "expired_now": EXPIRED,
    }.get(outcome, "I don't know this preview (it may be too old or from elsewhere), so nothing was run.")
    await privately.say(deps, text)


async def expire_due(deps: Deps) -> int:
    """Mark previews past their time as expired in Slack. Any replica may do it; each is done once."""
    expired = await deps.service.expire_due()
    for preview in expired:
        await deps.audit.preview_step(Step.EXPIRED, preview, who="")
        if preview.message_ts:
            await update(
                deps, preview.channel, preview.message_ts, preview_message(preview, closed=expired_note())
            )
    return len(expired)


async def show_full_result(deps: Deps, execution_log_id: str, privately: Privately) -> None:
    try:
        full = await deps.service.full_result(execution_log_id)
    except BotError as exc:
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    if full is None:
        await privately.say(deps, "I no longer have the full result of this run.")
        return
    for message in full_result_messages(full):
        await privately.send(deps, message)


def _said(exc: PreviewRefused) -> str:
    return escape(exc.result.error or exc.result.status.value) + "."
