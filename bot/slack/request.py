"""What reaches Bolt from HTTP: a request read, checked and parsed once, or a 4xx with one log line.

`read_checked` is the gate every HTTP request from Slack passes, the fast paths' and Bolt's alike. Before
the signature is checked nothing may raise on what a stranger sends: a body over the size limit (413), an
absent, empty or non-integer timestamp (400), bytes that are not UTF-8 (400), a bad signature or a stale
timestamp (401, compared in constant time by slack-sdk's `SignatureVerifier`), then a body that is not one
of Slack's shapes (400): a JSON array or string, `payload=[]`, `payload=7`. Each refusal is one WARNING
line naming the reason, never the body or a traceback.

It also works around Bolt's form-body parsing bug: Bolt 1.30 (and main) parses any form body that contains
the text `payload` anywhere as an interactivity payload, so `/zap ... show me the payload` reaches no
listener and Slack gets a 404. We parse the body the way Slack means it: only a form *field* named
`payload` is an interactivity payload (`SlackRequest`).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_sdk.signature import SignatureVerifier

log = logging.getLogger(__name__)

JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
MAX_TIMESTAMP_DIGITS = 12  # seconds since 1970 have 10 digits until 2286; int() of 5,000 digits raises


class NotSlackShaped(ValueError):
    """The body is none of Slack's shapes."""


@dataclass(frozen=True)
class Checked:
    """A request whose signature holds and whose body is one of Slack's shapes."""

    raw: str
    body: dict[str, Any]
    content_type: str
    headers: dict[str, str]
    query: str

    @property
    def is_event(self) -> bool:
        """An Events API delivery (`event_callback`, `app_rate_limited`, ...): a JSON body with a `type`
        and a `team_id` or `api_app_id`, which Slack retries until it gets a 2xx."""
        return (
            (self.content_type == JSON or self.raw.startswith("{"))
            and "type" in self.body
            and ("api_app_id" in self.body or "team_id" in self.body)
        )


def refuse(status: int, reason: str, request: web.Request) -> web.Response:
    log.warning("refused a request to %s: %s (%d)", request.path, reason, status)
    return web.json_response({"error": "invalid request"}, status=status)  # as Bolt answers


async def read_checked(request: web.Request, verifier: SignatureVerifier | None) -> Checked | web.Response:
    """The request, checked (see the module's docstring); else the 4xx to answer. Without a verifier
    (no signing secret configured) the signature is left to Bolt."""
    try:
        data = await request.read()
    except web.HTTPRequestEntityTooLarge:
        return refuse(413, "body too large", request)
    timestamp = request.headers.get("X-Slack-Request-Timestamp", "")
    if not (timestamp.isascii() and timestamp.isdigit() and len(timestamp) <= MAX_TIMESTAMP_DIGITS):
        return refuse(400, "missing or malformed X-Slack-Request-Timestamp", request)
    try:
        raw = data.decode()  # Slack's bodies are UTF-8; SignatureVerifier decodes them so, and raises
    except UnicodeDecodeError:
        return refuse(400, "body not UTF-8", request)
    signature = request.headers.get("X-Slack-Signature", "")
    # compare_digest raises on non-ASCII text: such a signature is simply wrong.
    if verifier is not None and not (signature.isascii() and verifier.is_valid(raw, timestamp, signature)):
        return refuse(401, "invalid signature or stale timestamp", request)
    try:
        body = well_formed(parse_slack_body(raw, request.content_type))
    except ValueError as exc:
        return refuse(400, f"not a Slack body ({type(exc).__name__})", request)
    return Checked(raw, body, request.content_type, dict(request.headers), request.query_string)


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """Slack's three body shapes: JSON (events), a form with `payload=` (interactivity), a form (commands).
    Raises ValueError (NotSlackShaped, or JSON's own) for anything else."""
    if not raw.strip():
        raise NotSlackShaped("empty body")
    if content_type == JSON or raw.lstrip().startswith(("{", "[", '"')):
        return _object(json.loads(raw))
    form = parse_form(raw)
    if "payload" in form:
        return _object(json.loads(form["payload"]))
    return form


def _object(parsed: object) -> dict[str, Any]:
    if not isinstance(parsed, dict):
        raise NotSlackShaped(f"a JSON {type(parsed).__name__}, not an object")
    return parsed


def parse_form(raw: str) -> dict[str, str]:
    """A form body as a dict: `dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))`, the last value of
    a repeated field winning, in about 60% of the time. parse_qsl unquotes every name and value; most of
    Slack's fields (ids, names, flags) have nothing to unquote, and every `/zap` ack pays for the form."""
    form: dict[str, str] = {}
    for field in raw.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if "+" in name or "%" in name:
            name = unquote(name.replace("+", " "))
        if "+" in value or "%" in value:
            value = unquote(value.replace("+", " "))
        form[name] = value
    return form


_OBJECTS = ("event", "view")  # Bolt reads these as objects without checking
_OBJECT_LISTS = ("authorizations", "actions")  # and these as lists of objects
_OBJECTS_OR_IDS = ("user", "team", "channel", "container", "message", "enterprise")
_STRINGS = ("type", "action_id", "callback_id", "block_id")  # Bolt matches these as text


def _strings(fields: dict[str, Any], *keys: str) -> bool:
    return all(isinstance(fields.get(k), str) for k in keys if k in fields)


def well_formed(body: dict[str, Any]) -> dict[str, Any]:
    """`body` without the top-level fields whose type no Slack request has (found by fuzzing: an `event`
    that is a list made Bolt's middleware raise). What is left reaches the listeners or Bolt's 404."""
    bad = [k for k in _OBJECTS if k in body and not isinstance(body[k], dict)]
    bad += [
        k
        for k in _OBJECT_LISTS
        if k in body
        and not (isinstance(body[k], list) and body[k] and all(isinstance(i, dict) for i in body[k]))
    ]
    bad += [k for k in _OBJECTS_OR_IDS if k in body and not isinstance(body[k], dict | str | None)]
    bad += [k for k in _STRINGS if k in body and not isinstance(body[k], str)]
    if "actions" not in bad and any(
        not _strings(a, "action_id", "block_id") for a in body.get("actions") or []
    ):
        bad.append("actions")
    if "view" not in bad and not _strings(body.get("view") or {}, "callback_id"):
        bad.append("view")
    return {k: v for k, v in body.items() if k not in bad} if bad else body


class SlackRequest(AsyncBoltRequest):
    """An AsyncBoltRequest whose body is parsed correctly; the raw body is kept for signature checks."""

    def __init__(self, checked: Checked) -> None:
        super().__init__(body=checked.raw, query=checked.query, headers=checked.headers)  # type: ignore[arg-type]
        if checked.body != self.body:
            self.body = checked.body
            try:
                self.context = build_async_context(AsyncBoltContext({}), checked.body)
            except (AttributeError, TypeError, KeyError, IndexError):
                # A field of a type no Slack request has (e.g. `event.channel` a number): no request.
                self.body = {}
                self.context = build_async_context(AsyncBoltContext({}), {})
