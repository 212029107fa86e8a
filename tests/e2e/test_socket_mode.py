"""Socket Mode end to end: the real bot (as `python -m bot` builds it with SLACK_APP_TOKEN set) opens a
WebSocket to FakeSlack's Socket Mode stand-in and runs the same scenarios as over HTTP, acking every
envelope over the socket. Redis and Zapier are the same real Redis and spec-checked stand-in."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
import redis.asyncio
from aiohttp import web

from bot.runtime import build_app
from bot.settings import Settings, ValidationError, describe_settings_error
from bot.slack.socket_mode import SocketModeRefused
from tests.support.bot_server import RunningBot, settings_for
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import assert_valid_blocks, buttons, command_to_preview, text_of
from tests.support.metrics import idle, wait_idle
from tests.support.redis_process import free_port
from tests.support.socket_bot import APP_TOKEN, SocketSender, running_socket_bot, socket_settings

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'


@pytest.fixture
def settings(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str) -> Settings:
    """Socket Mode settings pointing at the stand-ins and the test Redis."""
    return socket_settings(fake_slack, fake_zapier, redis_url)


@pytest.fixture
async def socket_bot(
    settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> AsyncIterator[RunningBot]:
    """The real bot in Socket Mode; ``bot.slack`` delivers requests as envelopes over its socket."""
    async with running_socket_bot(settings, http_session, fake_slack) as running:
        yield running


async def test_the_bot_opens_a_socket_with_its_app_token(
    socket_bot: RunningBot, fake_slack: FakeSlack
) -> None:
    """At start the bot calls apps.connections.open with the xapp token and connects to the URL it got."""
    [opened] = fake_slack.of("apps.connections.open")
    assert opened.headers["authorization"] == f"Bearer {APP_TOKEN}"
    [connection] = fake_slack.socket.open_connections
    assert opened.answer["url"].endswith(f"ticket={connection.ticket}&app_id=A0ZAPBOT")
    assert fake_slack.socket.refused_tickets == []


async def test_command_preview_confirm_result_over_the_socket(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """/zap is acked with the caller's note as the ack payload; the preview, the Confirm click (acked) and
    the result in the thread happen exactly as over HTTP."""
    response = await socket_bot.slack.command(COMMAND, user="U1", channel="C1")
    ack = await fake_slack.socket.wait_for_ack(response.headers["x-envelope-id"])
    assert ack.has_payload and "preview" in ack.payload["text"].lower()
    assert response.json() == ack.payload
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C1" and set(buttons(post)) == {"zap_confirm", "zap_cancel", "zap_edit"}
    assert_valid_blocks(post.args["blocks"])
    preview_id, ts = buttons(post)["zap_cancel"], str(post.answer["ts"])

    click = await socket_bot.slack.block_action("zap_confirm", preview_id, user="U2", message_ts=ts)
    assert click.status == 200 and click.text == ""  # a click's ack carries no payload
    [run] = await fake_zapier.wait_for("execute")
    assert run.query.get("skip_param_guessing") == "true"
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == ts and "success" in text_of(posts[1])
    updates = await fake_slack.wait_for("chat.update", 2)
    assert "Confirmed by <@U2>" in text_of(updates[-1]) and buttons(updates[-1]) == {}
    stored = await redis_client.hgetall(f"zapbot:preview:{preview_id}")
    assert stored["state"] == "succeeded" and stored["decided_by"] == "U2"
    envelope_ids = [e for c in fake_slack.socket.connections for e in c.envelopes]
    assert sorted(a.envelope_id for a in fake_slack.socket.acks) == sorted(envelope_ids)


async def test_cancel_over_the_socket_runs_nothing(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Cancel, clicked over the socket, closes the preview and runs nothing."""
    previewed = await command_to_preview(socket_bot, fake_slack, COMMAND)
    await socket_bot.slack.block_action("zap_cancel", previewed.preview_id, message_ts=previewed.ts)
    [update] = await fake_slack.wait_for("chat.update")
    assert "Cancelled by <@U1>" in text_of(update) and buttons(update) == {}
    assert fake_zapier.of("execute") == []


