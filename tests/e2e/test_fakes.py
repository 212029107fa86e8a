"""The harness itself: the Zapier and Slack stand-ins, Slack request signing, and the Redis fixture."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import aiohttp
import httpx
import pytest
import redis.asyncio
from aiohttp import web
from slack_sdk.errors import SlackApiError
from slack_sdk.signature import SignatureVerifier
from slack_sdk.web.async_client import AsyncWebClient

from tests.support.fakes._http import LocalServer
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import Drop, FakeZapier, Reply
from tests.support.redis_process import RedisProcess
from tests.support.slack_requests import SlackSender, sign

ACTION = {
    "instructions": "Say hello in #general",
    "app": "SlackAPI",
    "action": "send_channel_message",
    "params": {
        "channel": {"mode": "guess", "value": "#general"},
        "as_bot": {"mode": "choose_from", "value": ["yes", "no"]},
        "icon": {"mode": "ignored"},
    },
}


@pytest.fixture
async def zapier(fake_zapier: FakeZapier) -> AsyncIterator[httpx.AsyncClient]:
    """An httpx client for the fake Zapier with the right API key."""
    headers = {"x-api-key": fake_zapier.api_key}
    async with httpx.AsyncClient(base_url=fake_zapier.url, headers=headers) as client:
        yield client


def slack_client(fake: FakeSlack, token: str = "xoxb-test-token") -> AsyncWebClient:  # noqa: S107
    return AsyncWebClient(token=token, base_url=fake.api_url)


# ---- FakeZapier --------------------------------------------------------------------------------------


async def test_preview_fits_the_spec_and_resolves_params(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient
) -> None:
    """A spec-conforming preview is recorded as "preview", without violation, with resolved params."""
    response = await zapier.post("/api/v2/execute/", params={"preview_only": "true"}, json=ACTION)

    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "preview"
    assert body["results"] == []
    assert body["action_used"] == "Send Channel Message"
    assert body["input_params"] == ACTION["params"]
    assert body["resolved_params"] == {
        "channel": "#general",
        "as_bot": "yes",
        "text": "Say hello in #general",
    }
    [request] = await fake_zapier.wait_for("preview")
    assert request.json == ACTION
    assert request.query == {"preview_only": "true"}
    assert fake_zapier.violations == []


async def test_execute_returns_results_then_rating_refers_to_its_log(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient
) -> None:
    """Execute answers success with results and labels; each log id is new; rating that log succeeds."""
    first = (await zapier.post("/api/v2/execute/", json=ACTION)).json()
    second = (await zapier.post("/api/v2/execute/", json=ACTION)).json()

    assert first["status"] == "success"
    assert first["results"][0]["channel"] == "#general"
    assert first["results"][0]["text"] == "Say hello in #general"
    assert first["result_field_labels"]["text"] == "Message Text"
    assert first["execution_log_id"] != second["execution_log_id"]
    log_id = first["execution_log_id"]
    rated = await zapier.post(f"/api/v2/execute/log/{log_id}/rate/", params={"rating": 1, "feedback": "ok"})
    assert rated.status_code == 200
    assert rated.json()["execution_log_id"] == log_id
    assert rated.json()["action_used"] == "Send Channel Message"
    assert [r.operation for r in fake_zapier.requests] == ["execute", "execute", "rate"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"instructions": None}, "'instructions' is a required property"),
        ({"params": {"channel": {"mode": "bogus", "value": "x"}}}, "'bogus' is not one of"),
        ({"action_type": "delete"}, "'delete' is not one of"),
        ({"params": {"channel": {"value": "x"}}}, "'mode' is a required property"),
    ],
)
async def test_bad_request_body_is_a_violation(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient, change: dict[str, Any], expected: str
) -> None:
    """A body that breaks StatelessExecuteRequest is answered 422 and recorded as a violation."""
    body = {k: v for k, v in {**ACTION, **change}.items() if v is not None}

    response = await zapier.post("/api/v2/execute/", json=body)

    assert response.status_code == 422
    assert len(fake_zapier.violations) == 1
    assert expected in fake_zapier.violations[0]
    fake_zapier.violations.clear()


async def test_skip_param_guessing_rules(fake_zapier: FakeZapier, zapier: httpx.AsyncClient) -> None:
    """skip_param_guessing with preview_only, or with a guessed param, is a 400 and a violation."""
    locked = {**ACTION, "params": {"channel": {"mode": "locked", "value": "C1"}, "x": {"mode": "ignored"}}}

    ok = await zapier.post("/api/v2/execute/", params={"skip_param_guessing": "true"}, json=locked)
    assert ok.status_code == 200
    assert fake_zapier.violations == []

    both = {"skip_param_guessing": "true", "preview_only": "true"}
    combined = await zapier.post("/api/v2/execute/", params=both, json=locked)
    guessed = await zapier.post("/api/v2/execute/", params={"skip_param_guessing": "true"}, json=ACTION)

    assert combined.status_code == 400
    assert "preview_only" in combined.json()["error"]
    assert guessed.status_code == 400
    assert "as_bot, channel" in guessed.json()["error"]
    assert len(fake_zapier.violations) == 2
    fake_zapier.violations.clear()


async def test_credentials(fake_zapier: FakeZapier) -> None:
    """A wrong key gets Zapier's 401 (not a violation); a missing key is a violation too."""
    async with httpx.AsyncClient(base_url=fake_zapier.url) as client:
        wrong = await client.post("/api/v2/execute/", json=ACTION, headers={"x-api-key": "nope"})
        assert wrong.status_code == 401
        assert wrong.json() == {"error": "Invalid API key."}
        assert fake_zapier.violations == []

        missing = await client.post("/api/v2/execute/", json=ACTION)
        assert missing.status_code == 401
    assert fake_zapier.violations == [
        "POST /api/v2/execute/: no credentials: the x-api-key header is missing"
    ]
    fake_zapier.violations.clear()


