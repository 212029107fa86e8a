"""What the Slack stand-in records of each exchange, and how it reads a Web API call's arguments."""

from __future__ import annotations

import contextlib
import json
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

JSON_FORM_FIELDS = {"blocks", "attachments", "view", "metadata"}  # slack-sdk JSON-encodes these in forms


@dataclass
class SlackCall:
    """One Web API call. ``args`` merges query string and body; ``headers`` keys are lower-case."""

    method: str
    args: dict[str, Any]
    headers: dict[str, str]
    answer: dict[str, Any] = field(default_factory=dict)  # what the fake answered (e.g. the posted ts)
    status: int = 200

    @property
    def ok(self) -> bool:
        return self.status == 200 and self.answer.get("ok") is True


@dataclass
class ResponseUrlPost:
    """One POST to a ``response_url`` (what Bolt's ``respond()`` sends) and how the stand-in answered."""

    key: str
    json: Any
    status: int = 200
    error: str = ""


async def body_args(request: web.Request) -> dict[str, Any]:
    """The call's arguments: a JSON object, or a form whose JSON-valued fields are decoded."""
    if not request.can_read_body:
        return {}
    if request.content_type == "application/json":
        body = await request.json()
        return body if isinstance(body, dict) else {"_body": body}
    form = dict(await request.post())
    for name in JSON_FORM_FIELDS & form.keys():
        value = form[name]
        if isinstance(value, str):
            with contextlib.suppress(ValueError):  # else left as sent (Slack would say invalid_blocks)
                form[name] = json.loads(value)
    return form
