"""Emoji reactions on the bot's messages: votes on the execution the message shows (bot.ratings).

Always handled (never 404) so that Slack does not re-deliver them. Emoji that do not count are dropped
before any I/O; the rest are counted in the background, once per Slack event_id.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.audit import Step
from bot.errors import BotError
from bot.handlers.deps import Deps
from bot.ratings.service import Ratings, Reaction
from bot.tasks import TooBusy

log = logging.getLogger(__name__)


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("reaction_added")
    async def on_reaction_added(body: dict[str, Any], event: dict[str, Any]) -> None:
        _start(deps, body, event, added=True)

    @app.event("reaction_removed")
    async def on_reaction_removed(body: dict[str, Any], event: dict[str, Any]) -> None:
        _start(deps, body, event, added=False)


def _start(deps: Deps, body: dict[str, Any], event: dict[str, Any], *, added: bool) -> None:
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
    try:
        deps.tasks.spawn(_count(deps, ratings, reaction, body.get("event_id")), name="reaction")
    except TooBusy:
        log.warning("dropped a reaction: too many tasks in flight")


async def _count(deps: Deps, ratings: Ratings, reaction: Reaction, event_id: str | None) -> None:
    try:
        if event_id and not await deps.store.first_delivery(event_id):
            log.info("ignored a re-delivery of event %s", event_id)
            return
        tally = await ratings.react(reaction)
    except BotError as exc:
        log.warning("could not count a reaction on %s/%s: %s", reaction.channel, reaction.ts, exc)
        return
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