async def test_unknown_path_and_bad_query_are_violations(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient
) -> None:
    """A path missing from the spec is a 404, a wrongly typed query parameter a 422: both violations."""
    unknown = await zapier.post("/api/v2/execute", json=ACTION)
    bad_query = await zapier.post("/api/v2/execute/", params={"token_budget": "lots"}, json=ACTION)

    assert unknown.status_code == 404
    assert bad_query.status_code == 422
    assert [r.operation for r in fake_zapier.requests] == ["unknown", "execute"]
    assert len(fake_zapier.violations) == 2
    assert "token_budget" in fake_zapier.violations[1]
    fake_zapier.violations.clear()


async def test_scripted_replies_in_order_then_defaults(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient
) -> None:
    """Scripted replies are used first in, first out: off_spec ones are no violation, others are checked."""
    fake_zapier.script(
        "execute",
        Reply(502, body=b"<html>oops", off_spec=True),
        Reply(429, json={"error": "slow down"}, headers={"Retry-After": "1"}, off_spec=True),
        Reply(200, json={"status": "success"}),  # lacks execution_log_id and more: a violation
    )

    gateway = await zapier.post("/api/v2/execute/", json=ACTION)
    limited = await zapier.post("/api/v2/execute/", json=ACTION)
    assert (gateway.status_code, gateway.text) == (502, "<html>oops")
    assert (limited.status_code, limited.headers["retry-after"]) == (429, "1")
    assert fake_zapier.violations == []

    await zapier.post("/api/v2/execute/", json=ACTION)
    assert "'execution_log_id' is a required property" in fake_zapier.violations[0]
    fake_zapier.violations.clear()

    default = await zapier.post("/api/v2/execute/", json=ACTION)
    assert default.json()["status"] == "success"


