"""`python -m bot console`: talk to zapbot in a terminal, no Slack needed (like Hubot's shell adapter).

The same `ZapService`, the real Zapier client and Redis as the Slack bot; only the edge differs: lines from
stdin instead of Slack requests, and the very messages the bot would post, rendered as plain text. An admin
can check the Zapier key and try actions before installing the Slack app. It needs ZAPIER_API_KEY (and
ZAPIER_BASE_URL, REDIS_URL if not the defaults), never a Slack token.
"""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TextIO

from pydantic import ValidationError

from bot.actions import ActionRequest, ActionResult
from bot.errors import BotError, StoreError, UsageError, ZapierAuthError
from bot.logs import configure_logging, new_request_id, redacted_url, secret_values
from bot.messages import (
    USAGE,
    describe_failure,
    escape,
    failure_message,
    preview_message,
    result_message,
)
from bot.parsing import HelpCommand, PlainCommand, SubCommand, parse_command
from bot.plaintext import message_to_text, mrkdwn_to_text
from bot.readiness import describe_zapier_problem
from bot.records import Preview
from bot.service import PreviewRefused, Where, ZapService
from bot.settings import ConsoleSettings
from bot.setup_help import describe_setup_error
from bot.store import Store, connect
from bot.zapier.client import ZapierClient, new_http_client

log = logging.getLogger(__name__)

PROMPT = "zap> "
CONSOLE = "console"  # the team and channel of everything done here (Redis records say where they came from)

# The ratings feature plugs in here: (execution_log_id, user, reaction) -> what to tell the user.
RateHook = Callable[[str, str, str], Awaitable[str]]

HELP = """Console commands:
  /zap APP ACTION ... INSTRUCTIONS   ask Zapier for a preview (the /zap is optional)
  confirm                            run the last preview, exactly as previewed
  cancel                             drop the last preview; nothing runs
  react +1 | react -1                rate the last result, as a Slack reaction would
  help                               this text
  quit                               leave (Ctrl-D works too)
"""

NO_RATINGS = (
    "Ratings are not in this version of zapbot yet, so your {reaction} on execution log {log_id} "
    "was not recorded. (With the ratings feature, `react` records a vote the way a Slack reaction does.)"
)

_REFUSED = {
    "running": "This preview was already confirmed and is running.",
    "done": "This preview was already confirmed and has run.",
    "cancelled": "This preview was cancelled, so nothing was run.",
    "expired": "This preview has expired, so nothing was run. Send the command again for a new preview.",
    "expired_now": "This preview has expired, so nothing was run. Send the command again for a new preview.",
}


@dataclass
class _LastResult:
    preview: Preview
    result: ActionResult


def _ts() -> str:
    """A Slack-like message timestamp for what the console 'posts' (unique enough for one person)."""
    return f"{time.time():.6f}"


class Console:
    """One person's conversation with the bot. `handle` takes a line and returns False to quit."""

    def __init__(self, service: ZapService, out: TextIO, *, user: str, rate: RateHook | None = None) -> None:
        self._service = service
        self._out = out
        self._where = Where(team=CONSOLE, channel=CONSOLE, user=user)
        self._rate = rate
        self._preview: Preview | None = None
        self._last: _LastResult | None = None

    def say(self, text: str) -> None:
        self._out.write(text.rstrip("\n") + "\n")
        self._out.flush()

    async def handle(self, line: str) -> bool:
        words = line.strip().split()
        if not words:
            return True
        word = words[0].lower()
        if word in {"quit", "exit", "bye"}:
            return False
        if word in {"help", "?"} and len(words) == 1:
            self.say(HELP + "\n" + mrkdwn_to_text(USAGE))
        elif word == "confirm" and len(words) == 1:
            await self._decide(confirm=True)
        elif word == "cancel" and len(words) == 1:
            await self._decide(confirm=False)
        elif word == "react":
            await self._react(words[1] if len(words) > 1 else "")
        else:
            await self._command(line.strip().removeprefix("/zap").strip())
        return True

    async def _command(self, text: str) -> None:
        new_request_id()
        try:
            # Slack escapes &, < and > in what people type; do the same, so `<b>` is text, not a link.
            parsed = parse_command(escape(text))
        except UsageError as exc:
            self.say(f"⚠️ {mrkdwn_to_text(exc.problem)}\nType `help` for the grammar and examples.")
            return
        if isinstance(parsed, HelpCommand):
            problem = f"⚠️ {mrkdwn_to_text(parsed.problem)}\n\n" if parsed.problem else ""
            self.say(problem + HELP + "\n" + mrkdwn_to_text(USAGE))
            return
        if isinstance(parsed, SubCommand):
            self.say(f"`/zap {parsed.name}` is only available in Slack in this version of zapbot.")
            return
        if isinstance(parsed, PlainCommand):
            # Plain English needs Zapier's guess-actions and the Slack buttons to pick a candidate.
            self.say("The console takes `APP ACTION ...` commands; plain English and shortcuts are Slack's.")
            return
        await self._preview_of(parsed.request)

    async def _preview_of(self, request: ActionRequest) -> None:
        self.say(f"Asking Zapier for a preview of `{request.app} {request.action}`…")
        try:
            preview = await self._service.preview(request, self._where)
        except PreviewRefused as exc:
            said = exc.result.error or exc.result.status.value
            self.say(f"⚠️ Zapier could not preview `{request.app} {request.action}`: {said}. Nothing was run.")
            return
        except BotError as exc:
            self.say(
                message_to_text(failure_message(f"Preview of {request.app} {request.action}", exc, "preview"))
            )
            return
        try:
            await self._service.shown(preview, message_ts=_ts(), thread_ts="")
        except BotError as exc:
            self.say(describe_failure(exc, "preview"))
            return
        self._preview = preview
        self.say(message_to_text(preview_message(preview)))
        self.say("Type `confirm` to run it, or `cancel`.")

    async def _decide(self, *, confirm: bool) -> None:
        if self._preview is None:
            self.say(f"Nothing to {'confirm' if confirm else 'cancel'}: send a /zap command first.")
            return
        try:
            claim = await self._service.decide(self._preview.id, self._where, confirm=confirm)
        except BotError as exc:
            self.say(describe_failure(exc, "preview"))
            return
        if claim.outcome != "claimed" or claim.preview is None:
            self.say(_REFUSED.get(claim.outcome, "I no longer know this preview, so nothing was run."))
            return
        preview = claim.preview
        if not confirm:
            self.say("❌ Cancelled. Nothing was run.")
            return
        self.say(f"✅ Confirmed. Running {preview.result.action_used}…")
        try:
            outcome = await self._service.run(preview)
        except BotError as exc:
            self.say(message_to_text(failure_message(preview.result.action_used, exc, "run")))
            return
        self.say(
            message_to_text(result_message(preview, outcome.result, fallback_reason=outcome.fallback_reason))
        )
        self._last = _LastResult(preview, outcome.result)
        try:
            await self._service.record_result(preview, outcome.result, message_ts=_ts())
        except BotError as exc:
            log.warning("could not record result %s: %s", outcome.result.execution_log_id, type(exc).__name__)

    async def _react(self, reaction: str) -> None:
        reaction = reaction.strip(":")
        if not reaction:
            self.say("Say which reaction: `react +1` or `react -1`.")
            return
        if self._last is None:
            self.say("Nothing to rate yet: confirm a preview first, then react to its result.")
            return
        log_id = self._last.result.execution_log_id
        if self._rate is None:
            self.say(NO_RATINGS.format(reaction=f":{reaction}:", log_id=log_id))
            return
        self.say(await self._rate(log_id, self._where.user, reaction))


