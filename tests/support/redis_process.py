"""A real ``redis-server`` on 127.0.0.1 that tests can start, stop (gently or not) and restart."""

from __future__ import annotations

import itertools
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

NOT_FOUND = "redis-server not found: install it (apt-get install redis-server) or set ZAPBOT_TEST_REDIS_URL"


class RedisNotFoundError(RuntimeError):
    """``redis-server`` is not on PATH."""


# Ports handed to child processes (redis-server, `python -m bot`) come from a slice of their own per xdist
# worker, below the kernel's ephemeral range. A port from that range (bind to port 0), free a moment ago,
# could be taken by any socket of any test before the child bound it: a stand-in of another test then got
# this test's health checks (and failed its contract check), or this test's bot failed to bind.
PORTS_FROM, PORTS_PER_WORKER = 20000, 500
_next_port = itertools.count(random.randrange(PORTS_PER_WORKER))


def _worker_index() -> int:
    worker = os.environ.get("PYTEST_XDIST_WORKER", "gw0")  # "gw3"
    return int(worker[2:]) if worker[2:].isdigit() else 0


def free_port() -> int:
    """A port free on 127.0.0.1 now, from this test worker's own slice (redis-server cannot take port 0)."""
    first = PORTS_FROM + (_worker_index() % 20) * PORTS_PER_WORKER
    for _ in range(PORTS_PER_WORKER):
        port = first + next(_next_port) % PORTS_PER_WORKER
        with socket.socket() as sock:
            try:
                sock.bind(("127.0.0.1", port))
            except OSError:
                continue  # in use (a child still holding it, or another program)
            return port
    raise RuntimeError(f"no free port in {first}-{first + PORTS_PER_WORKER - 1}")


class RedisProcess:
    """One ``redis-server`` child process; its data and log live in ``directory``."""

    def __init__(self, directory: Path, executable: str | None = None) -> None:
        found = executable or shutil.which("redis-server")
        if found is None:
            raise RedisNotFoundError(NOT_FOUND)
        self.executable = found
        self.directory = directory
        self.port = 0
        self.appendonly = False
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self, port: int | None = None, appendonly: bool = False, timeout: float = 10.0) -> str:
        """Start on ``port`` (default: a free one), wait until it answers PING, and return its URL."""
        if self.running:
            raise RuntimeError(f"redis-server already running on port {self.port}")
        self.appendonly = appendonly
        attempts = 1 if port else 3  # a picked free port can be taken by someone else in between
        for attempt in range(attempts):
            self.port = port or free_port()
            self._spawn()
            if self._wait_ready(timeout):
                return self.url
            self.stop(hard=True)
            if attempt == attempts - 1:
                raise RuntimeError(f"redis-server did not start on port {self.port}:\n{self._log_tail()}")
        raise AssertionError("unreachable")

    def stop(self, hard: bool = False) -> None:
        """Stop the server: SIGTERM (a clean shutdown) or, with ``hard``, SIGKILL (a crash)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            if hard:
                process.kill()
            else:
                process.terminate()
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def restart(self, hard: bool = False) -> str:
        """Stop, then start again on the same port and directory (with the same persistence)."""
        self.stop(hard=hard)
        return self.start(port=self.port, appendonly=self.appendonly)

    def _spawn(self) -> None:
        self.directory.mkdir(parents=True, exist_ok=True)
        args = [
            self.executable,
            "--port", str(self.port),
            "--bind", "127.0.0.1",
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            # Every write on disk before Redis answers it: a test can crash the server right after a
            # write without waiting out `everysec` (the production setting loses at most a second).
            "--appendfsync", "always",
            "--dir", str(self.directory),
            "--logfile", str(self.directory / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(  # noqa: S603 (fixed arguments, our own executable lookup)
            args, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT
        )

    def _wait_ready(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.running:
                return False
            if _pings(self.port):
                return True
            time.sleep(0.02)
        return False

    def _log_tail(self) -> str:
        log = self.directory / "redis.log"
        return "\n".join(log.read_text(errors="replace").splitlines()[-10:]) if log.exists() else "(no log)"


def _pings(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False
