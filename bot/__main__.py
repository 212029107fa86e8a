"""`python -m bot`: read the settings, build the service, serve until SIGTERM or Ctrl-C."""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.errors import BotError
from bot.policy import PolicyError, load_policy_file
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
    try:
        policy = load_policy_file(settings.policy_file)
    except PolicyError as exc:
        print("Configuration error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return 2
    if policy.source:
        logging.getLogger("bot").info("confirmation policy from %s", policy.source)
    logging.getLogger("bot").info("zapbot listening on %s:%d", settings.host, settings.port)
    web.run_app(
        build_app(settings, policy=policy),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=SHUTDOWN_TIMEOUT_SECONDS,
        print=None,
        access_log=None,
    )
    return 0


def run(argv: list[str]) -> int:
    """`main`, with a start-up check that fails (e.g. Slack refusing SLACK_APP_TOKEN) told in one line."""
    try:
        return main(argv)
    except BotError as exc:
        print(f"zapbot could not start: {exc}", file=sys.stderr)
        return 2  # like a bad setting: the configuration needs fixing


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
