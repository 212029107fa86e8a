"""The processes a benchmark run starts: Redis, the stand-ins, the bot (`python -m bot`) and the floor.

Everything listens on 127.0.0.1 and is stopped at the end of the run, whatever happens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sys
import time
from collections import defaultdict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp

from tests.support.redis_process import RedisProcess, free_port

ROOT = Path(__file__).resolve().parents[1]
PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")

__all__ = ["RedisProcess", "ServerProcess", "StandIns", "cpu_seconds", "free_port", "rss_mb"]


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """The environment for a child: ours without proxies (slack-sdk ignores NO_PROXY), plus `extra`."""
    env = {k: v for k, v in os.environ.items() if k not in PROXY_VARIABLES}
    env["PYTHONPATH"] = str(ROOT)
    env.update(extra)  # may put another checkout of the bot first on PYTHONPATH
    return env


def process_tree(pid: int) -> list[int]:
    """`pid` and its children (the workers of `WORKERS=N`), from /proc."""
    pids = [pid]
    with contextlib.suppress(OSError):
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        for child in children:
            pids += process_tree(int(child))
    return pids


def rss_mb(pid: int) -> float:
    """Resident memory of one process (VmRSS), in MB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU time of the processes, in seconds."""
    total = 0
    for pid in pids:
        with contextlib.suppress(OSError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return total / CLOCK_TICKS


class ServerProcess:
    """`python -m MODULE` serving HTTP on a free port, ready once GET /healthz answers 200."""

    def __init__(
        self,
        name: str,
        module: str,
        env: Mapping[str, str],
        log_dir: Path,
        *,
        args: tuple[str, ...] = (),
        port: int | None = None,
        cpus: set[int] | None = None,
    ) -> None:
        self.name = name
        self.cpus = cpus  # the cores it may run on (None or empty: the driver's)
        self.module = module
        self.args = args
        self.stop_grace = 5.0  # seconds between SIGTERM and SIGKILL
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._env = child_env({**env, "HOST": "127.0.0.1", "PORT": str(self.port)})
        self._log_path = log_dir / f"{name}.log"
        self._process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def pids(self) -> list[int]:
        return process_tree(self.pid)

    def workers(self) -> list[int]:
        """The processes that serve: the children when there are some, else the process itself."""
        tree = self.pids()
        return tree[1:] or tree

    async def all_listening(self, count: int, wait_s: float = 30.0) -> set[int]:
        """Wait until `count` different processes have answered /healthz (each on a new connection, which
        the kernel hands to one of the processes sharing the port), and return their pids. Connections
        opened before every worker listens all go to the first one, and keep-alive keeps them there."""
        seen: set[int] = set()
        deadline = time.monotonic() + wait_s
        while len(seen) < count and time.monotonic() < deadline:
            async with aiohttp.ClientSession() as session, session.get(self.url + "/healthz") as response:
                seen.add(int((await response.json())["pid"]))
        return seen

    async def start(self, wait_s: float = 30.0) -> None:
        log = self._log_path.open("ab")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            self.module,
            *self.args,
            env=self._env,
            cwd=str(self._log_path.parent),
            stdin=asyncio.subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            preexec_fn=self._pin if self.cpus else None,
        )
        log.close()
        deadline = time.monotonic() + wait_s
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                if self._process.returncode is not None:
                    break
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(self.url + "/healthz") as response:
                        if response.status == 200:
                            return
                await asyncio.sleep(0.05)
        tail = self._log_path.read_text(errors="replace").splitlines()[-15:]
        await self.stop()
        raise RuntimeError(f"{self.name} did not start on port {self.port}:\n" + "\n".join(tail))

    def _pin(self) -> None:
        os.sched_setaffinity(0, self.cpus or set())

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None or process.returncode is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), self.stop_grace)
        except TimeoutError:
            for pid in reversed(process_tree(process.pid)):
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
            await process.wait()


class StandIns:
    """The Slack and Zapier stand-ins (bench/stand_ins.py) in their own process, and what they report."""

    def __init__(self) -> None:
        self.slack_api = self.response_base = self.zapier = ""
        self.posts: dict[tuple[str, str], dict[str, Any]] = {}  # (channel, "root"|"thread") -> first post
        self.zaps: dict[tuple[str, str], dict[str, Any]] = {}  # (tag, operation) -> first call
        self.rates: dict[str, list[dict[str, Any]]] = defaultdict(list)  # execution_log_id -> rate calls
        self.zap_errors = 0
        self.every_post: list[dict[str, Any]] = []  # every chat.postMessage taken, in arrival order
        self.refused: list[dict[str, Any]] = []  # every chat.postMessage refused with 429 (realistic mode)
        self.replies: list[dict[str, Any]] = []  # every post to a response URL (only the person saw it)
        self._waiters: dict[tuple[str, str], asyncio.Future[dict[str, Any]]] = {}
        self._replies: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        self._process: asyncio.subprocess.Process | None = None
        self._reader: asyncio.Task[None] | None = None

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    async def start(
        self,
        latency: float,
        validate_first: int,
        validate_every: int,
        log_dir: Path,
        *,
        realistic: bool = False,
    ) -> None:
        log = (log_dir / "stand_ins.log").open("ab")
        self._process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bench.stand_ins",
            f"--latency={latency}",
            f"--validate-first={validate_first}",
            f"--validate-every={validate_every}",
            *(["--realistic"] if realistic else []),
            env=child_env({}),
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
            limit=1 << 20,
        )
        log.close()
        assert self._process.stdout is not None
        line = await asyncio.wait_for(self._process.stdout.readline(), 30)
        if not line:
            raise RuntimeError(f"the stand-ins did not start: see {log_dir / 'stand_ins.log'}")
        ready = json.loads(line)["ready"]
        self.slack_api, self.response_base, self.zapier = (
            ready["slack_api"],
            ready["response_base"],
            ready["zapier"],
        )
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        assert self._process is not None
        stdout = self._process.stdout
        assert stdout is not None
        while line := await stdout.readline():
            event = json.loads(line)
            kind = event.get("e")
            if kind == "post":
                self.every_post.append(event)
                self._arrived((event["ch"], "thread" if event["thread"] else "root"), event)
            elif kind == "429":
                self.refused.append(event)
            elif kind == "reply":
                self.replies.append(event)
                # Only the user saw something (an error): the flow waiting in that channel failed.
                key, _, click = event["key"].partition(".")
                self._arrived((key, "thread" if click else "root"), event)
            elif kind == "zap":
                if event["status"] >= 300:
                    self.zap_errors += 1
                if event["op"] == "rate" and event["log"]:
                    self.rates[event["log"]].append(event)
                elif event["tag"]:
                    self.zaps.setdefault((event["tag"], event["op"]), event)
            else:
                self._replies.put_nowait(event)

    def _arrived(self, key: tuple[str, str], event: dict[str, Any]) -> None:
        if key not in self.posts:
            self.posts[key] = event
            waiter = self._waiters.pop(key, None)
            if waiter is not None and not waiter.done():
                waiter.set_result(event)

    async def post(self, channel: str, kind: str = "root", wait_s: float = 60.0) -> dict[str, Any]:
        """The first chat.postMessage in `channel` (`root`: not in a thread; `thread`: in one), or the
        reply to the user that came instead (`"e": "reply"`: the flow failed)."""
        key = (channel, kind)
        if key in self.posts:
            return self.posts[key]
        waiter = self._waiters.setdefault(key, asyncio.get_running_loop().create_future())
        return await asyncio.wait_for(asyncio.shield(waiter), wait_s)

    def _send(self, command: dict[str, Any]) -> None:
        assert self._process is not None
        assert self._process.stdin is not None
        self._process.stdin.write((json.dumps(command) + "\n").encode())

    def set_latency(self, seconds: float) -> None:
        self._send({"latency": seconds})

    def clear(self) -> None:
        """Drop what the stand-ins and this side recorded (keeps long runs from growing)."""
        self._send({"clear": True})
        self.posts.clear()
        self.zaps.clear()
        self.every_post.clear()
        self.refused.clear()
        self.replies.clear()

    async def status(self) -> dict[str, Any]:
        """CPU seconds the stand-ins used so far, how many calls they checked, and any spec violations."""
        self._send({"cpu": True})
        return await asyncio.wait_for(self._replies.get(), 600)  # the deferred spec checks run first

    async def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.stdin is not None:
            process.stdin.close()
        try:
            await asyncio.wait_for(process.wait(), 5)
        except TimeoutError:
            process.kill()
            await process.wait()
        if self._reader is not None:
            self._reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader
