"""`python -m bot console`: talk to zapbot in a terminal, no Slack needed (like Hubot's shell adapter).

The console is one more surface of the same run lifecycle as Slack (bot/runs/): the same policy, approvals,
audit trail, outbox and ratings, the real Zapier client and Redis. Only the edge differs: lines from stdin
instead of Slack requests, and the very messages the bot would post, rendered as plain text. The console
user is one person (their login name); `--as USER` acts as someone else (a second approver).
It needs ZAPIER_API_KEY (and ZAPIER_BASE_URL, REDIS_URL if not the defaults), never a Slack token.
"""

from __future__ import annotations

import asyncio
import getpass
import itertools
import logging
import sys
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TextIO

from pydantic import ValidationError

from bot.approvals.audit import Audit
from bot.approvals.policy import Policy, PolicyError, load_policy_file
from bot.approvals.rules import Approvals, editable_params
from bot.approvals.store import TeamStore
from bot.commands.context import Asked, Services
from bot.commands.english import plain_text
from bot.commands.table import commands
from bot.discovery.finder import Finder
from bot.discovery.grammar import HelpCommand, PlainCommand, SubCommand, parse_command
from bot.discovery.shortcuts import ShortcutBook
from bot.discovery.store import DiscoveryStore
from bot.errors import BotError, StoreError, UsageError, ZapierAuthError
from bot.ops.logs import configure_logging, new_request_id, redacted_url, secret_values
from bot.ops.readiness import describe_zapier_problem
from bot.ops.setup_help import describe_setup_error
from bot.ratings.delivery import DeliveryTiming
from bot.ratings.delivery import DeliveryWorker as RatingDelivery
from bot.ratings.emoji import parse_rating_emoji
from bot.ratings.service import Ratings, Reaction
from bot.ratings.store import RatingStore
from bot.render.messages import USAGE, entities
from bot.render.plaintext import message_to_text, mrkdwn_to_text
from bot.runs.delivery import DeliveryWorker
from bot.runs.lifecycle import Runs
from bot.runs.outbox import Outbox
from bot.runs.ports import Message
from bot.runs.records import Preview
from bot.runs.service import Where, ZapService
from bot.settings import ConsoleSettings
from bot.store import connect
from bot.zapier.client import ZapierClient, new_http_client

log = logging.getLogger(__name__)

PROMPT = "zap> "
CONSOLE = "console"  # the team and channel of everything done here (Redis records say where they came from)

HELP = """Console commands (the /zap is optional):
  /zap APP ACTION ... INSTRUCTIONS   ask Zapier for a preview of that action
  /zap what you want, in plain words the best-fitting action, previewed; `pick N` switches to candidate N
  /zap apps QUERY                    find app keys;  /zap actions APP [QUERY]  list an app's actions
  /zap save NAME = APP ACTION ...    save a shortcut; /zap NAME [more words] runs it;
  /zap shortcuts · /zap forget NAME  list them, remove one
  /zap ratings [APP] · /zap audit [N] how actions were rated; the last N steps here
  confirm                            approve the last preview: it runs exactly as previewed once the
                                     policy's approvals are complete (`--as USER` acts as someone else)
  as USER                            act as USER from now on (the policy's second pair of eyes)
  cancel                             drop the last preview; nothing runs
  edit                               change the last preview's params, one prompt each (Enter keeps one)
  react +1 | react -1                rate the last result, as a Slack reaction would (sent to Zapier)
  help                               this text
  quit                               leave (Ctrl-D works too)
"""


# The grammar and examples of Slack's help; the rest of it (the form, the Home tab...) is Slack's own.
GRAMMAR = mrkdwn_to_text(USAGE.split("*Don't know the keys?*")[0])


class NoGroups:
    """The console has no Slack user groups: a policy naming one finds nobody in it."""

    async def members(self, team: str, group: str) -> frozenset[str]:
        return frozenset()


