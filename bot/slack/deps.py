"""What the Slack handlers need, built once by the composition root and passed in."""

from __future__ import annotations

from dataclasses import dataclass, field

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.audit import Audit
from bot.approvals.rules import Approvals
from bot.commands.context import Handler, Services
from bot.home.presence import Presence
from bot.ops.metrics import Metrics
from bot.ops.tasks import BackgroundTasks
from bot.ratings.service import Ratings
from bot.runs.lifecycle import Runs
from bot.runs.service import Where
from bot.slack.access import SlackAccess
from bot.slack.replies import Privately
from bot.store import Store

EXTRAS_LIMIT = 200  # best-effort tasks in flight per process (`Deps.extras`)


@dataclass(frozen=True)
class CommandContext:
    """Where a /zap subcommand came from and how to answer the person who typed it."""

    where: Where
    privately: Privately
    trigger_id: str | None = None  # for opening a modal (valid for 3 s after the command)


@dataclass
class Deps:
    runs: Runs  # a run's whole life (bot/runs/): every listener hands its input to it
    store: Store
    slack: AsyncWebClient  # the bot token's client, shared by all background work
    slack_http: aiohttp.ClientSession  # also carries posts to response_urls
    tasks: BackgroundTasks
    approvals: (
        Approvals  # team confirmation: who may confirm, N-of-M approvals, edits (bot/approvals/rules.py)
    )
    audit: Audit  # the audit trail; any feature may `await deps.audit.append(...)` (bot/approvals/audit.py)
    services: Services  # what the `/zap` words' handlers use (bot/commands/), the console's too
    subcommands: dict[str, Handler] = field(default_factory=dict)  # bot/commands/table.py, plus the form
    # Text that is neither a built-in word nor an app key (plain English, or a shortcut's name); the text
    # comes as `args`. Without a handler such text gets the usage help.
    plain_text: Handler | None = None
    metrics: Metrics = field(default_factory=Metrics)  # the app's own registry, served at GET /metrics
    ratings: Ratings | None = None  # reactions, feedback and `/zap ratings`; None: reactions are ignored
    slack_access: SlackAccess | None = None  # whether Slack accepts the bot token (bot/slack/access.py)
    # Who acted with zapbot in which channel (bot/home/presence.py): what the App Home may show them.
    presence: Presence | None = None
    # Best-effort work nobody waits for (App Home refreshes, presence records), under a bound of its own so
    # that it never takes a slot from people's work in `tasks`; drained briefly at shutdown.
    extras: BackgroundTasks = field(default_factory=lambda: BackgroundTasks(limit=EXTRAS_LIMIT))
