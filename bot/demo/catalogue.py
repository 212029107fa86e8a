"""The demo's apps and actions: what the simulated Zapier can preview and run, and what each run returns.

A handful of actions people try first, answered the way AI Actions answers them: each has its needs (the
params it takes), which the "AI" fills from the instructions when nobody gave them (a `#channel`, an email
address, a quoted name), and a run that returns realistic fields with their labels. Nothing leaves the
machine: a run only makes up the answer a real app would have given.
"""

from __future__ import annotations

import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

Resolved = Mapping[str, Any]
# A guess from the instructions (None: the AI found nothing to use).
Guess = Callable[[str], str | None]


@dataclass(frozen=True)
class Outcome:
    """What running an action gave: a status of the spec's enum, results with labels, or an error."""

    status: str  # success, empty or error
    results: list[dict[str, Any]] = field(default_factory=list)
    labels: dict[str, str] = field(default_factory=dict)
    error: str | None = None


@dataclass(frozen=True)
class Need:
    """One param of an action: its key, its label, and how the AI guesses it when nobody gave it."""

    key: str
    label: str
    guess: Guess


@dataclass(frozen=True)
class DemoAction:
    app: str
    action: str
    action_type: str  # write or search
    name: str
    description: str
    needs: tuple[Need, ...]
    run: Callable[[Resolved, int], Outcome]  # (resolved params, run number) -> outcome


@dataclass(frozen=True)
class DemoApp:
    app: str
    name: str
    description: str
    actions: tuple[DemoAction, ...]


# ---- guessing from the instructions ------------------------------------------------------------------

_CHANNEL = re.compile(r"(?<![\w#])#([a-z0-9][a-z0-9_-]{0,79})", re.IGNORECASE)
_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_QUOTED = re.compile(r"[\"“']([^\"”']{1,100})[\"”']")


def _channel(text: str) -> str | None:
    found = _CHANNEL.search(text)
    return f"#{found.group(1).lower()}" if found else "#general"


def _email(text: str) -> str | None:
    found = _EMAIL.search(text)
    return found.group(0) if found else None


def _subject(text: str) -> str | None:
    first = re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0].rstrip(".")
    if not first:
        return None
    return first if len(first) <= 60 else first[:59].rstrip() + "…"


def _quoted_or(default: str) -> Guess:
    def guess(text: str) -> str | None:
        found = _QUOTED.search(text)
        return found.group(1) if found else default

    return guess


def _same(text: str) -> str | None:
    return text.strip() or None


def _constant(value: str) -> Guess:
    return lambda _text: value


# ---- running ---------------------------------------------------------------------------------------


def _ts(number: int) -> str:
    return f"1718000000.{number:06d}"


def _hex_id(*parts: object) -> str:
    seed = "|".join(map(str, parts)).encode()
    return f"{zlib.crc32(seed):08x}{zlib.adler32(seed):08x}"


def _missing(action: str, need: Need, hint: str) -> Outcome:
    return Outcome(
        "error", error=f"{action} needs {need.label} ({need.key}) and none was given or found. {hint}"
    )


def _send_channel_message(params: Resolved, number: int) -> Outcome:
    channel = str(params.get("channel") or "#general")
    result = {
        "ts": _ts(number),
        "channel": channel,
        "text": str(params.get("text") or ""),
        "user": "U0DEMOBOT",
    }
    labels = {"ts": "Message Timestamp", "channel": "Channel", "text": "Message Text", "user": "Posted By"}
    return Outcome("success", [result], labels)


def _send_email(params: Resolved, number: int) -> Outcome:
    to = params.get("to")
    if not to or not _EMAIL.fullmatch(str(to)):
        need = SEND_EMAIL_NEEDS[0]
        return _missing("Send Email", need, 'Name the recipient, e.g. to="ada@example.com".')
    message_id = _hex_id("gmail", number, to)
    result = {
        "id": message_id,
        "threadId": message_id,
        "to": str(to),
        "subject": str(params.get("subject") or ""),
        "labelIds": "SENT",
    }
    labels = {"id": "Message ID", "threadId": "Thread ID", "to": "To", "subject": "Subject"}
    labels["labelIds"] = "Labels"
    return Outcome("success", [result], labels)


def _add_row(params: Resolved, number: int) -> Outcome:
    row = 41 + number
    result = {
        "id": row,
        "row": row,
        "spreadsheet": str(params.get("spreadsheet") or ""),
        "worksheet": str(params.get("worksheet") or ""),
        "COL$A": str(params.get("COL$A") or ""),
    }
    labels = {"id": "ID", "row": "Row Number", "spreadsheet": "Spreadsheet", "worksheet": "Worksheet"}
    labels["COL$A"] = "Column A"
    return Outcome("success", [result], labels)


def _find_nothing(_params: Resolved, _number: int) -> Outcome:
    # A search that ran and correctly found nothing: `empty`, not an error.
    return Outcome("empty")


SEND_EMAIL_NEEDS = (
    Need("to", "To", _email),
    Need("subject", "Subject", _subject),
    Need("body", "Body", _same),
)

APPS: tuple[DemoApp, ...] = (
    DemoApp(
        "SlackAPI",
        "Slack",
        "Slack is a platform for team communication.",
        (
            DemoAction(
                "SlackAPI",
                "channel_message",
                "write",
                "Send Channel Message",
                "Post a new message to a specific #channel.",
                (Need("channel", "Channel", _channel), Need("text", "Message Text", _same)),
                _send_channel_message,
            ),
        ),
    ),
    DemoApp(
        "GmailV2API",
        "Gmail",
        "Gmail is Google's email service.",
        (
            DemoAction(
                "GmailV2API",
                "send_email",
                "write",
                "Send Email",
                "Create and send a new email message.",
                SEND_EMAIL_NEEDS,
                _send_email,
            ),
            DemoAction(
                "GmailV2API",
                "find_email",
                "search",
                "Find Email",
                "Find an email message (in the demo, every search finds nothing).",
                (Need("query", "Search String", _same),),
                _find_nothing,
            ),
        ),
    ),
    DemoApp(
        "GoogleSheetsV2API",
        "Google Sheets",
        "Create, edit, and share spreadsheets.",
        (
            DemoAction(
                "GoogleSheetsV2API",
                "add_row",
                "write",
                "Create Spreadsheet Row",
                "Create a new row in a specific spreadsheet.",
                (
                    Need("spreadsheet", "Spreadsheet", _quoted_or("Team Tracker")),
                    Need("worksheet", "Worksheet", _constant("Sheet1")),
                    Need("COL$A", "Column A", _same),
                ),
                _add_row,
            ),
        ),
    ),
)


def find_app(app: str) -> DemoApp | None:
    return next((a for a in APPS if a.app.lower() == app.lower()), None)


def find_action(app: str, action: str) -> DemoAction | None:
    found = find_app(app)
    if found is None:
        return None
    return next((a for a in found.actions if a.action == action), None)


def examples() -> list[str]:
    """Commands to try, one per action (shown by the demo's welcome and its errors)."""
    return [
        "/zap SlackAPI channel_message Say hi to #general",
        '/zap GmailV2API send_email to="ada@example.com" Lunch at noon?',
        '/zap GoogleSheetsV2API add_row spreadsheet="Team Tracker" Ship the demo',
        "/zap GmailV2API find_email:search invoices from last week",
    ]
