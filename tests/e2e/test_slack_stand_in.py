"""The realistic Slack stand-in behaves as Slack documents (NOTES.md), seen through slack-sdk's own clients.

Time-based rules are tested on the stand-in's frozen clock, moved with ``fake_slack.clock.advance``: no
sleeping, and a slow machine cannot refill a bucket in the middle of a count.
"""

from __future__ import annotations

import time
from typing import Any

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.webhook.async_client import AsyncWebhookClient

from tests.support.fakes import slack_server
from tests.support.fakes.slack_rates import Rate, SlackLimits
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.slack_workspace import Ephemeral, Message

pytestmark = pytest.mark.realistic_slack


@pytest.fixture(autouse=True)
def _frozen_clock(fake_slack: FakeSlack) -> None:
    fake_slack.clock.freeze()


def client(fake: FakeSlack, **kwargs: Any) -> AsyncWebClient:
    return AsyncWebClient(token=fake.bot_token, base_url=fake.api_url, **kwargs)


def section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": text}}


def button(text: str = "Go", value: str = "v", action_id: str = "a") -> dict[str, Any]:
    return {
        "type": "button",
        "text": {"type": "plain_text", "text": text},
        "value": value,
        "action_id": action_id,
    }


async def refused(call: Any) -> SlackApiError:
    """Await a slack-sdk call that must fail; its SlackApiError (with the response)."""
    with pytest.raises(SlackApiError) as failure:
        await call
    return failure.value


# ---- rate limits -------------------------------------------------------------------------------------


async def test_post_message_allows_a_burst_of_three_per_channel_then_429(fake_slack: FakeSlack) -> None:
    """Per channel: 3 posts at once pass, the 4th gets 429 + Retry-After 1 + ratelimited; other channels
    are unaffected; a second later one more passes; every 429 is recorded with its channel."""
    slack = client(fake_slack)
    for n in range(3):
        assert (await slack.chat_postMessage(channel="C1", text=f"m{n}"))["ok"]

    limited = await refused(slack.chat_postMessage(channel="C1", text="m3"))
    assert limited.response.status_code == 429
    assert limited.response.headers["retry-after"] == "1"
    assert limited.response.data == {"ok": False, "error": "ratelimited"}
    assert (await slack.chat_postMessage(channel="C2", text="elsewhere"))["ok"]

    fake_slack.clock.advance(1.0)
    assert (await slack.chat_postMessage(channel="C1", text="m4"))["ok"]
    await refused(slack.chat_postMessage(channel="C1", text="m5"))
    assert [(r.method, r.scope, r.retry_after) for r in fake_slack.rate_limited] == [
        ("chat.postMessage", "C1", 1),
        ("chat.postMessage", "C1", 1),
    ]
    assert [m.text for m in fake_slack.messages if m.channel == "C1"] == ["m0", "m1", "m2", "m4"]


async def test_chat_update_is_tier_3_for_the_whole_workspace(fake_slack: FakeSlack) -> None:
    """chat.update takes 50 calls at once (Tier 3, 50 a minute), then 429 with Retry-After 2 (a token
    every 1.2 s), whatever the channel; usergroups.users.list (Tier 2) stops after 20."""
    slack = client(fake_slack)
    fake_slack.users_in_group["S1"] = ["U1"]
    posted = [await slack.chat_postMessage(channel=f"C{n}", text="x") for n in range(2)]

    for n in range(50):
        message = posted[n % 2]
        await slack.chat_update(channel=message["channel"], ts=message["ts"], text=f"v{n}")
    limited = await refused(slack.chat_update(channel=posted[1]["channel"], ts=posted[1]["ts"], text="late"))
    for _ in range(20):
        await slack.usergroups_users_list(usergroup="S1")
    group_limited = await refused(slack.usergroups_users_list(usergroup="S1"))

    assert limited.response.status_code == 429
    assert limited.response.headers["retry-after"] == "2"
    assert group_limited.response.headers["retry-after"] == "3"
    assert [(r.method, r.scope) for r in fake_slack.rate_limited] == [
        ("chat.update", "workspace"),
        ("usergroups.users.list", "workspace"),
    ]
    assert fake_slack.messages[1].text == "v49"


