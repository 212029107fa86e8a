"""Pure: a Slack message (text + Block Kit, as `bot.render.messages` builds it) -> plain text for a terminal.

The console shows exactly what Slack would show, because it renders the same message data: this module
only undoes Slack's markup (mentions, dates, links, entities, emphasis) and lays the blocks out as lines.
Nothing that reaches the terminal can drive it: control and hidden characters are shown as `<U+…>`.
"""

from __future__ import annotations

import html
import re
import time
from typing import Any

from bot.render.messages import Message
from bot.render.text_safety import reveal

_REF = re.compile(r"<([^<>]*)>")
_BOLD = re.compile(r"(?<![\w*])\*(?=\S)([^*\n]+?)(?<=\S)\*(?![\w*])")
_ITALIC = re.compile(r"(?<![\w_])_(?=\S)([^_\n]+?)(?<=\S)_(?![\w_])")
_EMOJI = {
    ":white_check_mark:": "✅",
    ":warning:": "⚠️",
    ":x:": "❌",
    ":hourglass:": "⌛",
    ":mag:": "🔍",
    ":information_source:": "ℹ️",  # noqa: RUF001 - the information emoji, as Slack shows it
    ":+1:": "👍",
    ":-1:": "👎",
}


def _reference(match: re.Match[str]) -> str:
    target, _, label = match.group(1).partition("|")
    if target.startswith("@"):
        return "@" + (label or target[1:])
    if target.startswith("#"):
        return "#" + (label or target[1:])
    if target.startswith("!date^"):
        stamp = target.split("^")[1]
        try:
            return time.strftime("%H:%M", time.localtime(int(stamp)))
        except (ValueError, OverflowError):
            return label or stamp
    if target.startswith("!"):
        return "@" + target[1:].split("^")[0]
    return f"{label} ({target})" if label and label != target else target


def mrkdwn_to_text(text: str) -> str:
    """Slack mrkdwn -> what a reader sees: references resolved, emphasis and entities undone. Hidden and
    control characters (an escape sequence would drive the terminal) are shown as `<U+…>`."""
    text = _REF.sub(_reference, text)
    text = _BOLD.sub(r"\1", text)
    text = _ITALIC.sub(r"\1", text)
    for code, emoji in _EMOJI.items():
        text = text.replace(code, emoji)
    if text.startswith(">>> "):
        text = "\n".join("  │ " + line for line in text[4:].splitlines())
    return reveal(html.unescape(text))


def _element_text(element: dict[str, Any]) -> str:
    if element.get("type") == "button":
        return "[" + mrkdwn_to_text(str(element.get("text", {}).get("text", ""))) + "]"
    text = element.get("text")
    if isinstance(text, dict):
        return mrkdwn_to_text(str(text.get("text", "")))
    return mrkdwn_to_text(str(text or ""))


def _block_lines(block: dict[str, Any]) -> list[str]:
    kind = block.get("type")
    lines: list[str] = []
    if kind == "section":
        if isinstance(block.get("text"), dict):
            lines.append(_element_text(block))
        for field in block.get("fields") or []:
            # A field is "*key*\nvalue\n_origin_": one indented entry per field in a terminal.
            first, *rest = mrkdwn_to_text(str(field.get("text", ""))).splitlines() or [""]
            lines.append("  • " + first + ("" if not rest else ": " + rest[0]))
            lines.extend("      " + line for line in rest[1:])
    elif kind in {"context", "actions"}:
        lines.append("  " + "  ".join(_element_text(e) for e in block.get("elements") or []))
    elif kind == "header":
        lines.append(_element_text(block).upper())
    elif kind == "divider":
        lines.append("  ────────")
    return lines


def message_to_text(message: Message) -> str:
    """All the blocks of a message as lines of text; the notification text when it has no blocks."""
    blocks = message.get("blocks") or []
    if not blocks:
        return mrkdwn_to_text(str(message.get("text", "")))
    return "\n".join(line for block in blocks for line in _block_lines(block))
