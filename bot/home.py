"""What one person's home page shows (Slack's App Home), read from the stores and nothing else: their Zapier
connection, the previews waiting for their approval, their recent runs and their ratings.

Read-only and surface-neutral: the Slack edge (bot/slack/listeners/home.py) renders it. Everything here is
limited to what that person may see:
- previews of their workspace that the policy lets them confirm now (`Approvals.refusal` is None, and
  they have not approved it yet), and that name them: they asked for it, or the policy lists them (or a
  group of theirs). A preview that "anyone" in its channel may confirm is shown to its requester only,
  since zapbot does not know who else is in that channel (that would need Slack's `channels:read` /
  `groups:read` scopes, which the bot does not ask for);
- runs of their workspace that they asked for or confirmed;
- their own votes.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from bot.accounts import Accounts
from bot.approvals.policy import ConfirmBy
from bot.approvals.rules import Approvals
from bot.ratings.store import RatingStore
from bot.runs.records import Preview
from bot.store import Store

WAITING_SCAN = 500  # pending previews read to find a person's (the soonest to expire first)
RECENT_SCAN = 500  # recent executions read to find a person's runs and votes
MAX_WAITING = 15
MAX_RUNS = 10
MAX_RATINGS = 10


@dataclass(frozen=True)
class Connection:
    """Per-user accounts: whether this person is connected; `connect_url` when not (a fresh link)."""

    connected: bool
    connect_url: str | None = None


@dataclass(frozen=True)
class Run:
    """One run this person asked for or confirmed. `thread_ts`: the thread in `channel` that shows it."""

    execution_log_id: str
    app: str
    action: str
    status: str  # Zapier's status of the run: success, empty, error...
    channel: str
    thread_ts: str
    asked: bool  # they asked for it (else they confirmed it)
    at: float


@dataclass(frozen=True)
class Vote:
    """This person's vote on an execution they rated."""

    execution_log_id: str
    app: str
    action: str
    vote: int  # 1 or -1
    channel: str
    thread_ts: str


@dataclass(frozen=True)
class HomePage:
    """What one person's home shows. `connection` is None when per-user accounts are off."""

    team: str
    user: str
    connection: Connection | None
    waiting: list[Preview]
    runs: list[Run]
    votes: list[Vote]


class HomeQueries:
    """Reads one person's home page."""

    def __init__(
        self,
        store: Store,
        approvals: Approvals,
        ratings: RatingStore | None = None,
        accounts: Accounts | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._approvals = approvals
        self._ratings = ratings
        self._accounts = accounts
        self._clock = clock

    async def page(self, team: str, user: str) -> HomePage:
        """Everything the home page of `user` in `team` shows. StoreError when Redis does not answer."""
        recent = await self._store.executions(await self._store.recent_executions(RECENT_SCAN))
        recent = [row for row in recent if row.get("team") == team]
        return HomePage(
            team,
            user,
            await self.connection(team, user),
            await self.waiting(team, user),
            runs_of(user, recent),
            await self._votes(user, recent),
        )

    async def connection(self, team: str, user: str) -> Connection | None:
        if self._accounts is None:
            return None
        if await self._accounts.connected(team, user):
            return Connection(True)
        return Connection(False, await self._accounts.connect_url(team, user))

    async def waiting(self, team: str, user: str) -> list[Preview]:
        """The pending previews `user` may confirm now and that name them (see the module's docstring)."""
        mine = []
        for preview in await self._store.waiting_previews(self._clock(), WAITING_SCAN):
            if preview.team != team or user in preview.approved_by or not _names(preview, user):
                continue
            if await self._approvals.refusal(preview, user) is None:
                mine.append(preview)
                if len(mine) == MAX_WAITING:
                    break
        return mine

    async def _votes(self, user: str, recent: list[dict[str, str]]) -> list[Vote]:
        if self._ratings is None:
            return []
        ids = [row["execution_log_id"] for row in recent]
        votes = await self._ratings.votes_of(user, ids)
        return [
            Vote(
                row["execution_log_id"],
                row.get("app", ""),
                row.get("action", ""),
                votes[row["execution_log_id"]],
                row.get("channel", ""),
                row.get("thread_ts", "") or row.get("message_ts", ""),
            )
            for row in recent
            if row["execution_log_id"] in votes
        ][:MAX_RATINGS]


def _names(preview: Preview, user: str) -> bool:
    """Whether the preview names `user`: they asked for it, or its policy lists people or groups (whose
    membership `Approvals.refusal` then checks)."""
    confirm_by = ConfirmBy.decode(preview.confirm_by)
    return user == preview.requested_by or (
        confirm_by.kind == "listed" and (user in confirm_by.users or bool(confirm_by.groups))
    )


def runs_of(user: str, recent: list[dict[str, str]]) -> list[Run]:
    """The confirmed runs among `recent` (newest first) that `user` asked for or confirmed."""
    runs = []
    for row in recent:
        if row.get("kind") != "run" or user not in (row.get("requested_by"), row.get("confirmed_by")):
            continue
        runs.append(
            Run(
                row["execution_log_id"],
                row.get("app", ""),
                row.get("action", ""),
                row.get("status", ""),
                row.get("channel", ""),
                row.get("thread_ts", "") or row.get("message_ts", ""),
                row.get("requested_by") == user,
                float(row.get("created_at") or 0),
            )
        )
        if len(runs) == MAX_RUNS:
            break
    return runs