async def test_slack_sdk_retry_handler_honours_retry_after_and_gets_through(fake_slack: FakeSlack) -> None:
    """slack-sdk's AsyncRateLimitErrorRetryHandler reads the stand-in's 429 as Slack's: it waits
    Retry-After and its retry is taken (on a running clock: real time passes)."""
    fake_slack.clock.thaw()
    slack = client(fake_slack, retry_handlers=[AsyncRateLimitErrorRetryHandler(max_retry_count=2)])
    for n in range(3):
        await slack.chat_postMessage(channel="C1", text=f"m{n}")

    answer = await slack.chat_postMessage(channel="C1", text="after waiting")

    assert answer["ok"]
    assert len(fake_slack.rate_limited) == 1
    assert [c.status for c in fake_slack.of("chat.postMessage")] == [200, 200, 200, 429, 200]


async def test_rates_are_configurable_per_test(fake_slack: FakeSlack) -> None:
    """A test can set its own limits: a burst of 1, or rates scaled up to make time pass faster."""
    fake_slack.limits = SlackLimits(post_message_per_channel=Rate(per_second=4, burst=1))
    slack = client(fake_slack)

    await slack.chat_postMessage(channel="C1", text="one")
    await refused(slack.chat_postMessage(channel="C1", text="two"))
    fake_slack.clock.advance(0.25)
    assert (await slack.chat_postMessage(channel="C1", text="three"))["ok"]

    faster = SlackLimits().scaled(60)
    assert faster.methods["chat.update"] == Rate(per_second=50, burst=50)
    assert faster.post_message_per_channel == Rate(per_second=60, burst=3)


# ---- size limits -------------------------------------------------------------------------------------

LONG_ID = "i" * 256


@pytest.mark.parametrize(
    ("blocks", "error"),
    [
        ([section("x")] * 51, "invalid_blocks"),
        ([section("x" * 3001)], "invalid_blocks"),
        ([{"type": "header", "text": {"type": "plain_text", "text": "h" * 151}}], "invalid_blocks"),
        ([{"type": "actions", "elements": [button(text="b" * 76)]}], "invalid_blocks"),
        ([{"type": "actions", "elements": [button(value="v" * 2001)]}], "invalid_blocks"),
        ([{"type": "actions", "elements": [button(action_id=LONG_ID)]}], "invalid_blocks"),
        ([{**section("x"), "block_id": LONG_ID}], "invalid_blocks"),
        ([section("")], "invalid_blocks"),
        ([section("y" * 2500)] * 5, "msg_blocks_too_long"),
    ],
    ids=["51-blocks", "section", "header", "button-text", "value", "action_id", "block_id", "empty", "total"],
)
async def test_blocks_over_a_limit_are_refused(fake_slack: FakeSlack, blocks: list[Any], error: str) -> None:
    """Each of Slack's block limits, and the ~12,000-character total, refuses the message with Slack's error
    (for chat.postMessage, chat.update and chat.postEphemeral alike)."""
    slack = client(fake_slack)
    posted = await slack.chat_postMessage(channel="C1", text="ok")

    post = await refused(slack.chat_postMessage(channel="C1", text="t", blocks=blocks))
    update = await refused(slack.chat_update(channel="C1", ts=posted["ts"], text="t", blocks=blocks))
    ephemeral = await refused(slack.chat_postEphemeral(channel="C1", user="U1", text="t", blocks=blocks))

    assert post.response["error"] == update.response["error"] == ephemeral.response["error"] == error
    assert post.response["response_metadata"]["messages"][0].startswith("[ERROR] ")
    assert len(fake_slack.messages) == 1


