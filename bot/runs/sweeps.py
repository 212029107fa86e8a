"""The sweeps any replica runs (bot/runs/keeper.py): previews past their time, and runs or previews whose
process died. Each is done once, whichever replica gets to it."""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING

from bot.approvals.audit import Step
from bot.render.messages import (
    confirmed_note,
    escape,
    expired_note,
    notice_message,
    outcome_unknown_message,
    preview_message,
    undelivered_message,
)
from bot.runs.outbox import Item
from bot.runs.outcomes import STOPPED

if TYPE_CHECKING:
    from bot.runs.lifecycle import Runs

log = logging.getLogger(__name__)


async def expire_due(runs: Runs) -> int:
    """Mark previews past their time as expired. Any replica may do it; each is done once."""
    expired = await runs.service.expire_due()
    for preview in expired:
        await runs.audit.preview_step(Step.EXPIRED, preview, who="")
        await runs.sender.update_preview(preview, preview_message(preview, closed=expired_note()))
    return len(expired)


async def end_orphans(runs: Runs) -> int:
    """End runs whose process stopped renewing their lease (killed, lost) as unknown, and tell the
    people who asked for previews that were never answered. Any replica; each exactly once."""
    now = time.time()
    ended = 0
    for preview_id in await runs.runs.lapsed(now):
        if preview_id in runs.held:
            continue  # ours: the keeper renews it (Redis was away)
        preview = await runs.store.get_preview(preview_id)
        if preview is None:
            continue
        write = runs.audit.write(
            Step.EXECUTED,
            who="",
            team=preview.team,
            channel=preview.channel,
            app=preview.request.app,
            action=preview.request.action,
            execution_log_id=preview.result.execution_log_id,
            preview_id=preview.id,
            detail="unknown: the bot stopped while this ran",
        )
        if not await runs.runs.give_up(preview_id, detail=STOPPED, audit=write, now=now):
            continue
        ended += 1
        runs.metrics.ended_unknown("orphaned")
        log.warning("run %s was left running by a stopped process: ended as unknown", preview_id)
        message = outcome_unknown_message(preview, STOPPED)
        note = confirmed_note(preview.decided_by) if preview.decided_by else "Confirmed"
        closed = preview_message(preview, closed=f"{note} · outcome unknown, see the thread")
        tell = tuple(dict.fromkeys(u for u in (preview.requested_by, preview.decided_by) if u))
        thread = preview.thread_ts or preview.message_ts
        post = Item("post", message, channel=preview.channel, thread_ts=thread, tell=tell, run_id=preview.id)
        post.undelivered = undelivered_message(preview, message)
        update = Item("update", closed, channel=preview.channel, ts=preview.message_ts)
        update.key = f"preview:{preview.id}"
        await runs.sender.deliver(post, update)
    for asking in await runs.runs.abandoned_asking(now):
        if asking.id in runs.asking:
            continue
        ended += 1
        if asking.held:  # it never started (bot/runs/held.py): nothing reached Zapier
            what = escape(asking.what.replace("`", "'"))
            text = (
                f":warning: zapbot stopped before it could start this: `{what}`. Nothing was run; try again."
            )
        else:
            text = (
                f":warning: zapbot stopped while asking Zapier for a preview of `{asking.what}`. "
                "Nothing was run (a preview never runs the action). Send the command again."
            )
        await runs.sender.deliver(
            Item("whisper", notice_message(text), channel=asking.channel, user=asking.user)
        )
    return ended
