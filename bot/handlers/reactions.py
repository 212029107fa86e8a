"""Emoji reactions on the bot's messages: votes on the execution the message shows (bot.ratings).

Always handled (never 404) so that Slack does not re-deliver them. Emoji that do not count are dropped
before any I/O; the rest are counted in the background, once per Slack event_id.
"""

from __future__ import annotations

import contextlib
import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.audit import Step
from bot.errors import BotError
from bot.handlers.deps import Deps
from bot.ratings.service import Reaction

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("reaction_added")
    async def on_reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        await _count(deps, body, event, added=True)

    @app.event("reaction_removed")
    async def on_reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        await _count(deps, body, event, added=False)


async def _count(deps: Deps, body: dict[str, Any], event: dict[str, Any], *, added: bool) -> None:
    """Count the reaction before Slack gets its answer. The count is two short Redis calls, so the ack
    stays fast, and doing it here is the back-pressure: a burst is answered as fast as it is counted,
    never queued past a bound and dropped. A failure answers Slack with an error, so Slack re-delivers
    the event and the vote is not lost."""
    ratings = deps.ratings
    item = event.get("item") or {}
    if ratings is None or item.get("type") != "message" or not ratings.counts(str(event.get("reaction", ""))):
        return
    reaction = Reaction(
        channel=str(item.get("channel", "")),
        ts=str(item.get("ts", "")),
        user=str(event.get("user", "")),
        name=str(event["reaction"]),
        added=added,
        event_ts=str(event.get("event_ts") or body.get("event_time") or ""),
    )
    if not (reaction.channel and reaction.ts and reaction.user):
        return
    event_id = body.get("event_id")
    if event_id and not await deps.store.first_delivery(event_id):
        log.info("ignored a re-delivery of event %s", event_id)
        return
    try:
        tally = await ratings.react(reaction)
    except BotError:
        if event_id:
            # Let Slack's re-delivery count it (the vote script is idempotent per event).
            with contextlib.suppress(BotError):
                await deps.store.forget_delivery(event_id)
        log.warning("reaction on %s/%s not counted: Slack re-delivers it", reaction.channel, reaction.ts)
        raise
    if tally is None:
        log.debug("reaction on %s/%s: not a message showing an execution", reaction.channel, reaction.ts)
    elif tally.changed:
        log.debug("rating now %+d (%d up, %d down)", tally.rating, tally.up, tally.down)
        deps.metrics.rating(ratings.vote_of(reaction.name), "added" if reaction.added else "removed")
        sign = "+" if reaction.added else "-"
        await deps.audit.append(
            Step.RATED,
            who=reaction.user,
            channel=reaction.channel,
            execution_log_id=tally.execution_log_id,
            detail=f"{sign}:{reaction.name}: -> rating {tally.rating:+d}",
        )