@dataclass
class ConsoleSurface:
    """The run lifecycle's surface (bot/runs/ports.py) in a terminal: every message printed as text."""

    out: TextIO
    label: str = ""  # e.g. DEMO: marks everything printed
    posted: dict[str, Message] = field(default_factory=dict)
    last_in_thread: str = ""  # the ts of the newest reply in a thread: the last result, to react to
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def print(self, text: str) -> None:
        self.out.write((f"[{self.label}] " if self.label else "") + text.rstrip("\n") + "\n")
        self.out.flush()

    async def post(
        self, channel: str, message: Message, *, thread_ts: str | None = None, marker: str = ""
    ) -> str:
        ts = f"{int(time.time())}.{next(self._ids):06d}"
        self.posted[ts] = message
        if thread_ts:
            self.last_in_thread = ts
        self.print(message_to_text(message))
        return ts

    async def find_post(self, channel: str, thread_ts: str, marker: str, *, since: float = 0.0) -> str | None:
        return None  # a print to the terminal cannot fail half-way: nothing to look for

    async def update(self, channel: str, ts: str, message: Message) -> None:
        self.posted[ts] = message
        self.print("(preview updated) " + message_to_text(message))

    async def whisper(self, channel: str, user: str, message: Message) -> None:
        self.print(message_to_text(message))

    async def direct(self, user: str, message: Message) -> None:
        self.print(message_to_text(message))

    async def upload(
        self, channel: str, content: str, *, filename: str, title: str, thread_ts: str | None
    ) -> None:
        self.print(f"(file {filename}: {title})\n{content}")


@dataclass(frozen=True)
class ConsolePerson:
    surface: ConsoleSurface
    user: str

    async def send(self, message: Message) -> None:
        self.surface.print(message_to_text(message))

    async def say(self, text: str) -> None:
        self.surface.print(mrkdwn_to_text(text))


