"""`python -m bot`: read the settings, build the service, serve until SIGTERM or Ctrl-C.

`python -m bot console` talks to the bot in the terminal instead (see `bot.console`);
`python -m bot check` says which settings are missing and where to get each (used by `scripts/run`).
"""

from __future__ import annotations

import logging
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.errors import BotError
from bot.logs import configure_logging, secret_values
from bot.policy import PolicyError, load_policy_file
from bot.settings import Settings, describe_settings_error
from bot.setup_help import describe_setup_error, needs_slack_setup

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
    if argv:
        print(USAGE, file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return EXIT_BAD_SETTINGS
    configure_logging(settings.log_format, settings.log_level, redact=secret_values(settings))
    try:
        policy = load_policy_file(settings.policy_file)
    except PolicyError as exc:
        print("Configuration error: " + " ".join(str(exc).splitlines()), file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if policy.source:
        logging.getLogger("bot").info("confirmation policy from %s", policy.source)
    from bot.runtime import build_app  # noqa: PLC0415 - after the settings check, so it answers at once

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
        return EXIT_BAD_SETTINGS  # like a bad setting: the configuration needs fixing


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