async def test_a_mention_over_the_socket_previews_in_its_thread(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """An app_mention envelope is acked and previews as a reply in the mention's thread; confirm works."""
    response = await socket_bot.slack.mention(
        "SlackAPI channel_message say hi", ts="1700000100.000001", channel="C7"
    )
    assert response.status == 200
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C7" and post.args["thread_ts"] == "1700000100.000001"
    [request] = await fake_zapier.wait_for("preview")
    assert request.json["instructions"] == "say hi"
    await socket_bot.slack.block_action(
        "zap_confirm", buttons(post)["zap_confirm"], channel="C7", message_ts=post.answer["ts"]
    )
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert posts[1].args["thread_ts"] == "1700000100.000001"


async def test_a_redelivered_event_is_acked_and_handled_once(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Slack re-sends an event (retry_attempt 1, 'timeout') with the same event_id: both are acked, one
    preview is made."""
    first = await socket_bot.slack.mention("SlackAPI channel_message hi", event_id="EvSOCKET1")
    again = await socket_bot.slack.mention(
        "SlackAPI channel_message hi", event_id="EvSOCKET1", retry_num=1, retry_reason="timeout"
    )
    assert first.status == again.status == 200
    redelivery = fake_slack.socket.received[-1]
    assert redelivery["envelope_id"] == again.headers["x-envelope-id"]
    await fake_slack.wait_for("chat.postMessage")
    await idle(socket_bot)  # both envelopes are acked: a second preview would be in flight
    assert len(fake_zapier.of("preview")) == 1
    assert len(fake_slack.of("chat.postMessage")) == 1


async def test_a_redelivery_to_another_replica_is_handled_once(
    settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Two replicas, one socket each, one Redis: an event first sent to one and re-sent to the other
    makes one preview; a preview made through one is confirmed through the other."""
    async with (
        running_socket_bot(settings, http_session, fake_slack) as first,
        running_socket_bot(settings, http_session, fake_slack) as second,
    ):
        one, other = fake_slack.socket.open_connections
        to_one = SocketSender(http_session, fake_slack.socket, fake_slack.response_url_base, one)
        to_other = SocketSender(http_session, fake_slack.socket, fake_slack.response_url_base, other)
        await to_one.mention("SlackAPI channel_message hi", event_id="EvSOCKET2")
        await to_other.mention(
            "SlackAPI channel_message hi", event_id="EvSOCKET2", retry_num=1, retry_reason="timeout"
        )
        [post] = await fake_slack.wait_for("chat.postMessage")
        await wait_idle(http_session, first.url, second.url)  # a second preview would be in flight
        assert len(fake_zapier.of("preview")) == 1
        clicks = [
            sender.block_action("zap_confirm", buttons(post)["zap_confirm"], message_ts=post.answer["ts"])
            for sender in (to_one, to_other, to_one, to_other)
        ]
        await asyncio.gather(*clicks)
        await fake_slack.wait_for("chat.postMessage", 2)
        told = await fake_slack.wait_for_response_posts(3)
        assert all("already confirmed" in text_of(t.json) for t in told)
        assert len(fake_zapier.of("execute")) == 1
        assert {a.connection for a in fake_slack.socket.acks} == {one.index, other.index}


async def test_reactions_over_the_socket_are_acked(socket_bot: RunningBot, fake_slack: FakeSlack) -> None:
    """reaction_added/removed envelopes are acked, so Slack does not re-send them."""
    added = await socket_bot.slack.reaction("+1", ts="1700000000.000100")
    removed = await socket_bot.slack.reaction("+1", added=False, ts="1700000000.000100")
    assert added.status == removed.status == 200
    assert len(fake_slack.socket.acks) == 2


async def test_a_command_mentioning_payload_works_over_the_socket(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Free text containing 'payload' is a command like any other in Socket Mode too."""
    await socket_bot.slack.command("SlackAPI channel_message show me the payload of the last webhook")
    [request] = await fake_zapier.wait_for("preview")
    assert request.json["instructions"] == "show me the payload of the last webhook"


async def test_probes_are_served_and_there_is_no_http_events_endpoint(
    socket_bot: RunningBot, http_session: aiohttp.ClientSession
) -> None:
    """In Socket Mode HOST:PORT serves /healthz, and POST /slack/events does not exist (no public URL)."""
    async with http_session.get(socket_bot.url + "/healthz") as health:
        assert health.status == 200
    async with http_session.post(socket_bot.url + "/slack/events", data=b"{}") as events:
        assert events.status == 404


async def test_when_slack_asks_the_bot_moves_to_a_new_connection(
    socket_bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A `disconnect` (refresh_requested) makes the bot open a new URL and connect; work goes on there."""
    [old] = fake_slack.socket.open_connections
    await fake_slack.socket.disconnect(old)
    await fake_slack.wait_for("apps.connections.open", 2)
    await fake_slack.socket.wait_connected()
    await wait_until(lambda: [c for c in [old] if not c.open], 1, 5.0, lambda: "old socket still open")
    [new] = fake_slack.socket.open_connections
    assert new.index == old.index + 1
    previewed = await command_to_preview(socket_bot, fake_slack, COMMAND)
    assert fake_slack.socket.acks[-1].connection == new.index
    assert previewed.preview_id


async def test_stopping_closes_the_socket_first_and_finishes_a_confirmed_run(
    settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """On shutdown the bot leaves the socket at once (Slack sends new envelopes to other connections)
    while a run already confirmed still completes and its result is posted."""

    async def socket_open_when_the_result_is_posted() -> bool:
        await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        return connection.open

    async with running_socket_bot(settings, http_session, fake_slack) as running:
        previewed = await command_to_preview(running, fake_slack, COMMAND)
        [connection] = fake_slack.socket.open_connections
        fake_zapier.latency = 1.0  # the run is still at Zapier when the bot is told to stop
        await running.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
        await fake_zapier.wait_for("execute")
        watcher = asyncio.create_task(socket_open_when_the_result_is_posted())
    assert await watcher is False  # the socket was closed before the drained run posted its result
    posts = fake_slack.of("chat.postMessage")
    assert len(posts) == 2 and posts[1].args["thread_ts"] == previewed.ts and "success" in text_of(posts[1])


async def test_a_refused_app_token_stops_start_up_with_a_clear_message(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str
) -> None:
    """A token Slack refuses fails the start with one message naming SLACK_APP_TOKEN, not a retry loop."""
    wrong = socket_settings(fake_slack, fake_zapier, redis_url, slack_app_token="xapp-revoked")
    with pytest.raises(SocketModeRefused) as refused:
        await build_app(wrong)
    message = str(refused.value)
    assert "SLACK_APP_TOKEN" in message and "invalid_auth" in message and "xapp-revoked" not in message
    assert fake_slack.socket.connections == []


async def test_slack_out_of_reach_at_start_does_not_stop_the_bot(
    settings: Settings, http_session: aiohttp.ClientSession
) -> None:
    """When Slack cannot be reached at start, the bot starts anyway (its client keeps trying in the
    background), the probes answer, and it stops cleanly."""
    unreachable = settings.model_copy(update={"slack_api_url": f"http://127.0.0.1:{free_port()}/api/"})
    app = await build_app(unreachable)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        url = f"http://127.0.0.1:{runner.addresses[0][1]}"
        async with http_session.get(url + "/healthz") as health:
            assert health.status == 200
    finally:
        await runner.cleanup()


def test_socket_mode_needs_no_signing_secret_but_http_mode_does(
    fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """SLACK_APP_TOKEN alone is enough; with neither it nor a signing secret, the signing secret is reported
    missing like any required setting (blank counts as unset); a token that is not xapp- is refused."""
    redis_url = "redis://127.0.0.1:1/0"
    assert socket_settings(fake_slack, fake_zapier, redis_url).socket_mode
    assert socket_settings(fake_slack, fake_zapier, redis_url, slack_signing_secret="  ").socket_mode
    assert not settings_for(fake_slack, fake_zapier, redis_url).socket_mode
    for blank in (None, "   "):
        with pytest.raises(ValidationError) as neither:
            settings_for(fake_slack, fake_zapier, redis_url, slack_signing_secret=blank)
        [error] = neither.value.errors()
        assert error["type"] == "missing" and "SLACK_APP_TOKEN" in error["msg"]
        assert (
            describe_settings_error(neither.value) == "Configuration error: SLACK_SIGNING_SECRET is not set"
        )
    with pytest.raises(ValidationError) as bot_token:
        socket_settings(fake_slack, fake_zapier, redis_url, slack_app_token="xoxb-123")
    told = describe_settings_error(bot_token.value)
    assert told.startswith("Configuration error: SLACK_APP_TOKEN must be an app-level token")
    assert "xoxb-123" not in told
