"""Fuzzing the Slack edge: request shapes Slack documents (slash commands, Events API callbacks of known,
unhandled and unknown types, block_actions, view_submission, shortcuts, options), with any field left out
or replaced by any JSON, and garbage bodies, signed and unsigned, through the bot's real HTTP endpoint.
Zero 5xx, no unsigned request accepted, and no log record at ERROR or with a traceback."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.bot_server import SIGNING_SECRET, RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fuzz_support import IDS, JSON, TEXT, fuzz_settings, problems_in_logs, settled
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

CASES = {"signed": 0, "unsigned": 0}


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


GARBAGE = st.one_of(
    st.binary(max_size=200).map(lambda b: (b, "application/octet-stream")),
    st.sampled_from(["[]", '"text"', "7", "null", "{}", '{"type": "url_verification"}']).map(
        lambda s: (s.encode(), "application/json")
    ),
    st.sampled_from(
        ["payload=[]", "payload=7", "payload=", "payload=%7B", "payload=null", "text=payload"]
    ).map(lambda s: (s.encode(), "application/x-www-form-urlencoded")),
    JSON.map(lambda j: (json.dumps(j).encode(), "application/json")),
    JSON.map(lambda j: (urlencode({"payload": json.dumps(j)}).encode(), "application/x-www-form-urlencoded")),
)


@st.composite
def slack_request(draw: st.DrawFn, response_url: str) -> tuple[bytes, str]:
    """One request body and its content type, of any documented kind or garbage."""
    kind = draw(st.sampled_from(["command", "event", "interactive", "garbage"]))
    if kind == "command":
        fields = draw(command_fields())
        if isinstance(fields.get("response_url"), str):
            fields["response_url"] = response_url  # never an address outside 127.0.0.1's stand-ins
        return urlencode({k: str(v) for k, v in fields.items()}).encode(), "application/x-www-form-urlencoded"
    if kind == "event":
        return json.dumps(draw(event_envelope())).encode(), "application/json"
    if kind == "interactive":
        payload = draw(interactive_payload())
        if isinstance(payload.get("response_url"), str):
            payload["response_url"] = response_url
        return urlencode({"payload": json.dumps(payload)}).encode(), "application/x-www-form-urlencoded"
    result: tuple[bytes, str] = draw(GARBAGE)
    return result


SIGNATURES = st.sampled_from(["good", "good", "good", "none", "forged", "stale", "bad_timestamp", "empty_ts"])


async def _post(bot: RunningBot, http: aiohttp.ClientSession, body: bytes, ctype: str, how: str) -> int:
    now = int(time.time())
    stamp = str(now - 3600) if how == "stale" else str(now)
    headers = {"Content-Type": ctype}
    if how != "none":
        digest = hmac.new(SIGNING_SECRET.encode(), f"v0:{stamp}:".encode() + body, hashlib.sha256).hexdigest()
        headers["X-Slack-Signature"] = "v0=" + ("0" * 64 if how == "forged" else digest)
        headers["X-Slack-Request-Timestamp"] = {"bad_timestamp": "12x", "empty_ts": ""}.get(how, stamp)
    async with http.post(bot.url + "/slack/events", data=body, headers=headers) as response:
        await response.read()
        return response.status


@pytest.fixture(scope="module", autouse=True)
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    """Print how many cases ran (shown by pytest's terminal, with or without -s)."""
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(
            f"fuzz (Slack): {CASES['signed']} signed and {CASES['unsigned']} unsigned HTTP requests"
        )


@pytest.mark.polite_slack
@fuzz_settings(default=120)
@given(request=st.data(), how=SIGNATURES)
async def test_any_slack_request_gets_a_4xx_or_2xx_and_logs_no_error(
    bot: RunningBot,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    *,
    request: st.DataObject,
    how: str,
) -> None:
    """Documented request shapes, mutated, and garbage, signed well or not: never a 5xx, never accepted
    unsigned, and nothing at ERROR (or with a traceback) in the logs, background work included."""
    response_url = fake_slack.response_url_base.rstrip("/") + "/fuzz"
    body, ctype = request.draw(slack_request(response_url))
    status = await _post(bot, http_session, body, ctype, how)
    CASES["signed" if how == "good" else "unsigned"] += 1
    assert status < 500, (how, status, body)
    if how != "good":
        assert 400 <= status < 500, (how, status, body)
    await settled(http_session, bot.url)
    assert problems_in_logs(caplog) == [], body
