"""Requests to the bot shaped and signed exactly as Slack sends them over HTTP.

Slash commands and interactivity are form-encoded (interactivity as ``payload=<json>``), events are JSON
``event_callback`` envelopes. Every body is signed with ``X-Slack-Signature: v0=HMAC-SHA256(secret,
"v0:{timestamp}:{body}")`` and ``X-Slack-Request-Timestamp``, as Slack documents.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import aiohttp

APP_ID = "A0ZAPBOT"
VERIFICATION_TOKEN = "legacy-verification-token"  # Slack still sends it; nothing should rely on it
BOT_USER_ID = "UBOT"
DEFAULT_MESSAGE: Any = ...  # block_action(): "a message posted by the bot" unless told otherwise


def sign(signing_secret: str, timestamp: int, body: str) -> str:
    """Slack's request signature: ``v0=`` + hex HMAC-SHA256(secret, ``v0:{timestamp}:{body}``)."""
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(signing_secret.encode(), base, hashlib.sha256).hexdigest()


@dataclass
class SentResponse:
    """The bot's HTTP answer. ``headers`` keys are lower-case; ``elapsed`` is seconds to the response."""

    status: int
    text: str
    headers: dict[str, str]
    elapsed: float

    def json(self) -> Any:
        return json.loads(self.text)


