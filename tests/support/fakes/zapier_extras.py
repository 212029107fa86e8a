"""Zapier endpoints tests/spec/'s OpenAPI file does not describe, with small JSON schemas of our own.

Zapier documents these (guess-actions, apps/search, apps/{app}/actions) less precisely than execute.
FakeZapier checks requests and its own answers against the schemas below, as it checks the spec'd endpoints
against the OpenAPI file, and answers from a small catalogue of apps unless a test scripts the answer.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema

Answer = tuple[int, Any]  # status, JSON body


@dataclass(frozen=True)
class Request:
    """What an extra endpoint's default answer needs from a request."""

    path_params: dict[str, str]
    query: dict[str, str]
    json: Any


@dataclass(frozen=True)
class ExtraOperation:
    name: str
    method: str
    path: re.Pattern[str]
    query_schema: dict[str, Any]
    body_schema: dict[str, Any] | None  # None: the request must have no body
    answer_schema: dict[str, Any]  # for 2xx answers; error answers must fit ERROR_SCHEMA
    default: Callable[[Request], Answer]


ERROR_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}},
}
ACTION_TYPES = ["write", "search", "read", "read_bulk"]

# ---- the catalogue ---------------------------------------------------------------------------------

APPS: dict[str, dict[str, Any]] = {
    "SlackAPI": {
        "name": "Slack",
        "description": "Slack is a platform for team communication.",
        "actions": [
            (
                "channel_message",
                "write",
                "Send Channel Message",
                "Post a new message to a specific #channel.",
            ),
            ("direct_message", "write", "Send Direct Message", "Send a direct message to a user."),
            ("find_message", "search", "Find Message", "Find a Slack message using search syntax."),
        ],
    },
    "GmailV2API": {
        "name": "Gmail",
        "description": "Gmail is Google's email service.",
        "actions": [
            ("send_email", "write", "Send Email", "Create and send a new email message."),
            ("find_email", "search", "Find Email", "Find an email message."),
        ],
    },
    "MicrosoftOutlookCLIAPI": {
        "name": "Microsoft Outlook",
        "description": "Microsoft Outlook is email and calendar.",
        "actions": [("send_email", "write", "Send Email", "Send an email from your Outlook account.")],
    },
    "GoogleSheetsV2API": {
        "name": "Google Sheets",
        "description": "Create, edit, and share spreadsheets.",
        "actions": [
            ("add_row", "write", "Create Spreadsheet Row", "Create a new row in a specific spreadsheet."),
            ("lookup_row", "search", "Lookup Spreadsheet Row", "Find a specific spreadsheet row."),
        ],
    },
}
_STOP_WORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "the",
        "to",
        "of",
        "for",
        "in",
        "on",
        "at",
        "my",
        "me",
        "about",
        "from",
        "with",
        "new",
        "this",
        "that",
    ]
)


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if len(w) > 1 and w not in _STOP_WORDS}


def _image(app: str) -> str:
    return f"https://zapier-images.example/{app}.png"


# ---- guess-actions ---------------------------------------------------------------------------------


def _guess(request: Request) -> Answer:
    body = request.json or {}
    wanted = _words(str(body.get("query", "")))
    types = set(body.get("action_types") or ["write", "search", "read"])
    scored = []
    for app, info in APPS.items():
        for action, kind, label, description in info["actions"]:
            if kind not in types:
                continue
            # The name weighs most; the description and the app's own name help to break ties.
            hits = 3 * len(wanted & _words(label)) + len(wanted & _words(description))
            hits += 2 * len(wanted & _words(info["name"]))
            if hits:
                scored.append((hits, app, action, kind, label, description))
    scored.sort(key=lambda s: -s[0])  # stable: catalogue order breaks ties
    count = int(body.get("count", 25))
    top = max((s[0] for s in scored), default=1)
    return 200, [
        {
            "app": app,
            "action": action,
            "action_type": kind,
            "name": f"{APPS[app]['name']}: {label}",
            "description": description,
            "image": _image(app),
            "score": round(hits / top, 3),
        }
        for hits, app, action, kind, label, description in scored[:count]
    ]


