"""Slack request shapes for fuzzing (the payload types Slack documents), each field liable to be left out or
replaced by any JSON: shared by the HTTP and the Socket Mode fuzz tests."""

from __future__ import annotations

import json
import time
from typing import Any

from hypothesis import strategies as st

from tests.support.fuzz_support import IDS, JSON, TEXT
from tests.support.slack_requests import APP_ID, BOT_USER_ID, VERIFICATION_TOKEN

ACTION_IDS = [
    "zap_confirm",
    "zap_cancel",
    "zap_edit",
    "zap_full_result",
    "zap_feedback",
    "zap_switch_1",
    "zap_switch_99",
    "zap_form_app",
    "nobody_handles_this",
]
CALLBACK_IDS = ["zap_edit_view", "zap_feedback", "zap_form_submit", "zap_form", "unknown_view"]
EVENT_TYPES = [
    "app_mention",
    "reaction_added",
    "reaction_removed",
    "message",
    "app_home_opened",
    "channel_created",
    "member_joined_channel",
    "app_uninstalled",
    "tokens_revoked",
    "made_up_event",
]
REACTIONS = ["+1", "-1", "thumbsup", "thumbsdown", "+1::skin-tone-4", "tada", ""]
COMMAND_TEXT = st.one_of(
    TEXT,
    st.sampled_from(["help", "apps gmail", "actions SlackAPI", "ratings", "audit 3", "form", "shortcuts"]),
    TEXT.map(lambda t: f"SlackAPI channel_message {t}"),
    TEXT.map(lambda t: f"save x = SlackAPI channel_message {t}"),
    TEXT.map(lambda t: f"show me the payload {t}"),  # Bolt's form-parsing bug
)


@st.composite
def shaken(draw: st.DrawFn, fields: dict[str, Any]) -> dict[str, Any]:
    """Slack's documented shape, with some fields dropped and some replaced by any JSON."""
    out = dict(fields)
    for key in draw(st.lists(st.sampled_from(sorted(fields)), max_size=3, unique=True)):
        if draw(st.booleans()):
            del out[key]
        else:
            out[key] = draw(JSON)
    return out


@st.composite
def command_fields(draw: st.DrawFn) -> dict[str, Any]:
    return draw(
        shaken(
            {
                "token": VERIFICATION_TOKEN,
                "team_id": draw(IDS),
                "team_domain": "test",
                "channel_id": draw(IDS),
                "channel_name": "general",
                "user_id": draw(IDS),
                "user_name": "someone",
                "command": draw(st.sampled_from(["/zap", "/zap", "/other"])),
                "text": draw(COMMAND_TEXT),
                "api_app_id": APP_ID,
                "is_enterprise_install": "false",
                "response_url": "http://127.0.0.1:9/never",  # slack_request() puts the stand-in's
                "trigger_id": draw(TEXT),
            }
        )
    )


@st.composite
def event_envelope(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(EVENT_TYPES))
    ts = f"{int(time.time())}.{draw(st.integers(0, 999999)):06d}"
    event: dict[str, Any] = {"type": kind, "user": draw(IDS), "event_ts": ts, "ts": ts, "channel": draw(IDS)}
    if kind in {"app_mention", "message"}:
        event["text"] = f"<@{BOT_USER_ID}> " + draw(COMMAND_TEXT)
        if draw(st.booleans()):
            event["subtype"] = draw(st.sampled_from(["message_changed", "bot_message", "thread_broadcast"]))
    if kind.startswith("reaction"):
        event["reaction"] = draw(st.sampled_from(REACTIONS) | TEXT)
        event["item"] = draw(shaken({"type": "message", "channel": draw(IDS), "ts": ts}))
        event["item_user"] = draw(st.sampled_from([BOT_USER_ID, "U2"]))
    envelope = {
        "token": VERIFICATION_TOKEN,
        "team_id": draw(IDS),
        "api_app_id": APP_ID,
        "event": draw(shaken(event)),
        "type": draw(st.sampled_from(["event_callback", "event_callback", "app_rate_limited", "other"])),
        "event_id": f"Ev{draw(st.integers(0, 10**9))}",
        "event_time": int(time.time()),
        "authorizations": [{"team_id": "T1", "user_id": BOT_USER_ID, "is_bot": True}],
    }
    return draw(shaken(envelope))


@st.composite
def interactive_payload(draw: st.DrawFn) -> dict[str, Any]:
    kind = draw(st.sampled_from(["block_actions", "view_submission", "shortcut", "block_suggestion", "x"]))
    user = {"id": draw(IDS), "username": "someone", "team_id": draw(IDS)}
    base: dict[str, Any] = {
        "type": kind,
        "user": draw(shaken(user)),
        "team": {"id": draw(IDS), "domain": "test"},
        "api_app_id": APP_ID,
        "token": VERIFICATION_TOKEN,
        "trigger_id": draw(TEXT),
    }
    if kind == "block_actions":
        ts = f"{int(time.time())}.{draw(st.integers(0, 999999)):06d}"
        action = {
            "action_id": draw(st.sampled_from(ACTION_IDS)),
            "block_id": draw(TEXT),
            "value": draw(TEXT | st.from_regex(r"[0-9a-f]{1,32}(:[0-9a-f]{1,64})?", fullmatch=True)),
            "type": "button",
            "action_ts": ts,
        }
        base |= {
            "container": {"type": "message", "message_ts": ts, "channel_id": draw(IDS)},
            "channel": {"id": draw(IDS), "name": "general"},
            "response_url": "http://127.0.0.1:9/never",
            "actions": draw(st.lists(shaken(action), max_size=2)),
        }
        if draw(st.booleans()):
            base["message"] = {"type": "message", "ts": ts, "user": BOT_USER_ID, "text": draw(TEXT)}
    elif kind == "view_submission":
        values = draw(
            st.dictionaries(
                st.sampled_from(["param:text", "param:channel", "feedback", "app", "x"]) | TEXT,
                st.dictionaries(st.sampled_from(["value", "text", "x"]), shaken({"type": "x", "value": "v"})),
                max_size=3,
            )
        )
        view = {
            "id": "V1",
            "type": "modal",
            "callback_id": draw(st.sampled_from(CALLBACK_IDS)),
            "private_metadata": draw(TEXT | JSON.map(json.dumps)),
            "state": {"values": values},
            "hash": "h1",
        }
        base |= {"view": draw(shaken(view)), "response_urls": []}
    elif kind in {"shortcut", "block_suggestion"}:
        base |= {"callback_id": draw(st.sampled_from(CALLBACK_IDS)), "action_id": "zap_form_app"}
        base |= {"block_id": draw(TEXT), "value": draw(TEXT)}
    return draw(shaken(base))