async def test_drop_delay_and_latency_break_the_connection(
    fake_zapier: FakeZapier, zapier: httpx.AsyncClient
) -> None:
    """Drop resets the connection; a delay or latency beyond the client's timeout makes it time out."""
    fake_zapier.script("preview", Drop(), Reply(delay=5, json={}))

    with pytest.raises(httpx.RemoteProtocolError):
        await zapier.post("/api/v2/execute/", params={"preview_only": "true"}, json=ACTION)
    with pytest.raises(httpx.ReadTimeout):
        await zapier.post("/api/v2/execute/", params={"preview_only": "true"}, json=ACTION, timeout=0.2)
    fake_zapier.latency = 5
    with pytest.raises(httpx.ReadTimeout):
        await zapier.post("/api/v2/execute/", json=ACTION, timeout=0.2)


async def test_wait_for_explains_a_timeout(fake_zapier: FakeZapier, zapier: httpx.AsyncClient) -> None:
    """wait_for fails with an AssertionError that lists what did arrive."""
    await zapier.post("/api/v2/execute/", json=ACTION)

    with pytest.raises(AssertionError, match=r"expected 1, got 0 .*execute POST /api/v2/execute/"):
        await fake_zapier.wait_for("rate", timeout=0.1)


# ---- FakeSlack ---------------------------------------------------------------------------------------


async def test_post_message_through_slack_sdk(fake_slack: FakeSlack) -> None:
    """chat.postMessage from AsyncWebClient is recorded with decoded blocks and gets increasing ts."""
    client = slack_client(fake_slack)
    blocks = [{"type": "section", "text": {"type": "mrkdwn", "text": "hi"}}]

    first = await client.chat_postMessage(channel="C1", text="hi", blocks=blocks)
    second = await client.chat_postMessage(channel="C1", text="again", thread_ts=first["ts"])

    assert float(second["ts"]) > float(first["ts"])
    assert first["message"]["blocks"] == blocks
    calls = await fake_slack.wait_for("chat.postMessage", 2)
    assert calls[0].args["blocks"] == blocks
    assert calls[1].args["thread_ts"] == first["ts"]
    assert calls[0].headers["authorization"] == "Bearer xoxb-test-token"


async def test_form_and_query_arguments_are_decoded(fake_slack: FakeSlack) -> None:
    """Form bodies (with JSON-encoded blocks) and GET query strings both end up in args."""
    client = slack_client(fake_slack)
    fake_slack.users_in_group["S1"] = ["U1", "U2"]
    blocks = [{"type": "divider"}]
    ts = (await client.chat_postMessage(channel="C1", text="to update"))["ts"]  # Slack updates what exists

    updated = await client.api_call(
        "chat.update", data={"channel": "C1", "ts": ts, "blocks": json.dumps(blocks)}
    )
    users = await client.usergroups_users_list(usergroup="S1")

    assert updated["ok"]
    assert fake_slack.of("chat.update")[0].args == {"channel": "C1", "ts": ts, "blocks": blocks}
    assert users["users"] == ["U1", "U2"]


async def test_auth_test_gives_what_bolt_needs(fake_slack: FakeSlack) -> None:
    """auth.test answers the bot's ids and the granted scopes header, as Bolt reads them."""
    answer = await slack_client(fake_slack).auth_test()

    assert (answer["user_id"], answer["bot_id"], answer["team_id"]) == ("UBOT", "BBOT", "T1")
    assert "chat:write" in answer.headers["x-oauth-scopes"]


async def test_fail_rate_limit_and_bad_token(fake_slack: FakeSlack) -> None:
    """fail() and rate_limit() affect only the next calls; a wrong token gets invalid_auth."""
    client = slack_client(fake_slack)
    fake_slack.fail("chat.postMessage", "not_in_channel")
    fake_slack.rate_limit("chat.postMessage", retry_after=7)

    with pytest.raises(SlackApiError) as failed:
        await client.chat_postMessage(channel="C1", text="x")
    assert failed.value.response["error"] == "not_in_channel"
    with pytest.raises(SlackApiError) as limited:
        await client.chat_postMessage(channel="C1", text="x")
    assert limited.value.response.status_code == 429
    assert limited.value.response.headers["retry-after"] == "7"
    assert (await client.chat_postMessage(channel="C1", text="x"))["ok"]

    with pytest.raises(SlackApiError) as bad_token:
        await slack_client(fake_slack, token="xoxb-other").auth_test()
    assert bad_token.value.response["error"] == "invalid_auth"


