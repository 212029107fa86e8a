"""The outbox's worker: sends what is due through the surface, paced by what the surface says.

- Taken: removed from the outbox; a posted message that shows an execution is recorded for reactions.
- Rate-limited: the item, and every other item under the same limit (posts: that channel; updates and
  ephemerals: the workspace, Slack's tiers), waits `Retry-After` plus a little jitter (so refused sends
  do not all retry in the same second), and is re-queued: nobody sleeps on it (the expiry sweeper's
  updates included: it queues them and goes on).
- Too big for the surface: its shorter `fallback` is sent instead. (Messages are rendered within Slack's
  size (bot/render/budget.py), so this is a safety net. A result cut to fit has its whole text attached
  to the thread as a file first: `attach_now`.)
- Refused for good (the bot is not in the channel, the channel is gone or archived): the people in `tell`
  are told privately what it said, and the item is dropped.
- Anything else (a timeout, a reset, Slack down): retried with backoff for up to a day, then logged as an
  error. A thread reply that may have been posted before the failure (a timeout or a reset after the
  request went out) is not blindly sent again: every post carries its item's id in Slack message metadata,
  and before the next try the thread is searched for it (`Surface.find_post`); found, it is delivered.
  Only where the surface can never tell (no history scope) is it sent again: a duplicate is better than a
  lost outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import secrets
import socket
import time

from bot.errors import BotError
from bot.ops.metrics import Metrics
from bot.ops.stopping import wait_stopped
from bot.runs.limits import ChannelPace
from bot.runs.outbox import ITEM_SECONDS, Item, Outbox
from bot.runs.ports import Availability, DeliveryError, Surface
from bot.store import Store

log = logging.getLogger(__name__)

BATCH = 20
HOLD_SECONDS = 20.0  # a claimed item returns to the queue if its worker has not finished it by then
# (longer than one Slack call may take: SLACK_TIMEOUT_SECONDS, 15 s by default). A worker that died is
# known sooner: its heartbeat lapses after the outbox's `lease_seconds` (OUTBOX_LEASE_SECONDS), and the
# next claim of any worker takes its items over (bot/runs/outbox.py).
SPREAD = 0.25  # seconds between the sends a rate limit held back, when it ends (`_next_turn`)
KEPT_LIMITS = 1000  # limits (channels) remembered before those already over are forgotten
RETRY_BASE = 1.0
RETRY_MAX = 300.0


class DeliveryWorker:
    def __init__(
        self,
        outbox: Outbox,
        surface: Surface,
        store: Store,
        *,
        metrics: Metrics | None = None,
        poll: float = 0.5,
        access: Availability | None = None,
        pace: ChannelPace | None = None,
    ) -> None:
        self._outbox = outbox
        self._access = access  # while Slack refuses the token, nothing is claimed: it all stays queued
        self._surface = surface
        self._store = store
        self._metrics = metrics or Metrics()
        self._poll = poll
        self._wake = asyncio.Event()
        self._stopping = False
        self._deadline = 0.0  # when stopping: until when what falls due is still delivered here
        self._task: asyncio.Task[None] | None = None
        self._blocked: dict[str, float] = {}  # a limit (`_limit_of`) -> when Slack takes sends under it again
        self._turns: dict[str, float] = {}  # a limit -> the next free turn of what waits for it
        self._pace = pace  # posts wait their turn in each channel (bot/runs/limits.py)
        # Who claims (host, process, and a token: a restarted process with the same pid is another).
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"
        self._heart: asyncio.Task[None] | None = None
        outbox.on_enqueue(self.kick)

    def kick(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="outbox-delivery")
        self._heart = asyncio.create_task(self._beat(), name="outbox-heartbeat")

    async def _beat(self) -> None:
        """Tell the other workers this one is alive, three times a lease (the sends it holds stay its own)."""
        while True:
            try:
                await self._outbox.beat(self.holder)
            except BotError as exc:
                log.warning("outbox heartbeat skipped: %s", exc)
            await asyncio.sleep(self._outbox.lease_seconds / 3)

    async def stop(self, *, flush_seconds: float = 5.0) -> None:
        """Deliver what is due for up to `flush_seconds` (what is left stays queued for another replica)."""
        if self._task is None:
            return
        self._stopping = True
        self._deadline = time.time() + flush_seconds
        self._wake.set()
        try:
            await asyncio.wait_for(asyncio.shield(self._task), flush_seconds)
        except TimeoutError:
            self._task.cancel()
            # Bounded: the loop also ends by itself past the deadline, should a cancellation be lost in a
            # Redis command (redis-py sometimes loses one, bot/runs/keeper.py).
            await wait_stopped("the outbox's delivery", self._task, 1.0)
        if self._heart is not None:
            self._heart.cancel()
            await wait_stopped("the outbox's heartbeat", self._heart, 1.0)
        with contextlib.suppress(BotError):  # what it still holds goes to the others now
            await self._outbox.leave(self.holder)

    async def _loop(self) -> None:
        while True:
            self._wake.clear()
            try:
                sent = await self.deliver_due()
            except BotError as exc:
                log.warning("outbox unavailable: %s", exc)
                sent = 0
            except Exception:
                log.exception("outbox delivery failed")
                sent = 0
            if self._stopping and time.time() >= self._deadline:
                return  # what is left stays queued for another replica
            if self._stopping and sent == 0 and not await self._due_before_deadline():
                return
            if sent == BATCH:
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), await self._until_next())

    async def _until_next(self) -> float:
        """How long to wait for the next item: until it is due (a retry's turn), at most one poll."""
        try:
            due = await self._outbox.next_due()
        except BotError:
            return self._poll
        if due is None:
            return self._poll
        return min(self._poll, max(0.01, due - time.time()))

    async def _due_before_deadline(self) -> bool:
        """While stopping: whether an item (e.g. a post waiting its turn in the channel) falls due before
        the flush's deadline; if so, wait for it rather than leave it to another replica."""
        try:
            due = await self._outbox.next_due()
        except BotError:
            return False
        if due is None or due > self._deadline:
            return False
        await asyncio.sleep(max(0.0, due - time.time()))
        return True

    async def deliver_due(self) -> int:
        """Send every item due now (one batch); returns how many were claimed."""
        if self._access is not None and not self._access.usable:
            return 0
        items = await self._outbox.claim(limit=BATCH, hold_seconds=HOLD_SECONDS, holder=self.holder)
        if items:
            await asyncio.gather(*(self._deliver(item) for item in items))
        return len(items)

    async def _deliver(self, item: Item) -> None:
        now = time.time()
        scope = _limit_of(item)
        blocked = self._blocked.get(scope, 0.0)
        if blocked > now:
            await self._outbox.retry(item, at=self._next_turn(scope, blocked))
            return
        if item.attach_now and item.attachment:
            await self._attach_first(item)
            return
        if self._pace is not None and item.kind in ("post", "direct"):
            wait = await self._pace.wait(item.channel or item.user)
            if wait > 0:
                await self._outbox.retry(item, at=now + wait)
                return
        if item.maybe_posted and item.kind == "post" and item.thread_ts:
            found = await self._look_for(item)
            if found is None:
                return  # cannot tell yet: re-queued
        else:
            found = ""
        try:
            ts = found or await self._send(item)
        except DeliveryError as exc:
            await self._failed(item, exc)
            return
        self._metrics.outbox("delivered")
        await self._outbox.done(item)
        if item.record and ts:
            try:
                await self._store.map_message(item.channel, ts, item.record)
            except BotError as exc:
                log.warning("could not record message %s for reactions: %s", ts, exc)

    def _next_turn(self, scope: str, blocked: float) -> float:
        """When a send held back by a rate limit goes again: after the limit's end, one `SPREAD` apart
        from the others held back by it (with a little jitter), so that they do not all meet the limit
        again in the same instant."""
        turn = max(blocked, self._turns.get(scope, 0.0)) + random.uniform(0, SPREAD / 2)  # noqa: S311 - jitter
        self._turns[scope] = turn + SPREAD
        if len(self._turns) > KEPT_LIMITS:  # one entry per channel ever limited: forget those long past
            now = time.time()
            self._turns = {k: t for k, t in self._turns.items() if t > now}
            self._blocked = {k: t for k, t in self._blocked.items() if t > now}
        return turn

    async def _look_for(self, item: Item) -> str | None:
        """Whether a post that may have landed did: its ts if found, "" if not (send it), None when the
        surface cannot tell now (the item is re-queued)."""
        try:
            ts = await self._surface.find_post(item.channel, item.thread_ts, item.id)
        except DeliveryError as exc:
            if exc.permanent:
                log.warning(
                    "outbox item %s may have been posted, and %s: sending it again", item.id, exc.code
                )
                return ""
            await self._failed(item, exc)
            return None
        if ts:
            log.info("outbox item %s was posted before its answer was lost (%s): not sent again", item.id, ts)
            self._metrics.outbox("found_posted")
        return ts or ""

    async def _send(self, item: Item) -> str:
        s = self._surface
        if item.kind == "post":
            return await s.post(item.channel, item.message, thread_ts=item.thread_ts or None, marker=item.id)
        if item.kind == "update":
            await s.update(item.channel, item.ts, item.message)
        elif item.kind == "whisper":
            await s.whisper(item.channel, item.user, item.message)
        else:
            await s.direct(item.user, item.message)
        return ""

    async def _failed(self, item: Item, exc: DeliveryError) -> None:
        now = time.time()
        if exc.retry_after is not None:
            self._metrics.outbox("rate_limited")
            until = now + exc.retry_after
            scope = _limit_of(item)
            self._blocked[scope] = max(self._blocked.get(scope, 0.0), until)
            await self._outbox.retry(item, at=self._next_turn(scope, until))
            return
        if exc.too_big and item.fallback is not None:
            log.info("outbox item %s too big for Slack (%s): sending its short form", item.id, exc.code)
            if item.attachment:
                await self._attach(item)
            await self._outbox.retry(
                item, at=now, message=json.dumps(item.fallback), fallback="", attachment=""
            )
            return
        if exc.permanent or exc.too_big:
            self._metrics.outbox("undeliverable")
            log.warning("outbox item %s (%s in %s) refused for good: %s", item.id, item.kind, item.channel,
                        exc.code)  # fmt: skip
            await self._tell_instead(item, exc.code)
            await self._outbox.done(item)
            return
        if now - item.created_at > ITEM_SECONDS:
            self._metrics.outbox("given_up")
            log.error("outbox item %s not delivered within a day (%s): given up", item.id, exc.code)
            await self._outbox.done(item)
            return
        self._metrics.outbox("retried")
        delay = min(RETRY_MAX, RETRY_BASE * 2 ** min(item.attempts, 12)) * random.uniform(0.8, 1.2)  # noqa: S311
        log.info("outbox item %s failed (%s); retry %d in %.1fs", item.id, exc.code, item.attempts + 1, delay)
        if exc.maybe_sent and item.kind == "post" and not item.maybe_posted:
            await self._outbox.retry(item, at=now + delay, maybe_posted="1")  # look before the next try
            return
        await self._outbox.retry(item, at=now + delay)

    async def _attach_first(self, item: Item) -> None:
        """The file of a message that shows only part of a result goes into the thread first, once; then
        the message (which says the file is there) is due, in its turn."""
        try:
            await self._upload(item)
        except DeliveryError as exc:
            if exc.retry_after is not None:
                await self._outbox.retry(item, at=time.time() + exc.retry_after + random.uniform(0, 1.0))  # noqa: S311
                return
            # The message still goes out: its "Show full result" sends the whole result to whoever asks.
            log.warning("could not attach %s to the thread: %s", item.attachment_name, exc.code)
        await self._outbox.retry(item, at=time.time(), attachment="", attach_now="")

    async def _upload(self, item: Item) -> None:
        name = item.attachment_name or "result.json"
        await self._surface.upload(
            item.channel, item.attachment, filename=name, title=name, thread_ts=item.thread_ts or None
        )
        if item.record:
            try:  # "Show full result" then points at this file instead of attaching another
                await self._store.note_file_in_thread(item.record)
            except BotError as exc:
                log.warning("could not record the file of %s: %s", item.record, exc)

    async def _attach(self, item: Item) -> None:
        """The whole of what did not fit, as a file in the thread (the short form says so)."""
        try:
            await self._upload(item)
        except DeliveryError as exc:
            log.warning("could not attach %s to the thread: %s", item.attachment_name, exc.code)

    async def _tell_instead(self, item: Item, code: str) -> None:
        if item.note is not None and item.note_ts:
            # Say on the preview where the outcome went (it may be refused too: then the DMs are all).
            note = Item(
                "update", item.note, channel=item.channel, ts=item.note_ts, key=f"preview:{item.run_id}"
            )
            try:
                await self._outbox.put(note)
            except BotError as exc:
                log.warning("could not queue the preview's note: %s", exc)
        if item.undelivered is None:
            return
        for user in item.tell:
            try:
                await self._surface.direct(user, item.undelivered)
            except DeliveryError as exc:
                log.warning("could not tell %s privately either: %s", user, exc.code)


def _limit_of(item: Item) -> str:
    """Which of Slack's limits a send counts against: chat.postMessage is limited per channel (a DM is
    its person's channel); chat.update and chat.postEphemeral per workspace (their tier)."""
    if item.kind == "post":
        return f"post:{item.channel}"
    if item.kind == "direct":
        return f"post:{item.user}"
    return item.kind
