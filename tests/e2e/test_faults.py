"""Faults injected at every boundary: Zapier, the Slack Web API, Redis. The action's state stays right,
the user is told in words they can act on, and nothing runs twice or without a confirm."""

from __future__ import annotations

import aiohttp
import pytest

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import Drop, FakeZapier, Reply
from tests.support.helpers import buttons, command_to_preview, text_of
from tests.support.metrics import idle
from tests.support.redis_process import RedisProcess, free_port

COMMAND = "SlackAPI channel_message channel=C1 Post the weekly numbers"
PREVIEW = {
    "execution_log_id": "01HPREVIEW",
    "action_used": "Send Channel Message",
    "input_params": {},
    "resolved_params": {"channel": "C1", "text": "numbers"},
    "status": "preview",
    "results": [],
}


async def _told(slack: FakeSlack, count: int = 1) -> str:
    posts = await slack.wait_for_response_posts(count)
    return "\n".join(text_of(p.json) for p in posts)


@pytest.mark.parametrize(
    ("replies", "expected", "attempts"),
    [
        ([Reply(status=503, json={"error": "busy"}, off_spec=True)] * 3, "internal error (HTTP 503)", 3),
        (
            [Reply(status=429, json={"error": "slow down"}, headers={"Retry-After": "0"}, off_spec=True)] * 3,
            "rate-limiting",
            3,
        ),
        ([Drop()] * 3, "could not be reached", 3),
        ([Reply(body=b"<html>oops</html>", off_spec=True)], "could not be read", 1),
        ([Reply(json={"status": "preview"}, off_spec=True)], "could not be read", 1),
        (
            [Reply(status=401, json={"error": "Invalid API key."}, off_spec=True)],
            "rejected zapbot's API key",
            1,
        ),
        (
            [Reply(status=400, json={"error": "Bad app", "detail": "No app SlackAPI"})],
            "Bad app (No app SlackAPI)",
            1,
        ),
    ],
    ids=["5xx", "429", "reset", "non-json", "off-spec", "401", "400-with-detail"],
)
async def test_zapier_faults_on_a_preview_tell_the_caller_nothing_was_run(  # noqa: PLR0917
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    replies: list[Reply | Drop],
    expected: str,
    attempts: int,
) -> None:
    """Each Zapier fault on a preview gives a clear private message; previews are retried, then given up."""
    fake_zapier.script("preview", *replies)
    await bot.slack.command(COMMAND)
    told = await _told(fake_slack)
    assert expected in told and "Nothing was run" in told, told
    assert len(fake_zapier.of("preview")) == attempts
    assert fake_slack.of("chat.postMessage") == []
    assert fake_zapier.of("execute") == []


async def test_a_preview_retry_that_succeeds_posts_the_preview(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A 503 then a 429 with Retry-After, then a good answer: the preview is posted as if nothing happened."""
    fake_zapier.script(
        "preview",
        Reply(status=503, json={"error": "busy"}, off_spec=True),
        Reply(status=429, json={"error": "slow"}, headers={"Retry-After": "0"}, off_spec=True),
    )
    await bot.slack.command(COMMAND)
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert "zap_confirm" in buttons(post)
    assert len(fake_zapier.of("preview")) == 3


async def test_zapier_unreachable_is_explained(
    bot_settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> None:
    """Connection refused (nothing listening at ZAPIER_BASE_URL) is explained, and nothing was run."""
    settings = bot_settings.model_copy(update={"zapier_base_url": f"http://127.0.0.1:{free_port()}"})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        await bot.slack.command(COMMAND)
        told = await _told(fake_slack)
    assert "could not be reached" in told and "Nothing was run" in told


@pytest.mark.parametrize(
    ("reply", "expected"),
    [
        (Reply(status=502, json={"error": "bad gateway"}, off_spec=True), "outcome is unknown"),
        (Drop(), "outcome is unknown"),
        (Reply(body=b"not json", off_spec=True), "outcome is unknown"),
        (
            Reply(status=429, json={"error": "slow"}, headers={"Retry-After": "0"}, off_spec=True),
            "outcome is unknown",
        ),
        (Reply(status=422, json={"error": "Channel is archived"}), "Channel is archived"),
    ],
    ids=["5xx", "reset", "non-json", "429", "422"],
)
async def test_a_confirmed_run_is_never_retried(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, reply: Reply | Drop, expected: str
) -> None:
    """Whatever goes wrong with a confirmed write, it is sent once and the thread hears what is known."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_zapier.script("execute", reply)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert expected in text_of(posts[1]) and posts[1].args["thread_ts"] == previewed.ts
    await idle(bot)
    assert len(fake_zapier.of("execute")) == 1


async def test_a_run_whose_status_is_error_shows_zapiers_error(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A 200 with status `error` is a failure, shown with Zapier's own error text."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_zapier.script(
        "execute",
        Reply(json={**PREVIEW, "status": "error", "error": "The channel does not exist", "results": []}),
    )
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    shown = text_of(posts[1])
    assert "failed" in shown and "The channel does not exist" in shown


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        ("not_in_channel", "/invite @zapbot"),
        ("channel_not_found", "can't post in this conversation"),
        ("is_archived", "archived"),
    ],
)
async def test_slack_refusing_the_preview_tells_only_the_caller_how_to_fix_it(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, error: str, expected: str
) -> None:
    """When Slack will not post the preview, the caller alone hears why and how to fix it; nothing runs."""
    fake_slack.fail("chat.postMessage", error)
    await bot.slack.command(COMMAND)
    [post] = await fake_slack.wait_for_response_posts(1)
    assert post.json["response_type"] == "ephemeral"
    assert expected in text_of(post.json) and "Nothing was run" in text_of(post.json)
    assert fake_zapier.of("execute") == []


