"""`python -m bot [MODE]`: read the settings, build what the mode needs, run it (`--help` lists the modes).

serve (the default) answers Slack until SIGTERM or Ctrl-C; with `WORKERS=N` (N > 1) this process starts N
workers (`python -m bot --worker`) on the same port and supervises them (bot/ops/workers.py). `console` talks
to the bot in the terminal (bot/console/console.py), `demo` does the same against a built-in simulator
of Zapier
(bot/demo/), and `check` says whether this configuration can serve, and what to fix if not.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys

from aiohttp import web
from pydantic import ValidationError

from bot.approvals.policy import Policy, PolicyError, load_policy_file
from bot.errors import BotError
from bot.ops.logs import configure_logging, secret_values, skip_unlogged_fields
from bot.ops.setup_help import describe_settings, describe_setup_error, fallback_mode
from bot.ops.workers import run_workers
from bot.settings import Settings, describe_settings_error

SHUTDOWN_MARGIN_SECONDS = 10.0  # past the drain of runs in flight: the outbox's last flush, closing clients
EXIT_UNREACHABLE = 1  # `check`: Redis, Zapier or Slack did not answer, or refused a credential
EXIT_BAD_SETTINGS = 2
EXIT_NO_SLACK = 3  # `check`: only secrets are missing, Slack's among them: the console could run instead
EXIT_NOTHING_SET = 4  # `check`: the Zapier key and Slack's are missing: the demo could run instead
USAGE = "usage: python -m bot [serve | console | demo | check [--offline] | --help]"

MODES = (
    ("serve", "answer Slack (the default): HTTP on HOST:PORT, or Socket Mode with SLACK_APP_TOKEN"),
    ("console", "talk to zapbot in this terminal, no Slack needed: real Zapier (ZAPIER_API_KEY) and Redis"),
    ("demo", "the console against a built-in simulator of Zapier, labelled DEMO: needs only Redis"),
    ("check", "can this configuration serve? the settings, POLICY_FILE, then Redis, Zapier's auth check"),
    ("", "and Slack's auth.test; says what to fix (exit 0 ok, 1 a service refused or did not answer,"),
    ("", "2 a bad setting, 3 only Slack's secrets are missing, 4 the Zapier key is missing too)"),
    ("check --offline", "the settings and POLICY_FILE only, no connection (scripts/run uses it)"),
    ("--worker", "one of WORKERS serving processes (started by serve itself)"),
    ("--help", "this text"),
)


def usage() -> str:
    """The modes, then every setting with its default, read from the Settings class itself."""
    width = max(len(name) for name, _ in MODES)
    lines = [USAGE, "", "Modes:"]
    lines += [f"  {name.ljust(width)}  {text}" for name, text in MODES]
    lines += [
        "",
        "Settings (environment variables, or a .env file in the working directory):",
        *describe_settings(),
        "",
        "In a checkout, scripts/run installs what is needed, finds or starts a Redis, and picks the mode:",
        "serve with Slack's settings, the console with only a Zapier key, the demo with neither.",
    ]
    return "\n".join(lines)


def check(argv: list[str]) -> int:  # noqa: PLR0911 - one exit per verdict, each told
    """Exit 0 when the bot can serve; else say what is wrong and what to do (see MODES for the codes)."""
    if argv not in ([], ["--offline"]):
        print(USAGE, file=sys.stderr)
        return EXIT_BAD_SETTINGS
    try:
        settings = Settings()
    except ValidationError as exc:
        print(describe_setup_error(exc), file=sys.stderr)
        mode = fallback_mode(exc)
        return {"console": EXIT_NO_SLACK, "demo": EXIT_NOTHING_SET}.get(mode or "", EXIT_BAD_SETTINGS)
    try:
        policy = load_policy_file(settings.policy_file)
    except PolicyError as exc:
        problem = " ".join(str(exc).splitlines())
        print(f"✗ {problem}. Fix the file (docs/policy.md) or unset POLICY_FILE.", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    if problems := _account_problems(settings, policy):
        for problem in problems:
            print(f"✗ {problem}", file=sys.stderr)
        return EXIT_BAD_SETTINGS
    print("✓ zapbot's settings are complete.")
    if policy.source:
        print(f"✓ The confirmation policy in {policy.source} reads well.")
    if argv:
        return 0
    from bot.runtime import check_connections  # noqa: PLC0415 - the clients' imports, only when asked

    findings = asyncio.run(check_connections(settings))
    for finding in findings:
        if finding.ok:
            print(f"✓ {finding.text}")
        else:
            print(f"✗ {finding.text}", file=sys.stderr)
    if not all(finding.ok for finding in findings):
        return EXIT_UNREACHABLE
    print("zapbot is ready to serve.")
    return 0


def _account_problems(settings: Settings, policy: Policy) -> list[str]:
    """Per-user accounts half configured (each missing piece), and a policy asking for the shared account
    (`run_as: shared`) while no ZAPIER_API_KEY is set: each would fail only when someone uses it."""
    from bot.accounts import account_setting_problems  # noqa: PLC0415 - its clients' imports, when asked

    problems = [f"{problem} (docs/accounts.md)" for problem in account_setting_problems(settings)]
    if not settings.shared_key and (places := policy.run_as_places("shared")):
        problems.append(
            f"{policy.source} asks for run_as: shared ({', '.join(places)}), but ZAPIER_API_KEY is not "
            "set, so those actions would be refused. Set ZAPIER_API_KEY, or change run_as there "
            "(docs/accounts.md)."
        )
    return problems


def main(argv: list[str]) -> int:
    mode, rest = (argv[0], argv[1:]) if argv else ("serve", [])
    if mode in {"--help", "-h", "help"}:
        print(usage())
        return 0
    if mode == "console":
        from bot.console.console import main as console_main  # noqa: PLC0415 - the console's own imports, when asked

        return console_main(rest)
    if mode == "demo":
        from bot.demo.run import main as demo_main  # noqa: PLC0415 - the demo's own imports, when asked

        return demo_main(rest)
    if mode == "check":
        return check(rest)
    if mode in {"serve", "--worker"} and not rest:
        return serve(worker=mode == "--worker")
    print(USAGE + "\n(python -m bot --help says more)", file=sys.stderr)
    return EXIT_BAD_SETTINGS


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

    # Bolt's AsyncApp reads SLACK_BOT_TOKEN from the environment when no `token` is passed, and warns
    # that it will be unused since we pass `client` (which carries the token Settings read). The token
    # has been read; keeping it out of the environment also keeps it from any child process.
    os.environ.pop("SLACK_BOT_TOKEN", None)
    logging.getLogger("bot").info("zapbot listening on %s:%d", settings.host, settings.port)
    web.run_app(
        build_app(settings, policy=policy),
        host=settings.host,
        port=settings.port,
        shutdown_timeout=shutdown_seconds(settings.zapier_timeout_seconds),
        print=None,
        access_log=None,
        reuse_port=worker or None,  # workers share the port (SO_REUSEPORT); the kernel spreads connections
        # asyncio's own event loop: with uvloop's, acks of a burst waited far longer at p99 (bench/README.md).
    )
    return 0


def shutdown_seconds(zapier_timeout: float) -> float:
    """How long a SIGTERM may take: runs in flight get up to Zapier's timeout (bot/slack/app.py drains them),
    then the margin. Kubernetes' terminationGracePeriodSeconds and Compose's stop_grace_period exceed it."""
    return zapier_timeout + SHUTDOWN_MARGIN_SECONDS


def run(argv: list[str]) -> int:
    """`main`, with a start-up check that fails (e.g. Slack refusing SLACK_APP_TOKEN) told in one line."""
    try:
        return main(argv)
    except BotError as exc:
        print(f"zapbot could not start: {exc}", file=sys.stderr)
        return EXIT_BAD_SETTINGS  # like a bad setting: the configuration needs fixing


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
