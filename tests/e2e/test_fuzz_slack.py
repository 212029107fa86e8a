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
from urllib.parse import urlencode

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.support.bot_server import SIGNING_SECRET, RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fuzz_support import JSON, fuzz_settings, problems_in_logs, settled
from tests.support.slack_shapes import (
    command_fields,
    event_envelope,
    interactive_payload,
)

CASES = {"signed": 0, "unsigned": 0}


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