async def test_slack_rate_limits_are_honoured_and_the_post_goes_through(
    bot: RunningBot, fake_slack: FakeSlack
) -> None:
    """A 429 from chat.postMessage is retried after Retry-After, and the preview is posted."""
    fake_slack.rate_limit("chat.postMessage", retry_after=1)
    await bot.slack.command(COMMAND)
    posts = await fake_slack.wait_for("chat.postMessage", 2, timeout=8.0)
    assert "zap_confirm" in buttons(posts[1])


async def test_a_result_too_long_for_slack_still_reaches_the_thread(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """msg_too_long on the result: a short outcome reaches the thread instead, with the run's status, the
    run's own execution_log_id (not the preview's), and the full result one click away."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_slack.fail("chat.postMessage", "msg_too_long")
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 3)
    short = text_of(posts[2])
    assert "too big to show here" in short and "`success`" in short
    assert "01HLOG000002" in short and "01HLOG000001" not in short  # the run's log id, not the preview's
    assert "zap_full_result" in buttons(posts[2]) and posts[2].args["thread_ts"] == previewed.ts
    assert len(fake_zapier.of("execute")) == 1


async def test_a_failed_preview_update_does_not_change_what_ran(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """If Slack refuses to update the preview message, the action still runs once and its result is posted."""
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_slack.fail("chat.update", "cant_update_message", times=5)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    assert "success" in text_of(posts[1])
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts, user="U7")
    told = await _told(fake_slack)
    assert "already confirmed" in told
    assert len(fake_zapier.of("execute")) == 1


async def test_a_redelivered_mention_is_handled_once(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Slack re-delivering an event (X-Slack-Retry-Num) does not make a second preview."""
    for retry in (None, 1, 2):
        response = await bot.slack.mention(
            "SlackAPI channel_message hi",
            ts="1700000200.000001",
            event_id="EvSAME",
            retry_num=retry,
            retry_reason="http_timeout" if retry else None,
        )
        assert response.status == 200
    await fake_slack.wait_for("chat.postMessage")
    await idle(bot)
    assert len(fake_zapier.of("preview")) == 1
    assert len(fake_slack.of("chat.postMessage")) == 1


async def test_an_oversized_body_is_refused_before_any_work(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A request body over the bound is answered 413 without reaching a handler."""
    response = await bot.slack.command("SlackAPI channel_message " + "x" * 300_000)
    assert response.status == 413
    assert fake_zapier.requests == []


async def test_a_bound_on_background_work_refuses_clearly(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """Past MAX_BACKGROUND_TASKS in flight, a command is refused at once with a clear message, not queued."""
    settings = bot_settings.model_copy(update={"max_background_tasks": 1})
    fake_zapier.latency = 0.5
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        first = await bot.slack.command(COMMAND)
        second = await bot.slack.command(COMMAND)
        assert "Asking Zapier" in first.text
        assert "very busy" in second.json()["text"] and "Nothing was run" in second.json()["text"]
        await fake_slack.wait_for("chat.postMessage")


async def test_redis_outage_is_reported_and_the_bot_recovers_by_itself(
    tmp_path: object, fake_slack: FakeSlack, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """Redis down: /healthz is 503 and a command hears 'temporarily unavailable, nothing was run';
    Redis back on the same address: the same bot process serves normally, with no restart."""
    from pathlib import Path

    from tests.support.bot_server import settings_for

    server = RedisProcess(Path(str(tmp_path)))
    url = server.start()
    try:
        settings = settings_for(fake_slack, fake_zapier, url)
        async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
            async with http_session.get(bot.url + "/healthz") as healthy:
                assert healthy.status == 200
            server.stop()
            async with http_session.get(bot.url + "/healthz") as down:
                assert down.status == 503 and "Redis" in await down.text()
            await bot.slack.command(COMMAND)
            told = await _told(fake_slack)
            assert "temporarily unavailable" in told and "Nothing was run" in told
            assert fake_zapier.of("preview") == []
            server.start(port=server.port)
            async with http_session.get(bot.url + "/healthz") as back:
                assert back.status == 200
            previewed = await command_to_preview(bot, fake_slack, COMMAND)
            await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
            posts = await fake_slack.wait_for("chat.postMessage", 2)
            assert "success" in text_of(posts[1])
    finally:
        server.stop()
