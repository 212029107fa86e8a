"""`python -m bot demo`: the console against the simulator, labelled DEMO, with nothing configured.

Only Redis is needed (REDIS_URL, or the default; scripts/run finds or starts one). Whatever the environment
or .env holds for Zapier (blank, a placeholder, a real key) is neither read nor checked: the demo always
talks to its own simulator, so nothing real is sent anywhere.
"""

from __future__ import annotations

import asyncio
import logging
import sys
from typing import TextIO

from pydantic import SecretStr, ValidationError

from bot.console.console import run_console
from bot.demo.catalogue import examples
from bot.demo.server import DemoZapier
from bot.ops.logs import configure_logging, secret_values
from bot.settings import ConsoleSettings, describe_settings_error

log = logging.getLogger(__name__)

LABEL = "DEMO"
USAGE = "usage: python -m bot demo   (reads REDIS_URL; Zapier is simulated)"
SIMULATED_URL = "http://127.0.0.1"  # replaced by the simulator's own URL once it listens


def intro() -> str:
    lines = [
        "zapbot demo: Zapier is simulated on this machine. Nothing is sent to Zapier or Slack, nothing real "
        "runs.",
        "Try:",
        *(f"  {example}" for example in examples()),
        "then `confirm` (or `cancel`), `help`, `quit`.",
        "For real actions: set ZAPIER_API_KEY (https://actions.zapier.com/credentials/), then "
        "scripts/run console.",
    ]
    return "\n".join(f"[{LABEL}] {line}" for line in lines) + "\n"


async def run_demo(settings: ConsoleSettings, stdin: TextIO, out: TextIO) -> int:
    """Start the simulator, run the console against it until `quit` or the end of input, stop it."""
    simulator = DemoZapier()
    await simulator.start()
    try:
        out.write(intro())
        demo = settings.model_copy(
            update={"zapier_base_url": simulator.url, "zapier_api_key": SecretStr(simulator.api_key)}
        )
        # `react +1` stores a rating and the console's rating delivery sends it to the simulator's rate
        # endpoint, which records it (DemoZapier.ratings).
        code = await run_console(demo, stdin, out, label=LABEL)
    finally:
        await simulator.stop()
    for rating in simulator.ratings:
        score = "no rating" if rating.rating is None else f"{rating.rating:+d}"
        out.write(
            f"[{LABEL}] The simulated Zapier received a rating for execution log {rating.execution_log_id}: "
            f"{score}.\n"
        )
    return code


def main(argv: list[str]) -> int:
    if argv:
        print(USAGE, file=sys.stderr)
        return 2
    try:
        # Zapier's settings are given here, so the environment's are not read (nor refused).
        settings = ConsoleSettings(
            zapier_api_key=SecretStr(LABEL), zapier_base_url=SIMULATED_URL, zapier_provider_id=None
        )
    except ValidationError as exc:
        print(describe_settings_error(exc), file=sys.stderr)
        return 2
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    configure_logging(settings.log_format, level, redact=secret_values(settings))
    if sys.stdin.isatty():
        import readline  # noqa: F401, PLC0415 - line editing and history for input() in a terminal

    try:
        return asyncio.run(run_demo(settings, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        print("\nBye.")
        return 130