class Console:
    """One person's conversation with the bot. `handle` takes a line and returns False to quit."""

    def __init__(
        self,
        runs: Runs,
        surface: ConsoleSurface,
        delivery: DeliveryWorker,
        *,
        user: str,
        ratings: Ratings | None = None,
        rating_delivery: RatingDelivery | None = None,
        services: Services | None = None,
        ask: Callable[[str], Awaitable[str | None]] | None = None,
    ) -> None:
        self._runs = runs
        self._surface = surface
        self._delivery = delivery
        self._ratings = ratings
        self._rating_delivery = rating_delivery
        self._where = Where(team=CONSOLE, channel=CONSOLE, user=user)
        self._person = ConsolePerson(surface, user)
        self._preview: Preview | None = None
        self._services = services or Services(runs, runs.audit, ratings=ratings)
        self._table = commands(self._services)
        self._ask = ask  # reads one more line (the edit prompts); None: edit is not offered

    def say(self, text: str) -> None:
        self._surface.print(text)

    async def handle(self, line: str) -> bool:
        words = line.strip().split()
        if not words:
            return True
        word = words[0].lower()
        if word in {"quit", "exit", "bye"}:
            return False
        if word in {"help", "?"} and len(words) == 1:
            self.say(HELP + "\n" + GRAMMAR)
        elif word in {"confirm", "cancel"} and len(words) == 1:
            await self._decide(confirm=word == "confirm")
        elif word == "as" and len(words) == 2:
            self._where = Where(team=CONSOLE, channel=CONSOLE, user=words[1])
            self._person = ConsolePerson(self._surface, words[1])
            self.say(f"You are now {words[1]}: your clicks count as theirs (a second approver, say).")
        elif word == "edit" and len(words) == 1:
            await self._edit()
        elif word == "pick" and len(words) == 2 and words[1].isdigit():
            await self._pick(int(words[1]))
        elif word == "react":
            await self._react(words[1] if len(words) > 1 else "")
        else:
            await self._command(line.strip().removeprefix("/zap").strip())
        await self._flush()
        return True

    async def _flush(self) -> None:
        """Deliver what the lifecycle queued (outcomes, preview updates) before the next prompt."""
        while await self._delivery.deliver_due():
            pass

    async def _command(self, text: str) -> None:
        new_request_id()
        try:
            # Slack escapes &, < and > in what people type; do the same, so `<b>` is text, not a link.
            parsed = parse_command(entities(text))
        except UsageError as exc:
            self.say(f"⚠️ {mrkdwn_to_text(exc.problem)}\nType `help` for the grammar and examples.")
            return
        if isinstance(parsed, HelpCommand):
            problem = f"⚠️ {mrkdwn_to_text(parsed.problem)}\n\n" if parsed.problem else ""
            self.say(problem + HELP + "\n" + GRAMMAR)
            return
        asked = Asked(self._where, self._person)
        if isinstance(parsed, SubCommand):
            handler = self._table.get(parsed.name)
            if handler is None:
                self.say(f"`/zap {parsed.name}` is Slack's only (it opens a Slack form); type `help`.")
                return
            await handler(self._services, parsed.args, asked)
            return
        if isinstance(parsed, PlainCommand):
            self.say("Looking for the Zapier action that fits…")
            self._keep(await plain_text(self._services, parsed.text, asked))
            return
        request = parsed.request
        self.say(f"Asking Zapier for a preview of `{request.app} {request.action}`…")
        self._keep(await self._runs.request(request, self._where, self._person, thread_ts=None))

    def _keep(self, preview: Preview | None) -> None:
        if preview is not None:
            self._preview = preview
            if preview.state.value == "pending":
                self.say("Type `confirm` to run it, `edit` to change it, or `cancel`.")

    async def _pick(self, index: int) -> None:
        if self._preview is None:
            self.say("Nothing to switch: ask in plain words first.")
            return
        new = await self._runs.changes.switch(f"{self._preview.id}:{index - 1}", self._where, self._person)
        self._keep(new)

    async def _edit(self) -> None:
        preview = self._preview
        if preview is None or self._ask is None:
            self.say("Nothing to edit: send a /zap command first.")
            return
        editable = await self._runs.changes.editable(preview.id, self._where, self._person)
        if editable is None:
            return
        values = {}
        for key, current in editable_params(editable).items():
            answer = await self._ask(f"{key} [{current}]: ")
            if answer is None:
                self.say("Edit abandoned: nothing changed.")
                return
            values[key] = answer.strip() or current
        await self._runs.changes.edit(
            editable.id, self._where, self._person, seen=editable.fingerprint, values=values
        )
        latest = await self._runs.store.get_preview(editable.id)
        self._keep(latest)

    async def _decide(self, *, confirm: bool) -> None:
        preview = self._preview
        if preview is None:
            self.say(f"Nothing to {'confirm' if confirm else 'cancel'}: send a /zap command first.")
            return
        if confirm:
            await self._runs.confirm(f"{preview.id}:{preview.fingerprint}", self._where, self._person)
        else:
            await self._runs.cancel(preview.id, self._where, self._person)

    async def _react(self, reaction: str) -> None:
        reaction = reaction.strip(":")
        if not reaction:
            self.say("Say which reaction: `react +1` or `react -1`.")
            return
        ts = self._surface.last_in_thread
        if not ts:
            self.say("Nothing to rate yet: confirm a preview first, then react to its result.")
            return
        if self._ratings is None or not self._ratings.counts(reaction):
            self.say(f":{reaction}: is not a rating: use `react +1` or `react -1`.")
            return
        try:
            tally = await self._ratings.react(
                Reaction(CONSOLE, ts, self._where.user, reaction, added=True, event_ts=f"{time.time():.6f}")
            )
        except BotError as exc:
            self.say(f"⚠️ The rating was not recorded: {exc}")
            return
        if tally is None:
            self.say("That message shows no result to rate.")
            return
        self.say(f"Rated {tally.execution_log_id}: rating {tally.rating:+d}.")
        if self._rating_delivery is not None:
            # Sent now (no coalescing in a terminal): Zapier's rate endpoint hears it before the next prompt.
            await self._rating_delivery.run_once()


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


def _services(
    settings: ConsoleSettings,
    store: TeamStore,
    zapier: ZapierClient,
    rater: ZapierClient,
    *,
    surface: ConsoleSurface,
    policy: Policy,
) -> tuple[Services, RatingDelivery]:
    """The same services as Slack's (bot/runtime.py), shown in the terminal; ratings sent at once."""
    audit = Audit(store, max_entries=settings.audit_max_entries)
    runs = Runs(
        ZapService(zapier, store, preview_ttl=settings.preview_ttl_seconds, policy=policy),
        store,
        Outbox(store),
        surface=surface,
        audit=audit,
        approvals=Approvals(store, NoGroups()),
    )
    rating_store = RatingStore(store.redis, store)
    emoji = parse_rating_emoji(settings.rating_emoji)
    ratings = Ratings(rating_store, store, emoji, audit=audit, coalesce_seconds=0.0)
    timing = DeliveryTiming(coalesce=0.0, poll=0.2, retry_base=1.0, retry_max=30.0, lease=60.0)
    found = DiscoveryStore(store.redis)
    finder = Finder(
        zapier, found, guess_count=settings.guess_count, cache_seconds=settings.lookup_cache_seconds
    )
    services = Services(runs, audit, finder=finder, shortcuts=ShortcutBook(found), ratings=ratings)
    return services, RatingDelivery(rating_store, rater, timing)


