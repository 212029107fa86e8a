"""`python -m bot`: read the settings, build the service, serve until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.errors import BotError
from bot.runtime import build_app
from bot.settings import Settings, describe_settings_error

SHUTDOWN_TIMEOUT_SECONDS = 25.0


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return 2
    mode = "Socket Mode" if settings.socket_mode else "HTTP (POST /slack/events)"
    logging.getLogger("bot").info(
        "zapbot listening on %s:%d, Slack over %s", settings.host, settings.port, mode
    )
    try:
        web.run_app(
            build_app(settings),
            host=settings.host,
            port=settings.port,
            shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
            print=None,
            access_log=None,
        )
    except BotError as exc:  # a start-up check failed (e.g. Slack refused SLACK_APP_TOKEN): one line
        print(f"zapbot could not start: {exc}", file=sys.stderr)
        return 2  # like a bad setting: the configuration needs fixing
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
