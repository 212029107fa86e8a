"""`WORKERS=N`: `python -m bot` runs N worker processes on one port, sharing one Redis, and stops them all."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp
import pytest

from tests.support.bot_server import BOT_TOKEN, SIGNING_SECRET, ZAPIER_KEY
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons
from tests.support.redis_process import free_port
from tests.support.slack_requests import SlackSender

ROOT = Path(__file__).resolve().parents[2]


def bot_env(slack: FakeSlack, zapier: FakeZapier, redis_url: str, port: int, workers: int) -> dict[str, str]:
    proxies = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}
    env = {k: v for k, v in os.environ.items() if k not in proxies}
    env.update(
        SLACK_BOT_TOKEN=BOT_TOKEN,
        SLACK_SIGNING_SECRET=SIGNING_SECRET,
        SLACK_API_URL=slack.api_url,
        ZAPIER_API_KEY=ZAPIER_KEY,
        ZAPIER_BASE_URL=zapier.url,
        REDIS_URL=redis_url,
        HOST="127.0.0.1",
        PORT=str(port),
        WORKERS=str(workers),
    )
    return env


def children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


@pytest.fixture
def port() -> int:
    return free_port()


@pytest.fixture
def two_workers(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, port: int, tmp_path: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """`python -m bot` with WORKERS=2, as an operator would start it."""
    log = (tmp_path / "bot.log").open("wb")
    process = subprocess.Popen(
        [sys.executable, "-m", "bot"],
        env=bot_env(fake_slack, fake_zapier, redis_url, port, workers=2),
        cwd=tmp_path,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            for pid in children(process.pid):
                os.kill(pid, signal.SIGKILL)
            process.kill()
        process.wait()
        log.close()


@pytest.fixture
async def fresh_connections() -> AsyncIterator[aiohttp.ClientSession]:
    """A client that opens a new connection per request (the kernel picks a worker per connection)."""
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True)) as session:
        yield session


async def healthy_pids(session: aiohttp.ClientSession, url: str, tries: int) -> set[int]:
    pids = set()
    for _ in range(tries):
        try:
            async with session.get(url + "/healthz") as response:
                if response.status == 200:
                    pids.add((await response.json())["pid"])
        except aiohttp.ClientError:
            await asyncio.sleep(0.05)
    return pids


async def test_two_workers_serve_one_port_and_stop_together(
    two_workers: subprocess.Popen[bytes],
    port: int,
    fresh_connections: aiohttp.ClientSession,
    fake_slack: FakeSlack,
) -> None:
    """WORKERS=2: two processes answer on one port, commands run end to end, SIGTERM stops all (exit 0)."""
    url = f"http://127.0.0.1:{port}"
    seen: set[int] = set()
    async with asyncio.timeout(30):
        while len(seen) < 2:
            seen |= await healthy_pids(fresh_connections, url, tries=20)
            assert two_workers.poll() is None, "the supervisor exited"
    workers = children(two_workers.pid)
    assert seen == set(workers)

    slack = SlackSender(
        fresh_connections, url + "/slack/events", SIGNING_SECRET, fake_slack.response_url_base
    )
    for n in range(4):
        response = await slack.command(f"SlackAPI channel_message Say hello {n}", channel=f"C{n}")
        assert response.status == 200
    posts = await fake_slack.wait_for("chat.postMessage", 4, timeout=10)
    assert sorted(p.args["channel"] for p in posts) == ["C0", "C1", "C2", "C3"]
    assert all(set(buttons(p)) == {"zap_confirm", "zap_edit", "zap_cancel"} for p in posts)

    two_workers.send_signal(signal.SIGTERM)
    code = await asyncio.to_thread(two_workers.wait, 30)

    assert code == 0
    assert not [pid for pid in workers if alive(pid)]


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


async def test_workers_need_a_fixed_port(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """WORKERS=2 with PORT=0 is refused at start with one line naming the setting."""
    result = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot"],
        env=bot_env(fake_slack, fake_zapier, redis_url, 0, workers=2),
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert result.returncode == 2
    assert "WORKERS above 1 needs a fixed PORT" in result.stderr
