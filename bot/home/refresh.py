"""Keeping App Homes current: when a preview appears or changes (shown, approved, confirmed, cancelled,
edited, switched, expired), re-publish the Homes it concerns; when its run ends, those of the people it
ran for (their recent runs). A rating shows on the voter's Home the next time they open it.

Bounded, so that one click never turns into hundreds of Slack calls:
- only the Homes of people who opened theirs within HOME_SEEN_DAYS (bot/home/presence.py): anyone else's is
  drawn afresh when they open it anyway;
- at most `MAX_CONCERNED` Homes per change, in the order of home/queries.py `concerned` (the requester, the
  people and group members the policy lists, then those most recently seen in the channel; CONCERNED_SCAN
  of them read from Redis); anyone past the bound sees the change the next time they open the tab
  (`app_home_opened` always re-publishes);
- each person at most once per `coalesce` seconds in this process: a burst of changes (approvals arriving
  together) becomes one publish, which reads the page as it is by then;
- every publish is a best-effort task (`Deps.extras`, a bound of its own: it never takes a slot from
  people's work; past it, skipped and logged).
`zapbot_home_refreshes_total{outcome}` counts them: queued, coalesced, over_bound (changes past the bound).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any

from bot.errors import BotError
from bot.home.queries import MAX_CONCERNED, HomeQueries
from bot.ops.metrics import Metrics
from bot.ops.tasks import BackgroundTasks, TooBusy
from bot.runs.records import Preview

log = logging.getLogger(__name__)

COALESCE_SECONDS = 0.5
CONCERNED_SCAN = 200  # people read (Redis only) to find the Homes to re-publish, before the bound

Publish = Callable[[str, str], Awaitable[None]]  # (team, user): publish that person's Home; never raises


class HomeRefresher:
    def __init__(
        self,
        queries: HomeQueries,
        publish: Publish,
        tasks: BackgroundTasks,
        metrics: Metrics,
        *,
        coalesce: float = COALESCE_SECONDS,
        bound: int = MAX_CONCERNED,
    ) -> None:
        self._queries = queries
        self._publish = publish
        self._tasks = tasks
        self._metrics = metrics
        self._coalesce = coalesce
        self._bound = bound
        self._queued: set[tuple[str, str]] = set()

    def preview_changed(self, preview: Preview, *, ran_for: Sequence[str] = ()) -> None:
        """The run lifecycle's watcher (bot/runs/sending.py `PreviewWatch`): returns at once, never raises.
        A run that ended (`ran_for`) changes only the recent runs of the people it ran for."""
        self._spawn(self._refresh(preview, ran_for), "home-refresh")

    async def _refresh(self, preview: Preview, ran_for: Sequence[str]) -> None:
        try:
            people = list(ran_for) or await self._queries.concerned(preview, CONCERNED_SCAN)
            # A Home not opened lately is drawn afresh when it is: publishing it now would be wasted.
            people = await self._queries.home_openers(preview.team, people)
        except BotError as exc:
            log.warning("could not find whose Home shows preview %s: %s", preview.id, type(exc).__name__)
            return
        if len(people) > self._bound:
            self._metrics.home_refresh("over_bound")
            log.info("preview %s concerns over %d Homes: the rest see it on opening", preview.id, self._bound)
            people = people[: self._bound]
        for user in people:
            key = (preview.team, user)
            if key in self._queued:
                self._metrics.home_refresh("coalesced")
                continue
            self._queued.add(key)
            if self._spawn(self._publish_soon(key), "home-publish"):
                self._metrics.home_refresh("queued")
            else:
                self._queued.discard(key)

    async def _publish_soon(self, key: tuple[str, str]) -> None:
        try:
            await asyncio.sleep(self._coalesce)
        finally:
            self._queued.discard(key)  # from here on, a further change queues another publish
        await self._publish(*key)

    def _spawn(self, job: Coroutine[Any, Any, None], name: str) -> bool:
        try:
            self._tasks.spawn(job, name=name)  # closes the job when it refuses it
        except TooBusy:
            log.info("skipped %s: too many tasks in flight (the Home is fresh on its next opening)", name)
            return False
        return True
