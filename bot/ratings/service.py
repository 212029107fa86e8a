"""Rating use-cases: a reaction, a feedback text, the summary. No Slack and no HTTP here."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.approvals.audit import Audit, Step
from bot.ratings.emoji import EmojiMap
from bot.ratings.store import RatingStore, Tally, event_order
from bot.ratings.summary import Summary, summarise
from bot.store import Store

FEEDBACK_CHARS = 1000  # the modal's limit; also enforced here, whatever Slack sent
FEEDBACK_BYTES = 1500  # one text's share of what is sent to Zapier (see FEEDBACK_SEND_BYTES)
SUMMARY_WINDOW = 5000  # `/zap ratings` looks at this many of the newest executions


@dataclass(frozen=True)
class Reaction:
    """One `reaction_added` or `reaction_removed` on a message."""

    channel: str
    ts: str  # the message reacted to
    user: str
    name: str
    added: bool
    event_ts: str


class Ratings:
    def __init__(
        self,
        store: RatingStore,
        lookup: Store,
        emoji: EmojiMap,
        *,
        audit: Audit,
        coalesce_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._store = store
        self._lookup = lookup
        self._emoji = emoji
        self._audit = audit
        self._coalesce = coalesce_seconds
        self._clock = clock

    def counts(self, reaction_name: str) -> bool:
        """Whether this emoji is a rating at all (checked before any I/O)."""
        return self._emoji.weight(reaction_name) != 0

    async def react(self, reaction: Reaction, *, event_id: str | None = None) -> Tally | None:
        """Count a reaction on a bot message that shows an execution, once per Slack `event_id`; None for
        any other message. A changed vote is audited in the same step. Two Redis calls."""
        weight = self._emoji.weight(reaction.name)
        if weight == 0:
            return None
        execution_log_id = await self._lookup.execution_for_message(reaction.channel, reaction.ts)
        if execution_log_id is None:
            return None
        now = self._clock()
        sign = "+" if reaction.added else "-"
        # The script appends the new rating: the detail reads "+:heart: -> rating +1".
        audit = self._audit.write(
            Step.RATED,
            who=reaction.user,
            channel=reaction.channel,
            execution_log_id=execution_log_id,
            detail=f"{sign}:{reaction.name}: -> rating ",
        )
        tally = await self._store.react(
            execution_log_id,
            user=reaction.user,
            reaction=reaction.name,
            weight=weight if reaction.added else 0,
            order=event_order(reaction.event_ts),
            now=now,
            due=now + self._coalesce,
            audit=audit,
            event_id=event_id,
        )
        return replace(tally, execution_log_id=execution_log_id) if tally.known else None

    def vote_of(self, reaction_name: str) -> str:
        """`up` or `down`: which way this (counting) emoji votes."""
        return "up" if self._emoji.weight(reaction_name) > 0 else "down"

    async def add_feedback(self, execution_log_id: str, *, user: str, text: str) -> bool:
        """Keep `user`'s text with the execution and queue it for Zapier. False for an unknown execution."""
        now = self._clock()
        return await self._store.add_feedback(
            execution_log_id, user=user, text=_fit(text.strip()), now=now, due=now + self._coalesce
        )

    async def summary(self, app: str | None) -> Summary:
        return summarise(await self._store.recent(SUMMARY_WINDOW), app=app, window=SUMMARY_WINDOW)


def _fit(text: str) -> str:
    """At most FEEDBACK_CHARS characters and FEEDBACK_BYTES bytes of UTF-8, cut on a character boundary."""
    text = text[:FEEDBACK_CHARS]
    encoded = text.encode()
    if len(encoded) <= FEEDBACK_BYTES:
        return text
    return encoded[: FEEDBACK_BYTES - 3].decode(errors="ignore") + "…"
