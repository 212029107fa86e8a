"""Turning an aiohttp request into a Bolt request, working around Bolt's form-body parsing bug.

Bolt 1.30 (and main) parses any form body that contains the text `payload` anywhere as an interactivity
payload, so `/zap ... show me the payload` reaches no listener and Slack gets a 404. We parse the body the
way Slack means it: only a form *field* named `payload` is an interactivity payload.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

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
    form = dict(parse_qsl(raw, keep_blank_values=True))
    if "payload" in form:
        payload = json.loads(form["payload"])
        return payload if isinstance(payload, dict) else {}
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
