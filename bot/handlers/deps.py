"""What the Slack handlers need, built once by the composition root and passed in."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals import Approvals
from bot.audit import Audit
from bot.handlers.replies import Privately
from bot.metrics import Metrics
from bot.ratings.service import Ratings
from bot.runs.lifecycle import Runs
from bot.runs.service import Where
from bot.slack_access import SlackAccess
from bot.store import Store
from bot.tasks import BackgroundTasks


@dataclass(frozen=True)
class CommandContext:
    """Where a /zap subcommand came from and how to answer the person who typed it."""

    where: Where
    privately: Privately
    trigger_id: str | None = None  # for opening a modal (valid for 3 s after the command)


# A built-in subcommand (`/zap ratings`, `/zap audit`, ...): runs in the background after the ack.
SubcommandHandler = Callable[["Deps", str, CommandContext], Coroutine[Any, Any, None]]


@dataclass
class Deps:
    runs: Runs  # a run's whole life (bot/runs/): every listener hands its input to it
    store: Store
    slack: AsyncWebClient  # the bot token's client, shared by all background work
    slack_http: aiohttp.ClientSession  # also carries posts to response_urls
    tasks: BackgroundTasks
    approvals: Approvals  # team confirmation: who may confirm, N-of-M approvals, edits (bot/approvals.py)
    audit: Audit  # the audit trail; any feature may `await deps.audit.append(...)` (bot/audit.py)
    subcommands: dict[str, SubcommandHandler] = field(default_factory=dict)
    # Text that is neither a built-in word nor an app key (plain English, or a shortcut's name); the text
    # comes as `args`. Without a handler such text gets the usage help.
    plain_text: SubcommandHandler | None = None
    metrics: Metrics = field(default_factory=Metrics)  # the app's own registry, served at GET /metrics
    ratings: Ratings | None = None  # reactions, feedback and `/zap ratings`; None: reactions are ignored
    slack_access: SlackAccess | None = None  # whether Slack accepts the bot token (bot/slack_access.py)