async def test_blocks_at_every_limit_are_taken(fake_slack: FakeSlack) -> None:
    """A message exactly at each limit (50 blocks, 11,950 characters of text in all) is posted."""
    at_limits = [
        {"type": "header", "text": {"type": "plain_text", "text": "h" * 150}},
        {**section("s" * 3000), "block_id": "b" * 255},
        {"type": "actions", "elements": [button("b" * 75, "v" * 2000, "a" * 255)]},
        *[section("x" * 180)] * 47,
    ]

    answer = await client(fake_slack).chat_postMessage(channel="C1", text="t" * 40_000, blocks=at_limits)

    assert answer["ok"]
    assert len(at_limits) == 50


async def test_message_text_over_40000_is_msg_too_long(fake_slack: FakeSlack) -> None:
    """A message text longer than 40,000 characters is refused with msg_too_long."""
    failure = await refused(client(fake_slack).chat_postMessage(channel="C1", text="t" * 40_001))

    assert failure.response["error"] == "msg_too_long"


# ---- response_url ------------------------------------------------------------------------------------


async def test_response_url_takes_five_posts_then_404_used_url(fake_slack: FakeSlack) -> None:
    """Slack's webhook client (what Bolt's respond() uses) gets 200 "ok" five times, then 404 used_url;
    past 30 minutes a URL answers 404 expired_url; all posts are recorded with their answer."""
    url = fake_slack.response_url("r1", user="U1")
    webhook = AsyncWebhookClient(url)

    answers = [await webhook.send(text=f"post {n}") for n in range(6)]
    fake_slack.clock.advance(30 * 60 + 1)
    late = await AsyncWebhookClient(fake_slack.response_url("r2")).send(text="first")
    fresh = fake_slack.response_url("r3", user="U1")
    fake_slack.clock.advance(30 * 60 + 1)
    expired = await AsyncWebhookClient(fresh).send(text="too late")

    assert [(a.status_code, a.body) for a in answers] == [(200, "ok")] * 5 + [(404, "used_url")]
    assert (late.status_code, expired.status_code, expired.body) == (200, 404, "expired_url")
    assert [p.json["text"] for p in fake_slack.response_posts_seen_by("U1")] == [
        f"post {n}" for n in range(5)
    ]


async def test_response_url_holds_block_limits_but_not_the_total(fake_slack: FakeSlack) -> None:
    """A response_url post is refused (400 invalid_blocks) for a block over its limit, but takes blocks
    adding up to more than 12,000 characters."""
    webhook = AsyncWebhookClient(fake_slack.response_url("r1"))

    too_long_section = await webhook.send(blocks=[section("x" * 3001)])
    big_total = await webhook.send(blocks=[section("y" * 2500)] * 5)

    assert (too_long_section.status_code, too_long_section.body) == (400, "invalid_blocks")
    assert big_total.status_code == 200


# ---- trigger_id --------------------------------------------------------------------------------------

MODAL = {"type": "modal", "title": {"type": "plain_text", "text": "Edit"}, "blocks": [section("hi")]}


async def test_trigger_id_is_valid_three_seconds_and_once(fake_slack: FakeSlack) -> None:
    """views.open takes a minted trigger once (then exchanged_trigger_id); a trigger older than 3 s is
    expired_trigger_id; one Slack never handed out is invalid_trigger_id."""
    slack = client(fake_slack)
    fresh = fake_slack.mint_trigger()

    opened = await slack.views_open(trigger_id=fresh, view=MODAL)
    reused = await refused(slack.views_open(trigger_id=fresh, view=MODAL))
    old = fake_slack.mint_trigger("trig-old")
    fake_slack.clock.advance(3.1)
    expired = await refused(slack.views_open(trigger_id=old, view=MODAL))
    unknown = await refused(slack.views_open(trigger_id="made-up", view=MODAL))

    assert opened["view"]["id"].startswith("V")
    assert reused.response["error"] == "exchanged_trigger_id"
    assert expired.response["error"] == "expired_trigger_id"
    assert unknown.response["error"] == "invalid_trigger_id"


