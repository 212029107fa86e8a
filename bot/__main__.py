"""`python -m bot`: read the settings, build the service, serve until SIGTERM or Ctrl-C.

`python -m bot console` talks to the bot in the terminal instead (see `bot.console`);
`python -m bot check` says which settings are missing and where to get each (used by `scripts/run`).
With `WORKERS=N` (N > 1) this process starts N workers (`python -m bot --worker`) on the same port and
supervises them (bot/workers.py).
"""

from __future__ import annotations

import asyncio
import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.errors import BotError
from bot.logs import configure_logging, secret_values, skip_unlogged_fields
from bot.policy import PolicyError, load_policy_file
from bot.settings import Settings, describe_settings_error
from bot.setup_help import describe_setup_error, needs_slack_setup
from bot.workers import run_workers

SHUTDOWN_TIMEOUT_SECONDS = 25.0
EXIT_BAD_SETTINGS = 2
EXIT_NO_SLACK = 3  # `check`: only secrets are missing, Slack's among them: the console could run instead
USAGE = "usage: python -m bot [console | check]"


def check() -> int:
    """Exit 0 when the bot could start; else say what to set and how to get it (3: Slack not set up)."""
    try:
        Settings()
    except ValidationError as exc:
        print(describe_setup_error(exc), file=sys.stderr)
        return EXIT_NO_SLACK if needs_slack_setup(exc) else EXIT_BAD_SETTINGS
    print("zapbot's settings are complete.")
    return 0


def main(argv: list[str]) -> int:
    if argv[:1] == ["console"]:
        from bot.console import main as console_main  # noqa: PLC0415 - the console's own imports, when asked

        return console_main(argv[1:])
    if argv == ["check"]:
        return check()
    worker = argv == ["--worker"]
    if argv and not worker:
        print(USAGE, file=sys.stderr)
        return EXIT_BAD_SETTINGS
    return serve(worker=worker)


def serve(*, worker: bool) -> int:
    """Check the settings and the policy, then serve (or supervise WORKERS processes that serve)."""
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format, settings.log_level, redact=secret_values(settings))
    skip_unlogged_fields()
    try:
        policy = load_policy_file(settings.policy_file)
    except PolicyError as exc:
        print("Configuration error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if policy.source:
        logging.getLogger("bot").info("confirmation policy from %s", policy.source)
    if settings.workers > 1 and not worker:
        return run_workers(settings.workers)
    from bot.runtime import build_app  # noqa: PLC0415 - after the settings check, so it answers at once

    logging.getLogger("bot").info("zapbot listening on %s:%d", settings.host, settings.port)
    web.run_app(
        build_app(settings, policy=policy),
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


def run(argv: list[str]) -> int:
    """`main`, with a start-up check that fails (e.g. Slack refusing SLACK_APP_TOKEN) told in one line."""
    try:
        return main(argv)
    except BotError as exc:
        print(f"zapbot could not start: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS  # like a bad setting: the configuration needs fixing


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
