"""Team confirmation at the Slack edge: a Confirm click as one approval, who may cancel, `/zap audit`.

`bot.handlers.flow` calls `approve_click` and `may_cancel` before it runs or cancels anything; what the
policy refuses is answered here, only to the person who clicked.
"""

from __future__ import annotations

import logging

from bot.audit import Step
from bot.errors import BotError
from bot.handlers.deps import CommandContext, Deps
from bot.handlers.replies import Privately, update
from bot.messages import preview_message
from bot.records import Preview, PreviewState
from bot.service import Where
from bot.store import Claim
from bot.team_messages import (
    AUDIT_USAGE,
    STALE_CLICK,
    already_approved_text,
    approval_recorded_text,
    audit_count,
    audit_message,
    refusal_text,
)
from bot.team_store import ApproveResult

log = logging.getLogger(__name__)

AUDIT_UNAVAILABLE = "The audit trail is unavailable right now (zapbot's database did not answer). Try later."


def register(deps: Deps) -> None:
    deps.subcommands["audit"] = show_audit


async def approve_click(deps: Deps, value: str, where: Where, privately: Privately) -> Claim | None:
    """One Confirm click, as one approval of the params its message showed (`value` is `id:fingerprint`).

    Returns a claim for `flow.confirm` to act on: `claimed` when this click completed the approvals (run
    it), or an outcome it explains (running, done, cancelled, expired, unknown). Returns None when the
    click was answered here: not allowed by the policy, counted but more are needed, counted before, or
    made on a preview that has been edited since. Raises BotError when Redis fails."""
    preview_id, _, fingerprint = value.partition(":")
    preview = await deps.store.get_preview(preview_id)
    if preview is None or preview.team != where.team or preview.channel != where.channel:
        return Claim("unknown", "", None)
    if preview.state is PreviewState.PENDING:
        refusal = await deps.approvals.refusal(preview, where.user)
        if refusal is not None:
            await deps.audit.preview_step(Step.REFUSED, preview, who=where.user, detail="may not confirm")
            await privately.say(deps, refusal_text(refusal, "confirm"))
            return None
    result = await deps.approvals.approve(preview_id, fingerprint, where)
    if result.preview is not None and await _answered_here(deps, result, result.preview, where, privately):
        return None
    return Claim(result.outcome, result.decided_by, result.preview)


async def _answered_here(
    deps: Deps, result: ApproveResult, current: Preview, where: Where, privately: Privately
) -> bool:
    """Record the click in the audit trail, and answer it here unless `flow.confirm` acts on it."""
    outcome = result.outcome
    if outcome == "claimed":
        return False  # flow.confirm runs it, and records the click beside the run (record_confirmation)
    if outcome == "approved":
        progress = f"{len(result.approved_by)}/{current.approvals_needed}"
        await deps.audit.preview_step(Step.APPROVED, current, who=where.user, detail=progress)
        await privately.say(deps, approval_recorded_text(current))
        await _show_progress(deps, current.id)
        return True
    if outcome == "already":
        await privately.say(deps, already_approved_text(current))
        return True
    if outcome == "stale":
        await deps.audit.preview_step(
            Step.REFUSED, current, who=where.user, detail="clicked an edited preview"
        )
        await privately.say(deps, STALE_CLICK)
        return True
    if outcome == "expired_now":
        await deps.audit.preview_step(Step.EXPIRED, current, who="")
    return False


async def record_confirmation(deps: Deps, preview: Preview, who: str) -> None:
    """The audit steps of the click that completed the approvals of `preview` (as the claim left it)."""
    progress = f"{len(preview.approved_by)}/{preview.approvals_needed}"
    await deps.audit.preview_step(Step.APPROVED, preview, who=who, detail=progress)
    approvers = " ".join(preview.approved_by)
    await deps.audit.preview_step(Step.CONFIRMED, preview, who=who, detail=f"approved by {approvers}")


async def _show_progress(deps: Deps, preview_id: str) -> None:
    """Show the new count on the preview. Read again just before: a click that completed the approvals
    meanwhile has closed the message, and it must not be reopened."""
    preview = await deps.store.get_preview(preview_id)
    if preview is not None and preview.state is PreviewState.PENDING and preview.message_ts:
        await update(deps, preview.channel, preview.message_ts, preview_message(preview))


async def may_cancel(deps: Deps, preview_id: str, where: Where, privately: Privately) -> bool:
    """Whether this person may cancel (the requester, or anyone allowed to confirm). When not, they are
    told why. A preview that is unknown or no longer pending is left for the claim to explain."""
    preview = await deps.store.get_preview(preview_id)
    if preview is None or preview.state is not PreviewState.PENDING:
        return True
    if preview.team != where.team or preview.channel != where.channel:
        return True
    refusal = await deps.approvals.refusal(preview, where.user, to_cancel=True)
    if refusal is None:
        return True
    await deps.audit.preview_step(Step.REFUSED, preview, who=where.user, detail="may not cancel")
    await privately.say(deps, refusal_text(refusal, "cancel"))
    return False


async def show_audit(deps: Deps, args: str, ctx: CommandContext) -> None:
    """`/zap audit [N]`: the last N steps in this channel, to the caller only."""
    count = audit_count(args)
    if count is None:
        await ctx.privately.say(deps, AUDIT_USAGE)
        return
    try:
        recent = await deps.audit.recent(ctx.where.channel, count)
    except BotError as exc:
        log.warning("could not read the audit trail: %s", type(exc).__name__)
        await ctx.privately.say(deps, AUDIT_UNAVAILABLE)
        return
    await ctx.privately.send(deps, audit_message(recent, count))