GUESS_BODY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["query"],
    "properties": {
        "query": {"type": "string", "minLength": 1},
        "action_types": {"type": "array", "items": {"enum": ACTION_TYPES}, "minItems": 1},
        "count": {"type": "integer", "minimum": 1, "maximum": 100},
    },
}
GUESS_ANSWER: dict[str, Any] = {
    "type": "array",
    "items": {
        "type": "object",
        "required": ["app", "action", "action_type", "name", "description", "score"],
        "properties": {
            "app": {"type": "string"},
            "action": {"type": "string"},
            "action_type": {"enum": ACTION_TYPES},
            "name": {"type": "string"},
            "description": {"type": "string"},
            "image": {"type": ["string", "null"]},
            "score": {"type": "number"},
        },
    },
}

# ---- apps/search -----------------------------------------------------------------------------------


def _search_apps(request: Request) -> Answer:
    query = request.query.get("query", "").lower()
    found = [
        {
            "app": app,
            "name": info["name"],
            "description": info["description"],
            "image": _image(app),
            "actions": _counts(info),
        }
        for app, info in APPS.items()
        if query in app.lower() or query in info["name"].lower()
    ]
    return 200, {"results": found}


def _counts(info: dict[str, Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for _, kind, _, _ in info["actions"]:
        counts[kind] = counts.get(kind, 0) + 1
    return counts


APPS_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"query": {"type": "string"}},
}
APPS_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["app", "name"],
                "properties": {
                    "app": {"type": "string"},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                    "image": {"type": ["string", "null"]},
                    "actions": {"type": "object", "additionalProperties": {"type": "integer"}},
                },
            },
        }
    },
}

# ---- apps/{app}/actions ----------------------------------------------------------------------------


def _search_actions(request: Request) -> Answer:
    app = request.path_params["app"]
    info = APPS.get(app)
    if info is None:
        return 404, {"error": f"App {app} not found."}
    wanted = _words(request.query.get("query", ""))
    found = [
        {"app": app, "action": action, "action_type": kind, "name": label, "description": description}
        for action, kind, label, description in info["actions"]
        if not wanted or wanted & _words(f"{label} {description} {action}")
    ]
    return 200, {"results": found}


ACTIONS_QUERY: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "properties": {"query": {"type": "string"}},
}
ACTIONS_ANSWER: dict[str, Any] = {
    "type": "object",
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "required": ["app", "action", "action_type", "name"],
                "properties": {
                    "app": {"type": "string"},
                    "action": {"type": "string"},
                    "action_type": {"enum": ACTION_TYPES},
                    "name": {"type": "string"},
                    "description": {"type": "string"},
                },
            },
        }
    },
}

EXTRA_OPERATIONS = (
    ExtraOperation(
        "guess", "POST", re.compile(r"/api/v2/guess-actions/"), {"type": "object", "maxProperties": 0},
        GUESS_BODY, GUESS_ANSWER, _guess,
    ),
    ExtraOperation(
        "apps", "GET", re.compile(r"/api/v2/apps/search/"), APPS_QUERY, None, APPS_ANSWER, _search_apps
    ),
    ExtraOperation(
        "actions", "GET", re.compile(r"/api/v2/apps/(?P<app>[^/]+)/actions/"), ACTIONS_QUERY, None,
        ACTIONS_ANSWER, _search_actions,
    ),
)  # fmt: skip


def find_extra(method: str, path: str) -> ExtraOperation | None:
    for operation in EXTRA_OPERATIONS:
        if operation.method == method and operation.path.fullmatch(path):
            return operation
    return None


def request_problems(operation: ExtraOperation, query: dict[str, str], raw: bytes, body: Any) -> list[str]:
    problems = _schema_problems(query, operation.query_schema, "query")
    if operation.body_schema is None:
        if raw:
            problems.append("this endpoint takes no request body")
    elif body is None:
        problems.append("the request body is missing or not JSON")
    else:
        problems += _schema_problems(body, operation.body_schema, "body")
    return problems


def answer_problems(operation: ExtraOperation, status: int, body: Any) -> list[str]:
    schema = operation.answer_schema if status < 300 else ERROR_SCHEMA
    return _schema_problems(body, schema, "answer")


def default_answer(operation: ExtraOperation, path: str, query: dict[str, str], body: Any) -> Answer:
    match = operation.path.fullmatch(path)
    params = match.groupdict() if match else {}
    return operation.default(Request(params, query, body))


def _schema_problems(instance: Any, schema: dict[str, Any], where: str) -> list[str]:
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{where} at {'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in validator.iter_errors(instance)
    ]
