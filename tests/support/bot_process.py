"""Running the bot as a real `python -m bot` process, configured only through its environment.

Each process gets a clean environment (no proxy, Slack, Zapier or Redis variables inherited from the
shell), HOST=127.0.0.1 and a free port, and runs in its own directory so no `.env` is read. Its output
goes to a log file that failures quote. `stop()` sends SIGTERM, as Kubernetes and Docker do.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from tests.support import fast_paths
from tests.support.redis_process import free_port

INHERITED_PREFIXES = ("SLACK_", "ZAPIER_", "REDIS_", "HOST", "PORT", "LOG_", "PREVIEW_")
PROXY_VARIABLES = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"}
START_SECONDS = 30.0  # generous: two cores shared with other work, and Python imports slack_bolt first


@dataclass
class BotProcess:
    """One `python -m bot` child: its URL on 127.0.0.1 and its log."""

    process: asyncio.subprocess.Process
    url: str
    log_path: Path

    @property
    def running(self) -> bool:
        return self.process.returncode is None

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def terminate(self) -> None:
        """SIGTERM: the bot stops taking requests, finishes what it started, and exits."""
        if self.running:
            self.process.send_signal(signal.SIGTERM)

    async def wait(self, seconds: float = 40.0) -> int:
        """Wait for the process to exit and return its exit code; kill it (and fail) after ``seconds``."""
        try:
            async with asyncio.timeout(seconds):
                return await self.process.wait()
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise AssertionError(f"the bot did not exit within {seconds}s; log:\n{self.log()}") from None


def clean_environment(values: Mapping[str, str]) -> dict[str, str]:
    """This process's environment without anything that configures the bot or a proxy, plus ``values``."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.upper().startswith(INHERITED_PREFIXES) and name.upper() not in PROXY_VARIABLES
    }
    env["PYTHONUNBUFFERED"] = "1"
    env["ZAPBOT_FAST_PATHS"] = fast_paths.current  # this test's way (tests/support/fast_paths.py)
    return {**env, **values}


@asynccontextmanager
async def bot_processes(
    env: Mapping[str, str], directories: list[Path], http: aiohttp.ClientSession
) -> AsyncIterator[list[BotProcess]]:
    """Start one `python -m bot` per directory, all at once; wait until each /healthz answers 200; stop
    them all (SIGTERM) at the end, also those a test stopped itself already."""
    results = await asyncio.gather(
        *(start_bot_process(env, directory, http) for directory in directories), return_exceptions=True
    )
    started = [r for r in results if isinstance(r, BotProcess)]
    try:
        for result in results:
            if isinstance(result, BaseException):
                raise result
        yield started
    finally:
        for bot in started:
            bot.terminate()
        await asyncio.gather(*(bot.wait() for bot in started))


async def start_bot_process(
    env: Mapping[str, str], directory: Path, http: aiohttp.ClientSession
) -> BotProcess:
    """Start `python -m bot` on a free port; a port taken in between is retried on another one."""
    for attempt in range(3):
        started = await _spawn(env, directory, free_port(), attempt)
        if await _healthy(started, http):
            return started
        if started.running:
            started.process.kill()
        await started.process.wait()
        if "address already in use" not in started.log().lower():
            break
    raise AssertionError(f"`python -m bot` did not become healthy; log:\n{started.log()}")


async def _spawn(env: Mapping[str, str], directory: Path, port: int, attempt: int) -> BotProcess:
    log_path = directory / f"bot-{port}-{attempt}.log"
    # Opening a local log file is quick; the child then writes to it directly.
    directory.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240
    with log_path.open("wb") as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            cwd=directory,
            env=clean_environment({**env, "HOST": "127.0.0.1", "PORT": str(port)}),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=asyncio.subprocess.STDOUT,
        )
    return BotProcess(process, f"http://127.0.0.1:{port}", log_path)


def _ours(bot: BotProcess, pid: int) -> bool:
    if pid == bot.process.pid:
        return True
    try:  # a worker of ours: its parent is our process (Linux's /proc; elsewhere, trust the answer)
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return not Path("/proc/self").exists()
    return int(stat.rsplit(")", 1)[1].split()[1]) == bot.process.pid


async def _healthy(bot: BotProcess, http: aiohttp.ClientSession) -> bool:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline and bot.running:
        try:
            async with http.get(bot.url + "/healthz") as response:
                # Another test's bot may hold the port a moment ago free (ours then fails to bind and
                # exits): only an answer from our own process, or from one of its WORKERS, counts.
                if response.status == 200 and _ours(bot, (await response.json())["pid"]):
                    return True
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.05)
    return False