async def test_a_view_over_its_block_limit_is_invalid_arguments(fake_slack: FakeSlack) -> None:
    """views.update with 101 blocks (a modal holds 100) is refused with invalid_arguments."""
    view = {**MODAL, "blocks": [section("x")] * 101}

    failure = await refused(client(fake_slack).views_update(view_id="V1", view=view))

    assert failure.response["error"] == "invalid_arguments"


# ---- channel membership ------------------------------------------------------------------------------


async def test_channel_membership_errors(fake_slack: FakeSlack) -> None:
    """Where the bot was removed: not_in_channel (posts and ephemerals); archived: is_archived; outside
    the channels it is in: channel_not_found; a DM is always open."""
    fake_slack.channels.only("C1", "C2", "C3")
    fake_slack.channels.remove_bot("C2")
    fake_slack.channels.archive("C3")
    slack = client(fake_slack)

    assert (await slack.chat_postMessage(channel="C1", text="hi"))["ok"]
    assert (await slack.chat_postMessage(channel="U7", text="a DM"))["ok"]
    errors = [
        (await refused(slack.chat_postMessage(channel="C2", text="hi"))).response["error"],
        (await refused(slack.chat_postEphemeral(channel="C2", user="U1", text="hi"))).response["error"],
        (await refused(slack.chat_postMessage(channel="C3", text="hi"))).response["error"],
        (await refused(slack.chat_postMessage(channel="C9", text="hi"))).response["error"],
    ]

    assert errors == ["not_in_channel", "not_in_channel", "is_archived", "channel_not_found"]


async def test_chat_update_needs_the_bots_own_existing_message(fake_slack: FakeSlack) -> None:
    """chat.update of a ts Slack never saw is message_not_found, of a person's message
    cant_update_message; an accepted update changes what the channel shows."""
    slack = client(fake_slack)
    fake_slack.add_user_message("C1", "1699999999.000100", user="U1", text="a person's")
    posted = await slack.chat_postMessage(channel="C1", text="before")

    missing = await refused(slack.chat_update(channel="C1", ts="1.000001", text="x"))
    theirs = await refused(slack.chat_update(channel="C1", ts="1699999999.000100", text="x"))
    await slack.chat_update(channel="C1", ts=posted["ts"], text="after")

    assert missing.response["error"] == "message_not_found"
    assert theirs.response["error"] == "cant_update_message"
    assert [(m.text, m.versions) for m in fake_slack.messages] == [("a person's", 1), ("after", 2)]


# ---- ephemerals in threads ---------------------------------------------------------------------------


async def test_ephemeral_in_a_thread_without_replies_is_not_shown(fake_slack: FakeSlack) -> None:
    """chat.postEphemeral with thread_ts answers ok, but while that thread has no replies Slack does not
    show it: seen_by leaves it out. Once the thread has a reply, a new ephemeral there is seen, by its
    recipient only."""
    slack = client(fake_slack)
    fake_slack.add_user_message("C1", "1699999999.000100", user="U1", text="@zapbot help")

    hidden = await slack.chat_postEphemeral(
        channel="C1", user="U1", text="help", thread_ts="1699999999.000100"
    )
    assert hidden["ok"] and hidden["message_ts"]
    assert [e.shown for e in fake_slack.ephemerals] == [False]
    assert "without replies" in fake_slack.ephemerals[0].why_hidden
    assert all(isinstance(item, Message) for item in fake_slack.seen_by("U1", "C1"))

    await slack.chat_postMessage(channel="C1", text="a reply", thread_ts="1699999999.000100")
    await slack.chat_postEphemeral(channel="C1", user="U1", text="now visible", thread_ts="1699999999.000100")
    await slack.chat_postEphemeral(channel="C1", user="U1", text="top level")

    seen = fake_slack.seen_by("U1", "C1")
    assert [e.text for e in seen if isinstance(e, Ephemeral)] == ["now visible", "top level"]
    assert not any(isinstance(item, Ephemeral) for item in fake_slack.seen_by("U2", "C1"))
    assert [m.text for m in fake_slack.thread("C1", "1699999999.000100")] == ["@zapbot help", "a reply"]


