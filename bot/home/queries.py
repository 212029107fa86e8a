"""What one person's home page shows (Slack's App Home), read from the stores and nothing else: their Zapier
connection, the previews waiting for their approval, their recent runs and their ratings.

Read-only and surface-neutral: the Slack edge (bot/slack/listeners/home.py) renders it. Everything here is
limited to what that person may see:
- previews of their workspace that the policy lets them confirm now (`Approvals.refusal` is None, and
  they have not approved it yet), and that name them: they asked for it, or the policy lists them (or a
  group of theirs). A preview that "anyone" (or anyone but its requester) in its channel may confirm is
  shown to the people zapbot has seen acting in that channel lately (bot/home/presence.py: their own `/zap`,
  mention or click there), since zapbot cannot list a channel's members (that would need Slack's
  `channels:read` / `groups:read` scopes, which the bot does not ask for); without that record, to its
  requester only;
- runs of their workspace that they asked for or confirmed;
- their own votes.

`concerned` names whose Home a change of a preview may change, at most MAX_CONCERNED of them, so that one
click never re-publishes hundreds of Homes (the others see it the next time they open the tab).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from bot.accounts import Accounts
from bot.approvals.policy import ConfirmBy
from bot.approvals.rules import Approvals
from bot.home.presence import Presence
from bot.ratings.store import RatingStore
from bot.runs.records import Preview
from bot.store import Store

WAITING_SCAN = 500  # pending previews read to find a person's (the soonest to expire first)
RECENT_SCAN = 500  # recent executions read to find a person's runs and votes
MAX_WAITING = 15
MAX_RUNS = 10
MAX_RATINGS = 10
KnownMembers = Callable[[str, str], Awaitable[list[str] | None]]  # (team, group) -> cached members

MAX_CONCERNED = 20  # Homes re-published for one change of a preview (bot/slack/listeners/home.py)


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
        presence: Presence | None = None,
        known_members: KnownMembers | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._approvals = approvals
        self._ratings = ratings
        self._accounts = accounts
        self._presence = presence  # who was seen in which channel; None: "anyone" previews to requesters
        # A user group's members as far as the cache knows them (no Slack call): whom a change concerns.
        self._known_members = known_members
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
        """The pending previews `user` may confirm now and that name them, or that anyone in a channel
        where they were seen may confirm (see the module's docstring)."""
        candidates = [
            preview
            for preview in await self._store.waiting_previews(self._clock(), WAITING_SCAN)
            if preview.team == team and user not in preview.approved_by
        ]
        open_to_all = [p.channel for p in candidates if not _names(p, user) and _open_to_channel(p)]
        seen = await self._presence.seen_in(user, open_to_all) if self._presence and open_to_all else set()
        mine = []
        for preview in candidates:
            if not _names(preview, user) and not (_open_to_channel(preview) and preview.channel in seen):
                continue
            if await self._approvals.refusal(preview, user) is None:
                mine.append(preview)
                if len(mine) == MAX_WAITING:
                    break
        return mine

    async def home_openers(self, team: str, people: list[str]) -> list[str]:
        """Those of `people` who opened their Home lately (home/presence.py); all of them without a record."""
        return await self._presence.home_openers(team, people) if self._presence is not None else people

    async def concerned(self, preview: Preview, limit: int = MAX_CONCERNED) -> list[str]:
        """Whose Home may show this preview (so a change to it may change their page): its requester, the
        people and group members the policy lists, and, when anyone in the channel may confirm it, the
        people most recently seen there. At most `limit`, in that order. StoreError when Redis fails."""
        confirm_by = ConfirmBy.decode(preview.confirm_by)
        people = [preview.requested_by, *confirm_by.users]
        for group in confirm_by.groups:
            if len(people) >= limit or self._known_members is None:
                break
            # Only cached members (USERGROUP_CACHE_SECONDS): a refresh makes no Slack call of its own; a
            # member the cache does not hold sees the preview when they open the tab.
            people += sorted(await self._known_members(preview.team, group) or ())
        if _open_to_channel(preview) and self._presence is not None and len(people) < limit:
            people += await self._presence.people(preview.channel, limit)
        return list(dict.fromkeys(p for p in people if p))[:limit]

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


def _open_to_channel(preview: Preview) -> bool:
    """Whether anyone in the preview's channel (or anyone but its requester) may confirm it."""
    return ConfirmBy.decode(preview.confirm_by).kind in ("anyone", "others")


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
