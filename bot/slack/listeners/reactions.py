"""Emoji reactions on the bot's messages: votes on the execution the message shows (bot.ratings).

Always handled (never 404) so that Slack does not re-deliver them. Emoji that do not count are dropped
before any I/O; the rest are counted before Slack gets its answer, once per Slack event_id. Bolt's
listeners below and the fast path (bot/slack/fast_events.py) both run `count`.
"""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.errors import BotError
from bot.ratings.service import Reaction
from bot.slack.deps import Deps

log = logging.getLogger(__name__)

EVENT_TYPES = ("reaction_added", "reaction_removed")


def register(app: AsyncApp, deps: Deps) -> None:
    async def on_reaction(body: dict[str, Any], event: dict[str, Any]) -> None:
        await count(deps, body, event)

    for event_type in EVENT_TYPES:
        app.event(event_type)(on_reaction)


async def count(deps: Deps, body: dict[str, Any], event: dict[str, Any]) -> None:
    """Count a `reaction_added` or `reaction_removed` before Slack gets its answer. The count is two short
    Redis calls (the message's execution, then one script that de-duplicates the event, votes and audits),
    so the ack stays fast, and doing it here is the back-pressure: a burst is answered as fast as it is
    counted, never queued past a bound and dropped. A failure raises, so Slack gets an error and
    re-delivers the event; the script marks the event handled only when it has run to the end, so the
    re-delivery counts."""
    ratings = deps.ratings
    item = event.get("item") or {}
    if ratings is None or item.get("type") != "message" or not ratings.counts(str(event.get("reaction", ""))):
        return
    reaction = Reaction(
        channel=str(item.get("channel", "")),
        ts=str(item.get("ts", "")),
        user=str(event.get("user", "")),
        name=str(event["reaction"]),
        added=event.get("type") == "reaction_added",
        event_ts=str(event.get("event_ts") or body.get("event_time") or ""),
    )
    if not (reaction.channel and reaction.ts and reaction.user):
        return
    event_id = body.get("event_id")
    try:
        tally = await ratings.react(reaction, event_id=str(event_id) if event_id else None)
    except BotError:
        log.warning("reaction on %s/%s not counted: Slack re-delivers it", reaction.channel, reaction.ts)
        raise
    if tally is None:
        log.debug("reaction on %s/%s: not a message showing an execution", reaction.channel, reaction.ts)
    elif tally.repeated:
        log.info("ignored a re-delivery of event %s", event_id)
    elif tally.changed:
        log.debug("rating now %+d (%d up, %d down)", tally.rating, tally.up, tally.down)
        deps.metrics.rating(ratings.vote_of(reaction.name), "added" if reaction.added else "removed")