# ---- files v2 ----------------------------------------------------------------------------------------


async def test_files_upload_v2_puts_the_file_and_its_content_in_the_thread(fake_slack: FakeSlack) -> None:
    """slack-sdk's files_upload_v2 (getUploadURLExternal, POST of the bytes, completeUploadExternal) works
    against the stand-in; the file lands in the thread with its content."""
    slack = client(fake_slack)
    root = await slack.chat_postMessage(channel="C1", text="preview")
    content = "status: success\n" + "row\n" * 5000

    answer = await slack.files_upload_v2(
        channel="C1", thread_ts=root["ts"], content=content, filename="result.txt", title="Full result"
    )

    file = fake_slack.files[answer["file"]["id"]]
    assert (file.content, file.title, file.channel, file.thread_ts) == (
        content.encode(),
        "Full result",
        "C1",
        root["ts"],
    )
    [reply] = fake_slack.thread("C1", root["ts"])[1:]
    assert reply.files == [file.id]
    [url_call] = fake_slack.of("files.getUploadURLExternal")
    assert url_call.args["length"] == str(len(content.encode()))
    info = await slack.files_info(file=file.id)
    assert info["file"]["name"] == "result.txt"


async def test_complete_upload_without_the_bytes_is_file_not_found(fake_slack: FakeSlack) -> None:
    """files.completeUploadExternal for a file whose bytes never reached its upload URL fails."""
    slack = client(fake_slack)
    url = await slack.files_getUploadURLExternal(filename="a.txt", length=3)

    failure = await refused(
        slack.files_completeUploadExternal(files=[{"id": url["file_id"]}], channel_id="C1")
    )

    assert failure.response["error"] == "file_not_found"
    assert url["upload_url"].startswith("http://127.0.0.1:")


# ---- Socket Mode -------------------------------------------------------------------------------------


async def test_socket_mode_urls_are_single_use_and_a_handshake_can_fail(
    fake_slack: FakeSlack, http_session: aiohttp.ClientSession
) -> None:
    """A URL from apps.connections.open connects once; a second connect with it is refused; a handshake
    made to fail spends its URL too, and a fresh URL then connects. apps.connections.open is Tier 1: after a
    burst of 3, one new URL a minute."""
    app = AsyncWebClient(base_url=fake_slack.api_url)
    token = fake_slack.app_token
    first = (await app.apps_connections_open(app_token=token))["url"]

    async with http_session.ws_connect(first) as ws:
        hello = await ws.receive_json()
        assert hello["type"] == "hello"
    with pytest.raises(aiohttp.WSServerHandshakeError) as again:
        await http_session.ws_connect(first)
    fake_slack.socket.fail_next_handshakes()
    broken = (await app.apps_connections_open(app_token=token))["url"]
    with pytest.raises(aiohttp.WSServerHandshakeError) as failed:
        await http_session.ws_connect(broken)
    with pytest.raises(aiohttp.WSServerHandshakeError):
        await http_session.ws_connect(broken)
    async with http_session.ws_connect((await app.apps_connections_open(app_token=token))["url"]) as ws:
        assert (await ws.receive_json())["type"] == "hello"
    tier_1 = await refused(app.apps_connections_open(app_token=token))
    fake_slack.clock.advance(60)

    assert (await app.apps_connections_open(app_token=token))["ok"]
    assert (again.value.status, failed.value.status, tier_1.response.status_code) == (401, 503, 429)
    assert len(fake_slack.socket.failed_handshakes) == 1
    assert len(fake_slack.socket.refused_tickets) == 2


