"""GET /healthz, /readyz and /metrics on the real bot, through its HTTP server, with real Redis and the
stand-ins; metrics are read back with prometheus-client's own parser."""

from __future__ import annotations

import aiohttp
from pydantic import SecretStr

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import command_to_preview
from tests.support.metrics import idle, scrape, value
from tests.support.redis_process import free_port

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates'


async def get_json(http: aiohttp.ClientSession, url: str) -> tuple[int, dict[str, object]]:
    async with http.get(url) as response:
        return response.status, await response.json()


async def test_metrics_count_a_command_through_preview_confirm_and_run(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """One command, its preview, a confirm and the run show up in each counter and latency histogram."""
    await bot.slack.command("help")
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, user="U2", message_ts=previewed.ts)
    await fake_slack.wait_for("chat.postMessage", 2)
    await fake_slack.wait_for("chat.update", 2)
    samples = await scrape(bot)
    assert value(samples, "zapbot_commands_total", kind="run") == 1
    assert value(samples, "zapbot_commands_total", kind="help") == 1
    assert value(samples, "zapbot_previews_total", outcome="ok") == 1
    assert value(samples, "zapbot_confirmations_total", decision="confirm", outcome="claimed") == 1
    assert value(samples, "zapbot_executions_total", status="success") == 1
    assert value(samples, "zapbot_zapier_request_seconds_count", operation="preview") == 1
    assert value(samples, "zapbot_zapier_request_seconds_count", operation="execute") == 1
    assert value(samples, "zapbot_slack_request_seconds_count", method="chat.postMessage") == 2
    assert value(samples, "zapbot_slack_request_seconds_count", method="chat.update") >= 2
    assert value(samples, "zapbot_ratings_total", vote="up", change="added") == 0  # defined, not yet counted
    assert ("zapbot_background_tasks_in_flight", frozenset()) in samples
    assert not any(name.startswith("zapbot_") and "error" in name and v for (name, _), v in samples.items())


async def test_metrics_count_zapier_and_slack_failures(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Each failed Zapier attempt and each refused Slack call is counted with its cause; so are the
    failed preview and the private reply sent through the response_url."""
    fake_zapier.script("preview", *[Reply(500, {"error": "Internal error"}, off_spec=True) for _ in range(3)])
    await bot.slack.command(COMMAND)
    await fake_slack.wait_for_response_posts(1)
    fake_slack.fail("chat.postMessage", "not_in_channel")
    await bot.slack.command(COMMAND)
    await fake_slack.wait_for_response_posts(2)
    samples = await scrape(bot)
    assert value(samples, "zapbot_zapier_errors_total", operation="preview", error="http_500") == 3
    assert value(samples, "zapbot_previews_total", outcome="failed") == 1
    assert value(samples, "zapbot_previews_total", outcome="ok") == 1
    assert value(samples, "zapbot_slack_errors_total", method="chat.postMessage", error="not_in_channel") == 1
    assert value(samples, "zapbot_slack_request_seconds_count", method="response_url") == 2


async def test_the_tasks_gauge_follows_work_in_flight(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """While a preview waits on Zapier the gauge reads 1; once that work ends it reads 0 again."""
    fake_zapier.script("preview", Reply(json={}, delay=60))  # never answered: the test stops the fake
    await bot.slack.command(COMMAND)
    await fake_zapier.wait_for("preview")
    assert value(await scrape(bot), "zapbot_background_tasks_in_flight") == 1
    await fake_zapier.stop()  # the pending request fails, retries find nobody: the task ends
    await fake_slack.wait_for_response_posts(1)
    await idle(bot, seconds=5.0)  # the gauge falls back to 0


async def test_two_apps_in_one_process_count_separately(
    bot: RunningBot, bot_settings: Settings, fake_slack: FakeSlack, http_session: aiohttp.ClientSession
) -> None:
    """Each app has its own registry: a command to one is not counted by the other (and nothing clashes)."""
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as other:
        await other.slack.command("help")
        assert value(await scrape(other), "zapbot_commands_total", kind="help") == 1
        assert value(await scrape(bot), "zapbot_commands_total", kind="help") == 0


async def test_readyz_is_ready_and_keeps_the_zapier_verdict(
    bot: RunningBot, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """/readyz answers 200 when Redis answers and Zapier accepts the key; probes within the cache time
    do not call Zapier again. /healthz answers 200 as before."""
    for _ in range(3):
        status, body = await get_json(http_session, bot.url + "/readyz")
        assert (status, body) == (200, {"status": "ready", "redis": "ok", "zapier": "ok", "slack": "ok"})
    [check] = fake_zapier.of("auth_check")
    assert check.headers["x-api-key"] == "test-zapier-key"
    status, body = await get_json(http_session, bot.url + "/healthz")
    assert status == 200 and body["status"] == "ok"


async def test_readyz_names_a_rejected_key_and_rechecks_after_the_cache_time(
    bot_settings: Settings,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    http_session: aiohttp.ClientSession,
) -> None:
    """A rejected key makes /readyz 503 naming Zapier (never the key), while /healthz stays 200; with no
    cache time every probe asks Zapier again."""
    settings = bot_settings.model_copy(update={"readiness_cache_seconds": 0.0})
    settings.zapier_api_key = SecretStr("wrong-key-123")
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        for _ in range(2):
            status, body = await get_json(http_session, bot.url + "/readyz")
            assert status == 503
            assert body["failing"] == ["zapier"] and body["redis"] == "ok"
            assert "rejected the API key (HTTP 401)" in str(body["zapier"])
            assert "wrong-key-123" not in str(body)
        status, _ = await get_json(http_session, bot.url + "/healthz")
        assert status == 200
    assert len(fake_zapier.of("auth_check")) == 2


async def test_readyz_and_healthz_name_redis_when_it_does_not_answer(
    bot_settings: Settings,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    http_session: aiohttp.ClientSession,
) -> None:
    """With Redis gone, /healthz and /readyz both answer 503 and say it is Redis."""
    settings = bot_settings.model_copy(update={"redis_url": f"redis://127.0.0.1:{free_port()}/0"})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        status, body = await get_json(http_session, bot.url + "/readyz")
        assert status == 503 and body["failing"] == ["redis"] and body["zapier"] == "ok"
        assert "Redis did not answer" in str(body["redis"])
        status, body = await get_json(http_session, bot.url + "/healthz")
        assert status == 503 and "Redis" in str(body["redis"])


async def test_readyz_says_when_zapier_cannot_be_reached(
    bot: RunningBot, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """With Zapier unreachable, /readyz answers 503 naming Zapier and why."""
    await fake_zapier.stop()
    status, body = await get_json(http_session, bot.url + "/readyz")
    assert status == 503 and body["failing"] == ["zapier"]
    assert body["zapier"] == "Zapier could not be reached"