class _StdinLines:
    """Lines from stdin, read on a daemon thread so the event loop never blocks and Ctrl-C never hangs.

    The thread reads the next line only when asked, so a prompt never shows before the last answer.
    """

    def __init__(self, stream: TextIO, *, prompt: str | None) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue()
        self._wanted = threading.Event()
        loop = asyncio.get_running_loop()

        def read() -> None:
            while self._wanted.wait():
                self._wanted.clear()
                line: str | None
                try:
                    line = input(prompt) if prompt is not None else stream.readline()
                except (EOFError, OSError, ValueError):
                    line = None
                if line is None or (prompt is None and line == ""):
                    loop.call_soon_threadsafe(self._queue.put_nowait, None)
                    return
                loop.call_soon_threadsafe(self._queue.put_nowait, line)

        threading.Thread(target=read, name="console-stdin", daemon=True).start()

    async def next(self) -> str | None:
        """The next line, or None at the end of input."""
        self._wanted.set()
        return await self._queue.get()


async def run_console(
    settings: ConsoleSettings, stdin: TextIO, out: TextIO, *, rate: RateHook | None = None
) -> int:
    """Talk with one person until `quit` or the end of input; returns the exit code."""
    redis = connect(settings.redis_url)
    http = new_http_client(settings.zapier_timeout_seconds)
    try:
        store = Store(redis)
        zapier = ZapierClient(
            http,
            api_key=settings.zapier_api_key,
            base_url=settings.zapier_base_url,
            provider_id=settings.zapier_provider_id,
        )
        console = Console(
            ZapService(zapier, store, preview_ttl=settings.preview_ttl_seconds),
            out,
            user=getpass.getuser(),
            rate=rate,
        )
        redis_at = redacted_url(settings.redis_url)
        console.say(f"zapbot console: Zapier at {settings.zapier_base_url}, Redis at {redis_at}")
        try:
            await store.ping()
        except StoreError:
            console.say(f"Could not connect to Redis at {redacted_url(settings.redis_url)}. Is it running?")
            return 1
        try:
            who = await zapier.check_auth()
            account = " ".join(part for part in (who.name, f"<{who.email}>" if who.email else "") if part)
            console.say("Zapier accepted the API key" + (f" ({account})." if account else "."))
        except ZapierAuthError:
            console.say(
                "⚠️ Zapier rejected ZAPIER_API_KEY: previews will fail until it is fixed. "
                "Get a key at https://actions.zapier.com/credentials/"
            )
        except BotError as exc:
            console.say(f"⚠️ Could not check the Zapier key: {describe_zapier_problem(exc)}.")
        interactive = stdin.isatty()
        console.say("Type a /zap command, or `help`." + (" Ctrl-D to leave." if interactive else ""))
        lines = _StdinLines(stdin, prompt=PROMPT if interactive else None)
        while (line := await lines.next()) is not None:
            if not await console.handle(line):
                break
        console.say("Bye.")
        return 0
    finally:
        await http.aclose()
        await redis.aclose()


def main(argv: list[str]) -> int:
    if argv:
        print(
            "usage: python -m bot console   (reads ZAPIER_API_KEY, ZAPIER_BASE_URL, REDIS_URL)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = ConsoleSettings()
    except ValidationError as exc:
        print(describe_setup_error(exc, console=True), file=sys.stderr)
        return 2
    # Logs go to stderr and stay quiet (warnings only) unless LOG_LEVEL asks for more.
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    configure_logging(settings.log_format, level, redact=secret_values(settings))
    if sys.stdin.isatty():
        import readline  # noqa: F401, PLC0415 - line editing and history for input() in a terminal

    try:
        # The ratings feature passes its RateHook here once it is merged (see Console._react).
        return asyncio.run(run_console(settings, sys.stdin, sys.stdout))
    except KeyboardInterrupt:
        print("\nBye.")
        return 130