# ---- tokens ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("error", ["invalid_auth", "token_revoked", "account_inactive"])
async def test_a_revoked_token_fails_every_call_until_restored(fake_slack: FakeSlack, error: str) -> None:
    """auth.test answers the bot's ids; once the token is revoked every call (auth.test included) fails
    with the chosen error; restored, calls succeed again."""
    slack = client(fake_slack)
    assert (await slack.auth_test())["user_id"] == "UBOT"

    fake_slack.revoke_token(error)
    errors = [
        (await refused(slack.auth_test())).response["error"],
        (await refused(slack.chat_postMessage(channel="C1", text="x"))).response["error"],
    ]
    fake_slack.restore_token()

    assert errors == [error, error]
    assert (await slack.chat_postMessage(channel="C1", text="x"))["ok"]


# ---- message metadata, threads read back, lost answers ----------------------------------------------


async def test_conversations_replies_lists_a_thread_with_metadata_only_when_asked(
    fake_slack: FakeSlack,
) -> None:
    """Metadata posted with a message comes back from conversations.replies only with include_all_metadata;
    the thread pages by cursor (root first); malformed metadata is invalid_metadata_format; an unknown
    thread is thread_not_found; without channels:history it is missing_scope."""
    slack = client(fake_slack)
    root = (await slack.chat_postMessage(channel="C1", text="root"))["ts"]
    marker = {"event_type": "zapbot_delivery", "event_payload": {"delivery_id": "i1"}}
    for n in range(3):
        fake_slack.clock.advance(1)  # one post a second in a channel
        await slack.chat_postMessage(
            channel="C1", text=f"r{n}", thread_ts=root, metadata=marker if n == 1 else None
        )
    first = await slack.conversations_replies(channel="C1", ts=root, include_all_metadata=True, limit=2)
    second = await slack.conversations_replies(
        channel="C1",
        ts=root,
        include_all_metadata=True,
        limit=2,
        cursor=first["response_metadata"]["next_cursor"],
    )
    plain = await slack.conversations_replies(channel="C1", ts=root)

    assert [m["text"] for m in [*first["messages"], *second["messages"]]] == ["root", "r0", "r1", "r2"]
    assert first["has_more"] and not second["has_more"]
    assert second["messages"][0]["metadata"] == marker and second["messages"][0]["thread_ts"] == root
    assert all("metadata" not in m for m in plain["messages"])
    bad = {"event_type": "x", "event_payload": "not an object"}
    fake_slack.clock.advance(1)
    malformed = await refused(slack.chat_postMessage(channel="C1", text="x", metadata=bad))
    unknown = await refused(slack.conversations_replies(channel="C1", ts="1.1"))
    fake_slack.scopes.discard("channels:history")
    unscoped = await refused(slack.conversations_replies(channel="C1", ts=root))
    assert malformed.response["error"] == "invalid_metadata_format"
    assert unknown.response["error"] == "thread_not_found"
    assert unscoped.response["error"] == "missing_scope"