async def test_response_url_posts_are_recorded(fake_slack: FakeSlack) -> None:
    """A POST to response_url(key) is recorded with its key and JSON body."""
    async with httpx.AsyncClient() as client:
        response = await client.post(fake_slack.response_url("abc"), json={"text": "done"})

    assert response.status_code == 200
    [post] = await fake_slack.wait_for_response_posts()
    assert (post.key, post.json) == ("abc", {"text": "done"})


# ---- signed Slack requests ---------------------------------------------------------------------------


def test_sign_matches_slacks_documented_example() -> None:
    """sign() reproduces the signature from Slack's request-verification documentation."""
    body = (
        "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V"
        "&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text="
        "&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN"
        "&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
    )

    assert (
        sign("8f742231b10e8888abcd99yyyzzz85a5", 1531420618, body)
        == "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
    )


async def test_sender_signs_bodies_as_slack_does(http_session: aiohttp.ClientSession) -> None:
    """Commands, events and button clicks arrive signed (verified by slack-sdk) and shaped like Slack's."""
    received: list[tuple[str, dict[str, str]]] = []
    verifier = SignatureVerifier("secret")

    async def capture(request: web.Request) -> web.Response:
        body = await request.text()
        received.append((body, dict(request.headers)))
        return web.Response(status=200 if verifier.is_valid_request(body, dict(request.headers)) else 401)

    app = web.Application()
    app.router.add_post("/slack/events", capture)
    server = LocalServer(app)
    await server.start()
    try:
        sender = SlackSender(
            http_session, f"{server.url}/slack/events", "secret", "http://127.0.0.1:9/response"
        )
        command = await sender.command("preview send hi", user="U7")
        event = await sender.mention("hello", retry_num=1, retry_reason="http_timeout")
        click = await sender.block_action("confirm", "tok-1", message_ts="1.1", message=None)
        assert command.status == event.status == click.status == 200
        forged = await sender.post_raw("x=1", content_type="text/plain", signature="v0=bad")
    finally:
        await server.stop()

    assert forged.status == 401
    form = {k: v[0] for k, v in parse_qs(received[0][0], keep_blank_values=True).items()}
    assert form["text"] == "preview send hi"
    assert form["user_id"] == "U7"
    assert form["response_url"] == "http://127.0.0.1:9/response/r1"
    envelope = json.loads(received[1][0])
    assert envelope["event"]["text"] == "<@UBOT> hello"
    assert received[1][1]["X-Slack-Retry-Num"] == "1"
    payload = json.loads(parse_qs(received[2][0])["payload"][0])
    assert payload["container"]["is_ephemeral"] is True
    assert "message" not in payload
    assert payload["actions"][0]["value"] == "tok-1"
    assert payload["response_url"] == "http://127.0.0.1:9/response/r2"


# ---- Redis -------------------------------------------------------------------------------------------


async def test_redis_fixture_gives_an_empty_working_database(redis_url: str) -> None:
    """redis_url points to a running Redis whose database starts empty."""
    client = redis.asyncio.Redis.from_url(redis_url)
    try:
        assert await client.dbsize() == 0
        await client.set("zapbot:test", "1")
        assert await client.get("zapbot:test") == b"1"
    finally:
        await client.aclose()


async def test_redis_process_restarts_with_its_data(tmp_path: Path) -> None:
    """RedisProcess can stop and restart on the same port; with appendonly the data survives."""
    server = RedisProcess(tmp_path)
    url = server.start(appendonly=True)
    try:
        client = redis.asyncio.Redis.from_url(url)
        await client.set("k", "v")
        await client.aclose()
        assert server.restart() == url
        client = redis.asyncio.Redis.from_url(url)
        assert await client.get("k") == b"v"
        await client.aclose()
    finally:
        server.stop()
    assert not server.running
