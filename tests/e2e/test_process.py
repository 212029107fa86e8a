"""`python -m bot` as a real process: start-up errors, graceful SIGTERM, and no secret anywhere."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
import pytest

from bot.settings import Settings
from bot.store import Store, connect
from bot.zapier.client import ZapierClient, new_http_client
from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY, RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import command_to_preview, text_of
from tests.support.redis_process import free_port
from tests.support.slack_requests import SlackSender

REPO = Path(__file__).resolve().parents[2]
SECRETS = (BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY)


def _clean_env(**extra: str) -> dict[str, str]:
    keep = {
        k: v for k, v in os.environ.items() if not k.startswith(("SLACK_", "ZAPIER_", "REDIS_", "PREVIEW_"))
    }
    keep.pop("HTTP_PROXY", None)
    keep.pop("HTTPS_PROXY", None)
    return {**keep, **extra}


def test_missing_settings_stop_startup_with_one_line(tmp_path: Path) -> None:
    """With no settings, start-up stops with exit code 2 and one line naming every missing variable."""
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        check=False,
        cwd=tmp_path,
        env=_clean_env(),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ZAPIER_API_KEY"):
        assert name in lines[0]
    assert "Traceback" not in done.stderr


def test_a_malformed_setting_is_named_without_echoing_secrets(tmp_path: Path) -> None:
    """A malformed value is named (exit 2), and no secret value appears in the message."""
    env = _clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET="   ",
        ZAPIER_API_KEY=ZAPIER_KEY,
        PREVIEW_TTL_SECONDS="soon",
    )
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        check=False,
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 2
    assert "PREVIEW_TTL_SECONDS" in done.stderr and "SLACK_SIGNING_SECRET" in done.stderr
    assert not any(secret in done.stderr for secret in SECRETS)


async def _wait_healthy(http: aiohttp.ClientSession, url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else b""
        try:
            async with http.get(url + "/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise AssertionError("the bot did not become healthy")


async def test_sigterm_finishes_work_in_flight_and_exits_zero(
    tmp_path: Path,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_url: str,
    http_session: aiohttp.ClientSession,
) -> None:
    """SIGTERM during a preview: the preview in flight is still posted, then exit code 0, promptly."""
    port = free_port()
    env = _clean_env(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=fake_slack.api_url,
        ZAPIER_API_KEY=ZAPIER_KEY,
        ZAPIER_BASE_URL=fake_zapier.url,
        REDIS_URL=redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
    )
    process = subprocess.Popen(  # noqa: ASYNC220 - a child we wait for with a bounded poll below
        [sys.executable, "-m", "bot"], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        url = f"http://127.0.0.1:{port}"
        await _wait_healthy(http_session, url, process)
        fake_zapier.latency = 1.0
        sender = SlackSender(
            http_session, url + "/slack/events", SIGNING_SECRET, fake_slack.response_url_base
        )
        response = await sender.command("SlackAPI channel_message say hi")
        assert response.status == 200
        await fake_zapier.wait_for("preview")
        started = time.monotonic()
        process.send_signal(signal.SIGTERM)
        await asyncio.to_thread(process.wait, 30)
        assert process.returncode == 0
        assert time.monotonic() - started < 30
        [post] = fake_slack.of("chat.postMessage")
        assert "zap_confirm" in text_of(post)
        stderr = process.stderr.read().decode() if process.stderr else ""
        assert "Traceback" not in stderr
        assert not any(secret in stderr for secret in SECRETS)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream:
                stream.close()


async def test_no_secret_in_logs_messages_or_reprs(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """A full run logged at DEBUG, every message posted, and the reprs of settings and clients: no secret."""
    caplog.set_level(logging.DEBUG)
    previewed = await command_to_preview(bot, fake_slack, "SlackAPI channel_message say hi")
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    await fake_slack.wait_for("chat.postMessage", 2)
    await bot.slack.command("SlackAPI")  # a usage error too
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert "chat.postMessage" in logged or "preview" in logged  # the capture did see the run
    posted = "\n".join(str(call.args) for call in fake_slack.calls) + str(fake_slack.response_posts)
    settings: Settings = bot.settings
    redis = connect(settings.redis_url)
    http = new_http_client()
    try:
        reprs = " ".join(
            [
                repr(settings),
                str(settings.model_dump()),
                repr(ZapierClient(http, api_key=settings.zapier_api_key)),
                repr(Store(redis)),
            ]
        )
    finally:
        await http.aclose()
        await redis.aclose()
    for secret in SECRETS:
        assert secret not in logged, f"{secret[:6]}… in the log"
        assert secret not in reprs
        assert secret not in posted
