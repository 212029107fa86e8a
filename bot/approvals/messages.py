"""Pure rendering for team confirmation: refusals, approval progress, the edit form, the audit trail.

Everything from outside the bot is escaped (see `bot.render.messages`); plain_text fields need no escaping.
"""

from __future__ import annotations

import json
import time
from typing import Any, Literal

from bot.actions import ActionRequest, ActionType
from bot.approvals.audit import AuditEntry
from bot.approvals.policy import ConfirmBy, Denial
from bot.approvals.rules import MAX_EDIT_CHARS, Refusal, editable_params
from bot.render.budget import fit
from bot.render.messages import (
    EDIT,
    SECTION_CHARS,
    Message,
    clip,
    code,
    confirmers,
    escape,
    flat,
    group,
    notice_message,
    user,
)
from bot.render.text_safety import has_hidden, reveal
from bot.runs.records import Preview

EDIT_VIEW = "zap_edit_view"
EDIT_INPUT = "value"
EDIT_BLOCK_PREFIX = "param:"
MODAL_BLOCKS = 100
MAX_KEY_CHARS = 200
AUDIT_DEFAULT = 10
AUDIT_MAX = 50

__all__ = ["EDIT", "EDIT_VIEW"]

Doing = Literal["confirm", "cancel", "edit"]

POLICY = "the channel's confirmation policy"


def _action(app: str, action: str) -> str:
    return f"`{code(app)} {code(action)}`"


def denied_text(request: ActionRequest, denial: Denial) -> str:
    what = _action(request.app, request.action)
    if denial.denied_by is not None:
        why = f"the channel's policy denies `{code(str(denial.denied_by))}`"
    elif denial.allowed:
        why = "the channel's policy allows only " + ", ".join(f"`{code(str(t))}`" for t in denial.allowed)
    else:
        why = "the channel's policy allows no actions here"
    return f":no_entry: {what} may not be run in this channel: {why}. Nothing was run."


def refusal_text(refusal: Refusal, doing: Doing) -> str:
    who = confirmers(refusal.confirm_by, refusal.requester)
    kind = refusal.confirm_by.kind
    if doing != "confirm":
        text = (
            f"Only {user(refusal.requester)} or someone who may confirm it ({who}) can {doing} this preview."
        )
    elif kind == "requester":
        text = f"Only {user(refusal.requester)}, who asked for this, can confirm it ({POLICY})."
    elif kind == "others":
        text = f"You asked for this, so someone else must confirm it ({POLICY}: four eyes)."
    else:
        text = f"Only {who} can confirm this ({POLICY})."
    if refusal.unchecked_groups:
        groups = ", ".join(group(g) for g in refusal.unchecked_groups)
        text += f" I could not look up who is in {groups} just now; try again in a minute."
    return f":lock: {text} Your click changed nothing."


def approval_recorded_text(preview: Preview) -> str:
    count, needed = len(preview.approved_by), preview.approvals_needed
    left = needed - count
    who = confirmers_of(preview)
    more = "1 more approval" if left == 1 else f"{left} more approvals"
    return (
        f":ballot_box_with_check: Your approval is recorded ({count} of {needed}). "
        f"It runs after {more} from {who}."
    )


def already_approved_text(preview: Preview) -> str:
    left = preview.approvals_needed - len(preview.approved_by)
    more = "1 more approval" if left == 1 else f"{left} more approvals"
    return (
        "You have already approved this; one person counts once. "
        f"It still needs {more} from {confirmers_of(preview)}."
    )


STALE_CLICK = (
    ":warning: This preview was edited after your copy of it was shown, so your click did not count: "
    "nothing was run. Look at the new preview and confirm that one if it is right."
)


def confirmers_of(preview: Preview) -> str:
    return confirmers(ConfirmBy.decode(preview.confirm_by), preview.requested_by)


def auto_run_note(action_type: ActionType) -> str:
    return f":zap: `{action_type.value}` actions run without confirmation in this channel ({POLICY})"


def approvals_note(preview: Preview) -> str:
    """Who approved, for the closed preview ("approved by <@U1>, <@U2>"), when more than one had to."""
    if preview.approvals_needed <= 1 or not preview.approved_by:
        return ""
    return " · approved by " + ", ".join(user(u) for u in preview.approved_by)


# editing ---------------------------------------------------------------------------------------------
_RAN_UNKNOWN = "This preview was already confirmed (its outcome is unknown), so it can no longer be edited."
EDIT_OUTCOMES = {
    "unchanged": "You did not change any value, so the preview stays as it was.",
    "stale": "Someone changed this preview while you were editing it. Use Edit on the new preview.",
    "running": "This preview was already confirmed, so it can no longer be edited.",
    "done": "This preview was already confirmed and has run, so it can no longer be edited.",
    "succeeded": "This preview was already confirmed and has run, so it can no longer be edited.",
    "empty": "This preview was already confirmed and has run, so it can no longer be edited.",
    "failed": "This preview was already confirmed and has run, so it can no longer be edited.",
    "unknown": _RAN_UNKNOWN,
    "outcome_unknown": _RAN_UNKNOWN,
    "cancelled": "This preview was cancelled. Send the command again for a new one.",
    "expired": "This preview has expired. Send the command again for a new one.",
    "expired_now": "This preview has expired. Send the command again for a new one.",
    "unposted": (
        "Slack did not confirm that this preview was posted, so it cannot be edited. "
        "Send the command again for a new one."
    ),
}
UNKNOWN_PREVIEW = "I don't know this preview (it may be too old or from elsewhere)."


