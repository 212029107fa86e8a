"""`WORKERS=N`: N processes of the bot serving one port, sharing one Redis.

The bot keeps all shared state in Redis, so its processes are replicas: the same code and settings, any of
them may take any request. Each worker is a plain `python -m bot --worker` that binds the port with
SO_REUSEPORT, and the kernel spreads new connections over them. This process only supervises: it forwards
SIGTERM and SIGINT once to each worker (each then drains its background work as a single bot does) and
waits. If a worker dies on its own, it stops the others and exits with that worker's code, so that
whatever runs the service (Docker, systemd, Kubernetes) restarts the whole set.
"""

from __future__ import annotations

import logging
import signal
import subprocess
import sys
import time
from types import FrameType

log = logging.getLogger(__name__)

POLL_SECONDS = 0.2


class Supervisor:
    def __init__(self, count: int) -> None:
        self._count = count
        self._workers: list[subprocess.Popen[bytes]] = []
        self._stopping = False

    def run(self) -> int:
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        for _ in range(self._count):
            # A session of their own: a Ctrl-C in the terminal reaches only this process, which passes it
            # on once (a second signal would cut a worker's drain short).
            worker = subprocess.Popen([sys.executable, "-m", "bot", "--worker"], start_new_session=True)
            self._workers.append(worker)
        log.info("zapbot started %d workers: %s", self._count, ", ".join(str(w.pid) for w in self._workers))
        while True:
            exited = [w for w in self._workers if w.poll() is not None]
            if len(exited) == len(self._workers):
                return 0 if self._stopping else next((w.returncode for w in exited if w.returncode), 1)
            if exited and not self._stopping:
                first = exited[0]
                log.error("worker %d exited with code %s; stopping the others", first.pid, first.returncode)
                self._stop_workers()
                self._wait_all()
                return first.returncode or 1
            time.sleep(POLL_SECONDS)

    def _stop(self, signum: int, frame: FrameType | None) -> None:
        if not self._stopping:
            log.info("zapbot stopping %d workers (signal %d)", len(self._workers), signum)
            self._stop_workers()

    def _stop_workers(self) -> None:
        self._stopping = True
        for worker in self._workers:
            if worker.poll() is None:
                worker.send_signal(signal.SIGTERM)

    def _wait_all(self) -> None:
        for worker in self._workers:
            worker.wait()


def run_workers(count: int) -> int:
    """Start `count` workers and supervise them until a signal or a worker's death. Returns the exit code."""
    return Supervisor(count).run()