async def run_console(
    settings: ConsoleSettings, stdin: TextIO, out: TextIO, *, user: str | None = None, label: str = ""
) -> int:
    """Talk with one person until `quit` or the end of input; returns the exit code.

    `label` (e.g. DEMO) marks everything printed and the prompt; the Zapier backend is whatever `settings`
    point at (the demo gives the URL and key of its simulator)."""
    try:
        policy = load_policy_file(settings.policy_file)  # the same policy as in Slack
    except PolicyError as exc:
        out.write("Configuration error: " + " ".join(str(exc).splitlines()) + "\n")
        return 2
    redis = connect(settings.redis_url)
    http = new_http_client(settings.zapier_timeout_seconds)
    rating_http = new_http_client(settings.rating_timeout_seconds)
    try:
        store = TeamStore(redis)
        # Shared on purpose: the terminal has no Slack person whose account could be connected, so every
        # preview, run, look-up and rating here uses ZAPIER_API_KEY (main() refuses to start without it).
        zapier = ZapierClient(
            http,
            api_key=settings.zapier_api_key,
            base_url=settings.zapier_base_url,
            provider_id=settings.zapier_provider_id,
        )
        rater = ZapierClient(
            rating_http, api_key=settings.zapier_api_key, base_url=settings.zapier_base_url, retries=0
        )
        surface = ConsoleSurface(out, label=label)
        services, rating_delivery = _services(settings, store, zapier, rater, surface=surface, policy=policy)
        runs = services.runs
        interactive = stdin.isatty()
        prompt = f"zap {label}> " if label else PROMPT
        lines = _StdinLines(stdin, prompt=prompt if interactive else None)

        async def ask(question: str) -> str | None:
            surface.print(question)
            return await lines.next()

        console = Console(
            runs,
            surface,
            DeliveryWorker(runs.outbox, surface, store),
            user=user or getpass.getuser(),
            ratings=services.ratings,
            rating_delivery=rating_delivery,
            services=services,
            ask=ask,
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
        console.say("Type a /zap command, or `help`." + (" Ctrl-D to leave." if interactive else ""))
        while (line := await lines.next()) is not None:
            if not await console.handle(line):
                break
        console.say("Bye.")
        return 0
    finally:
        await http.aclose()
        await rating_http.aclose()
        await redis.aclose()


NEEDS_KEY = (
    "The console runs every action with the shared Zapier account: set ZAPIER_API_KEY (from "
    "https://actions.zapier.com/credentials/). Per-user accounts (ZAPIER_OAUTH_CLIENT_ID) are for Slack, "
    "where each person connects their own; or try scripts/run demo."
)


def main(argv: list[str]) -> int:
    user = None
    if argv[:1] == ["--as"] and len(argv) == 2:
        user, argv = argv[1], []
    if argv:
        print(
            "usage: python -m bot console [--as USER]   (reads ZAPIER_API_KEY, ZAPIER_BASE_URL, REDIS_URL)",
            file=sys.stderr,
        )
        return 2
    try:
        settings = ConsoleSettings()
    except ValidationError as exc:
        print(describe_setup_error(exc, console=True), file=sys.stderr)
        return 2
    if settings.zapier_api_key is None:
        # Per-user accounts need a Slack person to connect; the terminal has none, so the shared key it is.
        print(NEEDS_KEY, file=sys.stderr)
        return 2
    # Logs go to stderr and stay quiet (warnings only) unless LOG_LEVEL asks for more.
    level = settings.log_level if "log_level" in settings.model_fields_set else "WARNING"
    configure_logging(settings.log_format, level, redact=secret_values(settings))
    if sys.stdin.isatty():
        import readline  # noqa: F401, PLC0415 - line editing and history for input() in a terminal

    try:
        return asyncio.run(run_console(settings, sys.stdin, sys.stdout, user=user))
    except KeyboardInterrupt:
        print("\nBye.")
        return 130