class SlackSender:
    """Sends signed Slack requests to the bot's ``/slack/events`` URL, as Slack's servers would."""

    def __init__(
        self, http: aiohttp.ClientSession, url: str, signing_secret: str, response_url_base: str
    ) -> None:
        self.http = http
        self.url = url
        self.signing_secret = signing_secret
        self.response_url_base = response_url_base.rstrip("/") + "/"
        self._ids = itertools.count(1)
        self._response_keys = itertools.count(1)

    def _response_url(self, given: str | None) -> str:
        """A given URL, or a fresh one under the base: .../r1, .../r2, ..."""
        return given or f"{self.response_url_base}r{next(self._response_keys)}"

    def _ts(self) -> str:
        return f"{int(time.time())}.{next(self._ids):06d}"

    async def command(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        team: str = "T1",
        command: str = "/zap",
        response_url: str | None = None,
        trigger_id: str = "trig-1",
    ) -> SentResponse:
        """A slash command, with Slack's fields in Slack's order."""
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team,
            "team_domain": "test",
            "channel_id": channel,
            "channel_name": "general",
            "user_id": user,
            "user_name": f"user-{user.lower()}",
            "command": command,
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": self._response_url(response_url),
            "trigger_id": trigger_id,
        }
        return await self.post_raw(urlencode(fields), content_type="application/x-www-form-urlencoded")

    async def event(
        self,
        event: dict[str, Any],
        *,
        event_id: str | None = None,
        team: str = "T1",
        retry_num: int | None = None,
        retry_reason: str | None = None,
        timestamp: int | None = None,
        signature: str | None = None,
    ) -> SentResponse:
        """An Events API ``event_callback``; a fresh ``event_id`` unless one is given (for re-deliveries).
        ``timestamp`` and ``signature`` go to ``post_raw`` (a stale or forged request)."""
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": team,
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": event_id or f"Ev{next(self._ids):08d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"enterprise_id": None, "team_id": team, "user_id": BOT_USER_ID, "is_bot": True}
            ],
            "is_ext_shared_channel": False,
        }
        headers = {}
        if retry_num is not None:
            headers["X-Slack-Retry-Num"] = str(retry_num)
        if retry_reason is not None:
            headers["X-Slack-Retry-Reason"] = retry_reason
        return await self.post_raw(
            json.dumps(envelope),
            content_type="application/json",
            headers=headers,
            timestamp=timestamp,
            signature=signature,
        )

    async def mention(
        self,
        text: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        ts: str | None = None,
        thread_ts: str | None = None,
        **kw: Any,
    ) -> SentResponse:
        """An ``app_mention``: the message text starts with ``<@UBOT> ``. ``kw`` goes to ``event()``."""
        ts = ts or self._ts()
        event = {
            "type": "app_mention",
            "user": user,
            "text": f"<@{BOT_USER_ID}> {text}",
            "ts": ts,
            "channel": channel,
            "event_ts": ts,
            "team": kw.get("team", "T1"),
        }
        if thread_ts is not None:
            event["thread_ts"] = thread_ts
        return await self.event(event, **kw)

    async def reaction(
        self,
        name: str,
        *,
        added: bool = True,
        user: str = "U2",
        channel: str = "C1",
        ts: str,
        item_user: str = BOT_USER_ID,
        **kw: Any,
    ) -> SentResponse:
        """A ``reaction_added`` (or ``reaction_removed``) on the message ``ts`` in ``channel``."""
        event = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": name,
            "item_user": item_user,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": self._ts(),
        }
        return await self.event(event, **kw)

    async def block_action(
        self,
        action_id: str,
        value: str,
        *,
        user: str = "U1",
        channel: str = "C1",
        team: str = "T1",
        message_ts: str,
        thread_ts: str | None = None,
        block_id: str = "b1",
        response_url: str | None = None,
        message: dict[str, Any] | None = DEFAULT_MESSAGE,
        trigger_id: str = "trig-1",
    ) -> SentResponse:
        """A button click. ``message=None`` means an ephemeral message (Slack then sends no ``message``)."""
        container: dict[str, Any] = {"type": "message", "message_ts": message_ts, "channel_id": channel}
        if message is DEFAULT_MESSAGE:
            message = {"type": "message", "ts": message_ts, "user": BOT_USER_ID, "bot_id": "BBOT", "text": ""}
            if thread_ts is not None:
                message["thread_ts"] = thread_ts
        if message is None:
            container["is_ephemeral"] = True
        else:
            container["is_ephemeral"] = False
            if thread_ts is not None:
                container["thread_ts"] = thread_ts
        payload: dict[str, Any] = {
            "type": "block_actions",
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": container,
            "trigger_id": trigger_id,
            "team": {"id": team, "domain": "test"},
            "channel": {"id": channel, "name": "general"},
            "response_url": self._response_url(response_url),
            "actions": [
                {
                    "action_id": action_id,
                    "block_id": block_id,
                    "value": value,
                    "type": "button",
                    "action_ts": self._ts(),
                }
            ],
        }
        if message is not None:
            payload["message"] = message
        return await self._interactive(payload)

    async def view_submission(
        self,
        callback_id: str,
        values: dict[str, Any],
        *,
        private_metadata: str = "",
        user: str = "U1",
        team: str = "T1",
    ) -> SentResponse:
        """A modal submitted; ``values`` is ``view.state.values`` (block_id -> action_id -> value)."""
        payload = {
            "type": "view_submission",
            "team": {"id": team, "domain": "test"},
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "trigger_id": "trig-view",
            "view": {
                "id": "V1",
                "team_id": team,
                "type": "modal",
                "callback_id": callback_id,
                "private_metadata": private_metadata,
                "state": {"values": values},
                "hash": "h1",
                "app_id": APP_ID,
                "bot_id": "BBOT",
            },
            "response_urls": [],
        }
        return await self._interactive(payload)

    async def block_suggestion(
        self,
        action_id: str,
        value: str,
        *,
        block_id: str,
        view: dict[str, Any] | None = None,
        user: str = "U1",
        team: str = "T1",
    ) -> SentResponse:
        """A menu of external data asking for options as the user types ``value`` (in a modal ``view``)."""
        payload = {
            "type": "block_suggestion",
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
            "container": {"type": "view", "view_id": (view or {}).get("id", "V1")},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "action_id": action_id,
            "block_id": block_id,
            "value": value,
            "team": {"id": team, "domain": "test"},
            "view": self._view_payload(view or {}, team),
        }
        return await self._interactive(payload)

    async def view_block_action(
        self,
        action_id: str,
        selected_option: dict[str, Any],
        *,
        view: dict[str, Any],
        block_id: str,
        user: str = "U1",
        team: str = "T1",
    ) -> SentResponse:
        """A choice in a modal's select menu that dispatches an action (``block_actions`` from a view)."""
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {"type": "view", "view_id": view.get("id", "V1")},
            "trigger_id": "trig-view-action",
            "team": {"id": team, "domain": "test"},
            "view": self._view_payload(view, team),
            "actions": [
                {
                    "type": "external_select",
                    "action_id": action_id,
                    "block_id": block_id,
                    "selected_option": selected_option,
                    "action_ts": self._ts(),
                }
            ],
        }
        return await self._interactive(payload)

    async def global_shortcut(
        self, callback_id: str, *, user: str = "U1", team: str = "T1", trigger_id: str = "trig-shortcut"
    ) -> SentResponse:
        """A global shortcut chosen from Slack's shortcut menu (no channel comes with it)."""
        payload = {
            "type": "shortcut",
            "token": VERIFICATION_TOKEN,
            "action_ts": self._ts(),
            "team": {"id": team, "domain": "test"},
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": team},
            "is_enterprise_install": False,
            "enterprise": None,
            "callback_id": callback_id,
            "trigger_id": trigger_id,
        }
        return await self._interactive(payload)

    @staticmethod
    def _view_payload(view: dict[str, Any], team: str) -> dict[str, Any]:
        """A modal as Slack echoes it in interactions: what was opened, with an id, a hash and a state."""
        return {
            "id": "V1",
            "team_id": team,
            "type": "modal",
            "hash": "h1",
            "app_id": APP_ID,
            "bot_id": "BBOT",
            "private_metadata": "",
            "state": {"values": {}},
            **view,
        }

    async def _interactive(self, payload: dict[str, Any]) -> SentResponse:
        body = urlencode({"payload": json.dumps(payload)})
        return await self.post_raw(body, content_type="application/x-www-form-urlencoded")

    async def post_raw(
        self,
        body: str,
        *,
        content_type: str,
        timestamp: int | None = None,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> SentResponse:
        """POST ``body`` signed for ``timestamp`` (default now), unless a (forged) ``signature`` is given."""
        timestamp = int(time.time()) if timestamp is None else timestamp
        sent_headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": signature or sign(self.signing_secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
            **(headers or {}),
        }
        started = time.monotonic()
        async with self.http.post(self.url, data=body.encode(), headers=sent_headers) as response:
            elapsed = time.monotonic() - started
            text = await response.text()
            got = {k.lower(): v for k, v in response.headers.items()}
            return SentResponse(response.status, text, got, elapsed)