def edit_outcome_text(outcome: str) -> str:
    return EDIT_OUTCOMES.get(outcome, UNKNOWN_PREVIEW)


def edited_text(preview: Preview, changed: tuple[str, ...]) -> str:
    keys = ", ".join(f"`{code(k)}`" for k in changed)
    return (
        f":pencil2: The preview now uses your value for {keys}. Approvals given before were discarded; "
        "it needs confirming again."
    )


HIDDEN_IN_FORM = (
    ":warning: Some values hold hidden characters (the preview shows them as `&lt;U+…&gt;`); "
    "they are kept unless you change those values."
)


def edit_modal(preview: Preview) -> dict[str, Any]:
    """The Edit form: one text field per param the preview shows, filled with the value it shows."""
    values = {k: v for k, v in editable_params(preview).items() if len(k) <= MAX_KEY_CHARS}
    intro = (
        f"*{flat(preview.request.app)}* · *{flat(preview.result.action_used)}*\n"
        "A value you change is used exactly as you write it; clear one to leave it empty. The other params "
        "are worked out again. Saving makes a new preview, and approvals given so far are discarded."
    )
    blocks: list[dict[str, Any]] = [{"type": "section", "text": {"type": "mrkdwn", "text": intro}}]
    for key, value in list(values.items())[: MODAL_BLOCKS - 3]:
        element: dict[str, Any] = {
            "type": "plain_text_input",
            "action_id": EDIT_INPUT,
            "max_length": MAX_EDIT_CHARS,
            "multiline": len(value) > 80 or "\n" in value,
        }
        if value:
            element["initial_value"] = value
        blocks.append(
            {
                "type": "input",
                "block_id": EDIT_BLOCK_PREFIX + key,
                "optional": True,
                "label": {"type": "plain_text", "text": reveal(key)},
                "element": element,
            }
        )
    if any(has_hidden(value) for value in values.values()):
        # The field holds the value exactly (saving it unchanged keeps it), so its hidden characters
        # stay invisible in it: say so.
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": HIDDEN_IN_FORM, "verbatim": True}],
            }
        )
    shown = dict.fromkeys([*preview.request.params, *preview.result.resolved_params])
    fixed = [k for k in shown if k not in values]
    if fixed:
        names = ", ".join(f"`{code(k)}`" for k in fixed)
        blocks.append(
            {
                "type": "context",
                "elements": [{"type": "mrkdwn", "text": clip(f"Not editable here: {names}", 2000)}],
            }
        )
    return {
        "type": "modal",
        "callback_id": EDIT_VIEW,
        "title": {"type": "plain_text", "text": "Edit before confirming"},
        "submit": {"type": "plain_text", "text": "Preview again"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "private_metadata": json.dumps(
            {"preview": preview.id, "seen": preview.fingerprint, "channel": preview.channel}
        ),
        "blocks": blocks,
    }


def submitted_values(state: dict[str, Any]) -> dict[str, str]:
    """param -> submitted text, from a view_submission's `view.state.values`."""
    values: dict[str, str] = {}
    for block_id, actions in (state or {}).items():
        if not isinstance(block_id, str) or not block_id.startswith(EDIT_BLOCK_PREFIX):
            continue
        field = (actions or {}).get(EDIT_INPUT) or {}
        values[block_id.removeprefix(EDIT_BLOCK_PREFIX)] = str(field.get("value") or "")
    return values


# the audit trail -------------------------------------------------------------------------------------
AUDIT_USAGE = "*Usage:* `/zap audit [N]` shows the last N steps (1 to 50, default 10) in this channel."


def audit_count(args: str) -> int | None:
    """N from `/zap audit N` (default 10, at most 50), or None when it is not a number."""
    text = args.strip()
    if not text:
        return AUDIT_DEFAULT
    if not text.isdigit() or int(text) < 1:
        return None
    return min(int(text), AUDIT_MAX)


def _when(at: float) -> str:
    fallback = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(at))
    return f"<!date^{int(at)}^{{date_short}} {{time}}|{fallback}>"


def audit_line(entry: AuditEntry) -> str:
    who = user(entry.who) if entry.who else "zapbot"
    parts = [_when(entry.at), f"*{escape(entry.step)}*", who]
    if entry.app or entry.action:
        parts.append(_action(entry.app, entry.action))
    if entry.execution_log_id:
        parts.append(f"`{code(entry.execution_log_id)}`")
    if entry.detail:
        parts.append(clip(flat(entry.detail), 200))
    return " · ".join(parts)


def audit_message(entries: list[AuditEntry], asked: int) -> Message:
    if not entries:
        return notice_message("No steps recorded in this channel yet (or none recently).")
    head = f"*Audit trail of this channel*: the last {len(entries)} steps, oldest first"
    if len(entries) < asked:
        head += f" (only {len(entries)} found)"
    sections: list[str] = [head]
    for line in (audit_line(e) for e in entries):
        if len(sections[-1]) + len(line) + 1 > SECTION_CHARS:
            sections.append(line)
        else:
            sections[-1] += "\n" + line
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": s, "verbatim": True}} for s in sections]
    return fit({"text": "Audit trail of this channel", "blocks": blocks})
