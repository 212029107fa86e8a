"""Turning an aiohttp request into a Bolt request, working around Bolt's form-body parsing bug.

Bolt 1.30 (and main) parses any form body that contains the text `payload` anywhere as an interactivity
payload, so `/zap ... show me the payload` reaches no listener and Slack gets a 404. We parse the body the
way Slack means it: only a form *field* named `payload` is an interactivity payload.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import unquote

from aiohttp import web
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_internals import build_async_context
from slack_bolt.request.async_request import AsyncBoltRequest


def parse_slack_body(raw: str, content_type: str | None) -> dict[str, Any]:
    """Slack's three body shapes: JSON (events), a form with `payload=` (interactivity), a form (commands)."""
    if not raw:
        return {}
    if content_type == "application/json" or raw.startswith("{"):
        parsed = json.loads(raw)
        return parsed if isinstance(parsed, dict) else {}
    form = parse_form(raw)
    if "payload" in form:
        payload = json.loads(form["payload"])
        return payload if isinstance(payload, dict) else {}
    return form


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

    def __init__(self, *, body: str, query: str, headers: dict[str, str]) -> None:
        try:
            super().__init__(body=body, query=query, headers=headers)  # type: ignore[arg-type]
        except (AttributeError, TypeError, KeyError, IndexError):
            # Bolt builds its context assuming the body is an object; a JSON array or `payload=7` makes
            # that raise (a 500). Such a body is no Slack request: an empty one, its raw text kept for the
            # signature check, which then decides (401 unsigned; Bolt's 404 for nothing to handle).
            super().__init__(body="", query=query, headers=headers)  # type: ignore[arg-type]
            self.raw_body = body
        parsed = well_formed(parse_slack_body(self.raw_body, self.content_type))
        if parsed != self.body:
            self.body = parsed
            try:
                self.context = build_async_context(AsyncBoltContext({}), parsed)
            except (AttributeError, TypeError, KeyError, IndexError):
                # A field of a type no Slack request has (e.g. `event.channel` a number): no request.
                self.body = {}
                self.context = build_async_context(AsyncBoltContext({}), {})


async def to_slack_request(request: web.Request) -> SlackRequest:
    return SlackRequest(body=await request.text(), query=request.query_string, headers=dict(request.headers))
