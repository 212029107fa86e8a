"""The `/zap ratings` summary and the feedback modal, for Slack. Pure: escaping and limits are kept here."""

from __future__ import annotations

import re
from typing import Any

from bot.ratings.summary import ActionFigures, Counts, RatedRun, Summary
from bot.render.budget import fit
from bot.render.messages import Message, clip, code, flat, user

MAX_ACTION_LINES = 40
SECTION_CHARS = 2900  # below Slack's 3,000 per section text

_CHANNEL = re.compile(r"^[CDG][A-Z0-9]{1,30}$")
_TS = re.compile(r"^\d{1,12}\.\d{1,9}$")


def thread_link(channel: str, message_ts: str, thread_ts: str) -> str | None:
    """A link that opens the message in its thread, built from IDs alone (no Web API call needed)."""
    if not _CHANNEL.match(channel) or not _TS.match(message_ts):
        return None
    url = f"https://slack.com/archives/{channel}/p{message_ts.replace('.', '')}"
    if thread_ts and thread_ts != message_ts and _TS.match(thread_ts):
        url += f"?thread_ts={thread_ts}&cid={channel}"
    return url


def summary_message(summary: Summary) -> Message:
    scope = f" of `{code(summary.app)}`" if summary.app else ""
    head = f"*How actions{scope} have been rated*"
    if summary.considered >= summary.window:
        head += f" (the newest {summary.window:,} executions)"
    blocks: list[dict[str, Any]] = [_section(head)]
    if not summary.actions:
        none = f"No executions{scope} yet." if summary.considered else "No executions yet."
        blocks.append(_section(none))
        return _message("Ratings: nothing yet", blocks)
    lines = [_action_line(figures) for figures in summary.actions[:MAX_ACTION_LINES]]
    if len(summary.actions) > MAX_ACTION_LINES:
        lines.append(
            f"_…and {len(summary.actions) - MAX_ACTION_LINES} more: `/zap ratings APP` shows one app._"
        )
    blocks.extend(_section(chunk) for chunk in _chunks(lines))
    blocks.append({"type": "divider"})
    blocks.append(_section("*Worst-rated recent runs*"))
    if summary.worst:
        blocks.extend(_section(chunk) for chunk in _chunks([_worst_line(run) for run in summary.worst]))
    else:
        blocks.append(_section(f"No run{scope} is rated :-1: so far."))
    blocks.append(
        _context(
            "An execution is rated when someone reacts with a counting emoji; :+1: and :-1: count "
            "executions by their rating (one vote per person). Only you can see this."
        )
    )
    return _message("Ratings summary", blocks)


def _action_line(figures: ActionFigures) -> str:
    name = f"`{clip(code(figures.app), 100)}` `{clip(code(figures.action), 100)}`"
    parts = [f"{name} · {_counts('run', figures.runs)}"]
    if figures.previews.executions:
        parts.append(_counts("preview", figures.previews))
    return " · ".join(parts)


def _counts(noun: str, counts: Counts) -> str:
    plural = "" if counts.executions == 1 else "s"
    return (
        f"*{counts.executions} {noun}{plural}*: :+1: {counts.up} · :-1: {counts.down} · "
        f"{counts.share_rated:.0%} rated"
    )


def _worst_line(run: RatedRun) -> str:
    app, action = clip(code(run.app), 100), clip(flat(run.action_used), 200)
    line = f"• :-1: {run.down} · :+1: {run.up} — `{app}` *{action}*"
    if run.requested_by:
        line += f", asked by {user(run.requested_by)}"
    if run.created_at:
        line += f" <!date^{int(run.created_at)}^{{date_short}} {{time}}|on a recent day>"
    link = thread_link(run.channel, run.message_ts, run.thread_ts)
    if link:
        line += f" · <{link}|open the thread>"
    return line


def _chunks(lines: list[str]) -> list[str]:
    chunks: list[str] = []
    current = ""
    for line in lines:
        if current and len(current) + 1 + len(line) > SECTION_CHARS:
            chunks.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    if current:
        chunks.append(current)
    return chunks


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, 3000), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": text, "verbatim": True}]}


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    return fit({"text": text, "blocks": blocks[:50]})


# the feedback modal --------------------------------------------------------------------------------
FEEDBACK_BLOCK = "feedback"
FEEDBACK_INPUT = "text"


def feedback_modal(
    callback_id: str, private_metadata: str, *, action_used: str, max_chars: int
) -> dict[str, Any]:
    """The modal the Feedback button opens: one multi-line text, sent to Zapier with the rating."""
    about = f" on *{clip(flat(action_used), 200)}*" if action_used else ""
    return {
        "type": "modal",
        "callback_id": callback_id,
        "private_metadata": private_metadata[:3000],
        "title": {"type": "plain_text", "text": "Feedback"},
        "submit": {"type": "plain_text", "text": "Send"},
        "close": {"type": "plain_text", "text": "Cancel"},
        "blocks": [
            _section(
                f"Your feedback{about} goes to Zapier with this result's rating, "
                "with your Slack user ID. Others' feedback is kept too."
            ),
            {
                "type": "input",
                "block_id": FEEDBACK_BLOCK,
                "label": {"type": "plain_text", "text": "What was right or wrong?"},
                "element": {
                    "type": "plain_text_input",
                    "action_id": FEEDBACK_INPUT,
                    "multiline": True,
                    "max_length": max_chars,
                },
            },
        ],
    }
