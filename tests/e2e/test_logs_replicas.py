"""Logs: JSON lines or text, a request id that follows a command from preview to confirm to result (across
two bot processes sharing one Redis), and no secret in any line."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp

from bot.settings import Settings
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import buttons
from tests.support.processes import clean_env, python_bot
from tests.support.redis_process import free_port
from tests.support.slack_requests import SlackSender

COMMAND = 'SlackAPI channel_message channel~="#general" Send a joke about pirates'


@asynccontextmanager
async def bot_process(settings: Settings, log: Path) -> AsyncIterator[str]:
    """`python -m bot` with JSON logs into `log`; yields its URL once /healthz answers; SIGTERM at the end."""
    port = free_port()
    env = clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=settings.slack_api_url,
        ZAPIER_API_KEY=ZAPIER_KEY,
        ZAPIER_BASE_URL=settings.zapier_base_url,
        REDIS_URL=settings.redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        LOG_FORMAT="json",
    )
    with log.open("w") as sink:
        process = await asyncio.create_subprocess_exec(
            *python_bot(), env=env, cwd=log.parent, stdin=asyncio.subprocess.DEVNULL, stdout=sink, stderr=sink
        )
    url = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as http:
            for _ in range(600):
                try:
                    async with http.get(url + "/healthz") as response:
                        if response.status == 200:
                            break
                except aiohttp.ClientConnectionError:
                    pass
                assert process.returncode is None, f"the bot exited: see {log}"
                await asyncio.sleep(0.05)
            else:
                raise AssertionError(f"the bot did not answer /healthz in 30 s: see {log}")
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
        try:
            async with asyncio.timeout(30):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()


def read_lines(log: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in log.read_text().splitlines()]  # each line must be JSON


async def test_two_replicas_log_one_request_id_from_command_to_result_and_never_a_secret(
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_url: str,
    http_session: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """A command previewed by one process and confirmed through another is logged, as JSON lines, under
    one request id in both; the full run, a failure included, never writes a token, secret or key."""
    settings = settings_for(fake_slack, fake_zapier, redis_url)
    log_a, log_b = tmp_path / "a.log", tmp_path / "b.log"
    async with bot_process(settings, log_a) as url_a, bot_process(settings, log_b) as url_b:
        base = fake_slack.response_url_base
        to_a = SlackSender(http_session, url_a + "/slack/events", SIGNING_SECRET, base)
        to_b = SlackSender(http_session, url_b + "/slack/events", SIGNING_SECRET, base)
        assert (await to_a.command(COMMAND)).status == 200
        [preview_post] = await fake_slack.wait_for("chat.postMessage", 1, timeout=15)
        preview_id = buttons(preview_post)["zap_cancel"]
        response = await to_b.block_action(
            "zap_confirm",
            buttons(preview_post)["zap_confirm"],
            user="U2",
            message_ts=str(preview_post.answer["ts"]),
        )
        assert response.status == 200
        await fake_slack.wait_for("chat.postMessage", 2, timeout=15)
        await fake_slack.wait_for("chat.update", 2, timeout=15)
        fake_zapier.script("preview", Reply(401, {"error": "Invalid API key."}, off_spec=True))
        assert (await to_a.command(COMMAND)).status == 200  # a failure path logs too
        [told] = await fake_slack.wait_for_response_posts(1, timeout=15)
        assert "rejected" in json.dumps(told.json)
    lines_a, lines_b = read_lines(log_a), read_lines(log_b)
    fields = {"time", "level", "logger", "message", "request_id"}
    assert all(fields <= set(line) for line in lines_a + lines_b)
    [made] = [line for line in lines_a if line["message"].startswith(f"preview {preview_id}:")]
    request_id = made["request_id"]
    assert request_id != "-"
    assert made["message"].endswith(" for U1 in C1")  # who asked, where: the request's own line is DEBUG
    confirmed = [line for line in lines_b if line["message"].startswith(f"confirm of preview {preview_id}")]
    ran = [line for line in lines_b if line["message"].startswith(f"run of preview {preview_id}: success")]
    assert len(confirmed) == 1 and len(ran) == 1
    assert confirmed[0]["request_id"] == request_id == ran[0]["request_id"]
    assert any(line["level"] == "WARNING" and "ZapierAuthError" in line["message"] for line in lines_a)
    everything = log_a.read_text() + log_b.read_text()
    for secret in (BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY):
        assert secret not in everything
