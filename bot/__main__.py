"""`python -m bot`: read the settings, build the service, serve until SIGTERM or Ctrl-C.

With `WORKERS=N` (N > 1) this process starts N workers (`python -m bot --worker`) on the same port and
supervises them (bot/workers.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.runtime import build_app
from bot.settings import Settings, describe_settings_error
from bot.workers import run_workers

SHUTDOWN_TIMEOUT_SECONDS = 25.0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # httpx logs every request at INFO: under load that is a log line per Zapier call, and CPU. Its
    # warnings still show; the bot logs what goes wrong with Zapier itself.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return 2
    worker = "--worker" in argv
    if settings.workers > 1 and not worker:
        return run_workers(settings.workers)
    logging.getLogger("bot").info("zapbot listening on %s:%d", settings.host, settings.port)
    web.run_app(
        build_app(settings),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        print=None,
        access_log=None,
        reuse_port=worker or None,  # workers share the port (SO_REUSEPORT); the kernel spreads connections
        loop=new_event_loop(),
    )
    return 0


def new_event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux, macOS): the same asyncio API, a faster loop (libuv).

    Under load it cuts the bot's CPU per request (socket writes, callbacks, timers); the benchmark in
    bench/ shows the difference. Without it (e.g. on Windows) the standard loop serves the same way.
    """
    try:
        import uvloop  # noqa: PLC0415 - optional at run time: not on every platform
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
