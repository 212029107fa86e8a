"""Slack requests for the load generator, built and signed before a phase starts (signing is not timed).

The shapes are the tests' (tests/support/slack_requests.py), signed with the same `sign`; each request
carries a fresh timestamp, so a phase must send them within Slack's five minutes.
"""

from __future__ import annotations

import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from tests.support.slack_requests import APP_ID, BOT_USER_ID, VERIFICATION_TOKEN, sign

FORM = "application/x-www-form-urlencoded"
CLICK = ".click"  # suffix of a click's response URL key
JSON = "application/json"


@dataclass(frozen=True)
class Signed:
    """One request ready to send: body and headers; `key` is what the benchmark correlates it by."""

    body: bytes
    headers: dict[str, str]
    key: str = ""


class Signer:
    def __init__(self, signing_secret: str, response_url_base: str) -> None:
        self._secret = signing_secret
        self._response_base = response_url_base.rstrip("/") + "/"
        self._ids = itertools.count(1)

    def _signed(self, body: str, content_type: str, key: str) -> Signed:
        timestamp = int(time.time())
        headers = {
            "Content-Type": content_type,
            "X-Slack-Request-Timestamp": str(timestamp),
            "X-Slack-Signature": sign(self._secret, timestamp, body),
            "User-Agent": "Slackbot 1.0 (+https://api.slack.com/robots)",
        }
        return Signed(body.encode(), headers, key)

    def command(
        self, text: str, *, channel: str, user: str = "U1", team: str = "T1", response_key: str = ""
    ) -> Signed:
        """A signed `/zap`; its response URL's key is `response_key`, by default the channel."""
        n = next(self._ids)
        fields = {
            "token": VERIFICATION_TOKEN,
            "team_id": team,
            "team_domain": "bench",
            "channel_id": channel,
            "channel_name": "bench",
            "user_id": user,
            "user_name": f"user-{user.lower()}",
            "command": "/zap",
            "text": text,
            "api_app_id": APP_ID,
            "is_enterprise_install": "false",
            "response_url": f"{self._response_base}{response_key or channel}",  # a reply here: a failure
            "trigger_id": f"trig-{n}",
        }
        return self._signed(urlencode(fields), FORM, channel)

    def confirm(self, preview_id: str, *, channel: str, message_ts: str, user: str = "U2") -> Signed:
        n = next(self._ids)
        payload = {
            "type": "block_actions",
            "user": {"id": user, "username": f"user-{user.lower()}", "team_id": "T1"},
            "api_app_id": APP_ID,
            "token": VERIFICATION_TOKEN,
            "container": {
                "type": "message",
                "message_ts": message_ts,
                "channel_id": channel,
                "is_ephemeral": False,
            },
            "trigger_id": f"trig-{n}",
            "team": {"id": "T1", "domain": "bench"},
            "channel": {"id": channel, "name": "bench"},
            "response_url": f"{self._response_base}{channel}{CLICK}",
            "message": {
                "type": "message",
                "ts": message_ts,
                "user": BOT_USER_ID,
                "bot_id": "BBOT",
                "text": "",
            },
            "actions": [
                {
                    "action_id": "zap_confirm",
                    "block_id": "b1",
                    "value": preview_id,
                    "type": "button",
                    "action_ts": f"{time.time():.6f}",
                }
            ],
        }
        return self._signed(urlencode({"payload": json.dumps(payload)}), FORM, channel)

    def reaction(self, name: str, *, user: str, channel: str, ts: str, added: bool = True) -> Signed:
        n = next(self._ids)
        event: dict[str, Any] = {
            "type": "reaction_added" if added else "reaction_removed",
            "user": user,
            "reaction": name,
            "item_user": BOT_USER_ID,
            "item": {"type": "message", "channel": channel, "ts": ts},
            "event_ts": f"{int(time.time())}.{n:06d}",
        }
        envelope = {
            "token": VERIFICATION_TOKEN,
            "team_id": "T1",
            "api_app_id": APP_ID,
            "event": event,
            "type": "event_callback",
            "event_id": f"EvB{n:09d}",
            "event_time": int(time.time()),
            "authorizations": [
                {"enterprise_id": None, "team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}
            ],
            "is_ext_shared_channel": False,
        }
        return self._signed(json.dumps(envelope), JSON, channel)
