"""Sending for the run lifecycle: what must reach people goes through the outbox (or, with Redis down,
straight to the surface); a preview the requester waits for is posted at once, in its turn in the channel."""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Protocol

from bot.errors import StoreError
from bot.runs.limits import ChannelPace
from bot.runs.outbox import Item, Outbox
from bot.runs.ports import DeliveryError, Message, Surface
from bot.runs.records import Preview

log = logging.getLogger(__name__)

POST_ATTEMPTS = 4
MAX_RATE_LIMIT_WAIT = 30.0  # a preview waits out Slack's rate limit up to this long per attempt


class PreviewWatch(Protocol):
    """Told of each preview shown or redrawn, and of each run that ended (`ran_for`: the people it ran
    for). Returns at once and never raises."""

    def __call__(self, preview: Preview, *, ran_for: Sequence[str] = ()) -> None: ...


class Sender:
    def __init__(
        self,
        outbox: Outbox,
        surface: Surface,
        pace: ChannelPace | None,
        *,
        watch: PreviewWatch | None = None,
    ) -> None:
        self.outbox = outbox
        self.surface = surface
        self.pace = pace
        # Told of each preview shown or redrawn (a surface refreshes what else shows it: Slack's App Home).
        # It must return at once and never raise.
        self.watch = watch

    def watched(self, preview: Preview, *, ran_for: Sequence[str] = ()) -> None:
        """Tell the watcher that this preview appeared or changed (`ran_for`: its run ended, which changes
        what these people see, and nobody else's)."""
        if self.watch is not None:
            self.watch(preview, ran_for=ran_for)

    async def post_now(
        self,
        channel: str,
        message: Message,
        *,
        thread_ts: str | None,
        before: float | None = None,
        marker: str = "",
    ) -> str:
        """Post a message the person is waiting for (a preview): in its turn in the channel (Slack's pace),
        waiting out a short rate limit. DeliveryError("ratelimited") when its turn, or the end of the wait
        Slack asks for, would come after `before` (the preview's expiry): a preview nobody could confirm
        is not posted, and the caller tells the person why.

        `marker` travels with the post (bot/runs/ports.py). When the answer is lost after the request went
        out (a timeout, a reset), the post may have landed: it is looked for by its marker, and if found
        its ts is returned as if Slack had answered. Not found (or the surface cannot look), the
        DeliveryError stands."""
        while self.pace is not None and (wait := await self.pace.wait(channel)) > 0:
            if before is not None and time.time() + wait > before:
                raise DeliveryError("ratelimited")
            await asyncio.sleep(wait)
        for attempt in range(POST_ATTEMPTS):
            sent_at = time.time()
            try:
                return await self.surface.post(channel, message, thread_ts=thread_ts, marker=marker)
            except DeliveryError as exc:
                if exc.maybe_sent and marker:
                    if found := await self._look_for(channel, thread_ts or "", marker, since=sent_at):
                        return found
                    raise
                told = exc.retry_after
                if told is None or told > MAX_RATE_LIMIT_WAIT or attempt == POST_ATTEMPTS - 1:
                    raise
                if before is not None and time.time() + told > before:
                    raise
                await asyncio.sleep(told + random.uniform(0, 0.5))  # noqa: S311 - jitter, not a secret
        raise AssertionError("unreachable")

    async def _look_for(self, channel: str, thread_ts: str, marker: str, *, since: float) -> str:
        """The ts of a post whose answer was lost, if it landed; "" if it did not, or nobody can tell."""
        try:
            found = await self.surface.find_post(channel, thread_ts, marker, since=since)
        except DeliveryError as exc:
            log.warning("could not look for a post whose answer was lost (%s): taken as not posted", exc.code)
            return ""
        if found:
            log.info("a post whose answer was lost had landed (%s in %s): taken as posted", found, channel)
        return found or ""

    async def update_preview(self, preview: Preview, message: Message) -> None:
        if preview.message_ts:
            await self.deliver(
                Item(
                    "update",
                    message,
                    channel=preview.channel,
                    ts=preview.message_ts,
                    key=f"preview:{preview.id}",
                )
            )
            self.watched(preview)

    async def deliver(self, *items: Item) -> None:
        """Queue for delivery; with Redis down, send at once (one try each) rather than lose them."""
        try:
            await self.outbox.put(*items)
        except StoreError as exc:
            log.warning("outbox unavailable (%s): sending %d message(s) directly", exc, len(items))
            for item in items:
                if item.kind == "post" and item.attach_now and item.attachment:
                    await self._attach(item)  # first: the message says it is in the thread
                try:
                    if item.kind == "post":
                        await self.surface.post(item.channel, item.message, thread_ts=item.thread_ts or None)
                    elif item.kind == "update" and item.ts:
                        await self.surface.update(item.channel, item.ts, item.message)
                    elif item.kind == "whisper":
                        await self.surface.whisper(item.channel, item.user, item.message)
                    elif item.kind == "direct":
                        await self.surface.direct(item.user, item.message)
                except DeliveryError as failed:
                    log.warning("could not deliver a %s directly either: %s", item.kind, failed.code)

    async def _attach(self, item: Item) -> None:
        name = item.attachment_name or "result.json"
        try:
            await self.surface.upload(
                item.channel, item.attachment, filename=name, title=name, thread_ts=item.thread_ts or None
            )
        except DeliveryError as failed:  # the message still goes: its Show full result reaches the rest
            log.warning("could not attach %s directly either: %s", name, failed.code)