async def test_conversations_history_lists_top_level_messages_newest_first_after_oldest(
    fake_slack: FakeSlack,
) -> None:
    """conversations.history as Slack documents it: the channel's top-level messages only (no thread
    replies), newest first, with ts strictly after `oldest` (Slack's clock: Unix time), paged by cursor,
    metadata only with include_all_metadata; a malformed `oldest` is invalid_ts_oldest, another channel's
    messages are not listed, a channel the bot is not in is not_in_channel, and without channels:history
    it is missing_scope."""
    slack = client(fake_slack)
    early = (await slack.chat_postMessage(channel="C1", text="early"))["ts"]
    marker = {"event_type": "zapbot_delivery", "event_payload": {"delivery_id": "preview:p1"}}
    await slack.chat_postMessage(channel="C1", text="reply", thread_ts=early)
    await slack.chat_postMessage(channel="C2", text="elsewhere")
    fake_slack.clock.advance(1)
    await slack.chat_postMessage(channel="C1", text="marked", metadata=marker)
    fake_slack.clock.advance(1)
    await slack.chat_postMessage(channel="C1", text="last")
    assert abs(float(early) - time.time()) < 60  # Slack's ts is its Unix time

    first = await slack.conversations_history(channel="C1", include_all_metadata=True, limit=2)
    rest = await slack.conversations_history(
        channel="C1", include_all_metadata=True, limit=2, cursor=first["response_metadata"]["next_cursor"]
    )
    after = await slack.conversations_history(channel="C1", oldest=early)
    assert [m["text"] for m in [*first["messages"], *rest["messages"]]] == ["last", "marked", "early"]
    assert first["has_more"] and not rest["has_more"] and rest["response_metadata"]["next_cursor"] == ""
    assert first["messages"][1]["metadata"] == marker
    assert [m["text"] for m in after["messages"]] == ["last", "marked"]
    assert all("metadata" not in m for m in after["messages"])
    malformed = await refused(slack.conversations_history(channel="C1", oldest="yesterday"))
    fake_slack.channels.remove_bot("C3")
    outside = await refused(slack.conversations_history(channel="C3"))
    fake_slack.scopes.discard("channels:history")
    unscoped = await refused(slack.conversations_history(channel="C1"))
    assert malformed.response["error"] == "invalid_ts_oldest"
    assert outside.response["error"] == "not_in_channel"
    assert unscoped.response["error"] == "missing_scope"


@pytest.mark.parametrize("how", ["reset", "stall"])
async def test_a_lost_answer_still_posts_the_message(fake_slack: FakeSlack, how: str) -> None:
    """lose_answer: Slack carries the post out, and the caller sees a reset connection or its timeout.
    (Without retry handlers: slack-sdk's default one would post it again after the reset.)"""
    slack = client(fake_slack, timeout=0.3, retry_handlers=[])
    fake_slack.lose_answer("chat.postMessage", how="reset" if how == "reset" else "stall", stall=1.0)
    with pytest.raises((aiohttp.ClientError, TimeoutError)):
        await slack.chat_postMessage(channel="C1", text="landed")
    assert [m.text for m in fake_slack.messages] == ["landed"]
    assert not fake_slack.accepted("chat.postMessage")


# ---- polite mode and the default ---------------------------------------------------------------------


@pytest.mark.polite_slack(reason="this test is about the polite stand-in itself")
async def test_polite_stand_in_takes_everything(fake_slack: FakeSlack) -> None:
    """Marked polite_slack, the stand-in takes what the realistic one refuses: bursts, oversized blocks,
    unknown channels and triggers, a sixth response_url post."""
    slack = client(fake_slack)
    fake_slack.channels.remove_bot("C2")

    for n in range(10):
        await slack.chat_postMessage(channel="C1", text=f"m{n}")
    await slack.chat_postMessage(channel="C1", text="big", blocks=[section("x" * 5000)] * 60)
    await slack.chat_postMessage(channel="C2", text="not a member")
    await slack.views_open(trigger_id="trig-1", view=MODAL)
    await slack.views_open(trigger_id="trig-1", view=MODAL)
    answers = [await AsyncWebhookClient(fake_slack.response_url("r1")).send(text="x") for _ in range(6)]

    assert not fake_slack.realistic
    assert fake_slack.rate_limited == []
    assert [a.status_code for a in answers] == [200] * 6
    assert all(c.ok for c in fake_slack.calls)


async def test_the_default_mode_is_one_switch() -> None:
    """FakeSlack() follows REALISTIC_BY_DEFAULT, which is on: every test meets Slack's limits unless it
    says otherwise; realistic= overrides it either way."""
    assert slack_server.REALISTIC_BY_DEFAULT
    assert FakeSlack().realistic is slack_server.REALISTIC_BY_DEFAULT
    assert FakeSlack(realistic=True).realistic
    assert not FakeSlack(realistic=False).realistic
