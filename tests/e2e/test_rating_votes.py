"""The Lua vote script on a real Redis against a plain Python model of the vote arithmetic."""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass

import redis.asyncio

from bot.approvals.audit import Audit, Step
from bot.approvals.store import TeamStore
from bot.ratings.emoji import rating_of, vote_of
from bot.ratings.store import RatingStore, event_order

WEIGHTS = {"+1": 1, "heart": 1, "tada": 1, "-1": -1, "x": -1}


@dataclass(frozen=True)
class Event:
    user: str
    reaction: str
    added: bool
    order: str
    event_id: str


def _model(events: list[Event]) -> tuple[int, int, int, dict[str, str]]:
    """What the rating must be: per person and emoji the newest event wins; then votes, then the rating."""
    latest: dict[tuple[str, str], Event] = {}
    for event in sorted(events, key=lambda e: e.order):
        latest[(event.user, event.reaction)] = event
    per_user: dict[str, list[int]] = {}
    for (user, reaction), event in latest.items():
        per_user.setdefault(user, []).append(WEIGHTS[reaction] if event.added else 0)
    votes = {user: vote_of(weights) for user, weights in per_user.items()}
    votes = {user: vote for user, vote in votes.items() if vote}
    up = sum(1 for v in votes.values() if v > 0)
    down = sum(1 for v in votes.values() if v < 0)
    return rating_of(votes.values()), up, down, {u: str(v) for u, v in votes.items()}


async def test_the_lua_vote_script_matches_the_model_in_any_delivery_order(
    redis_client: redis.asyncio.Redis,
) -> None:
    """40 random histories of adds and removes, each delivered shuffled, with duplicates and concurrently:
    Redis ends with exactly the model's votes, up, down and rating; each event is handled once, and each
    changed vote leaves one audit entry."""
    store = TeamStore(redis_client)
    ratings = RatingStore(redis_client, store)
    audit = Audit(store, max_entries=100_000)
    rng = random.Random(20261123)
    for case in range(40):
        log_id = f"01HMODEL{case:04d}"
        await store.save_execution(log_id, {"execution_log_id": log_id}, message=("C1", f"1.{case}"))
        events = []
        for step in range(rng.randint(1, 60)):
            user, reaction = f"U{rng.randint(1, 6)}", rng.choice(list(WEIGHTS))
            order = event_order(f"1700000000.{step:06d}")
            events.append(Event(user, reaction, rng.random() < 0.6, order, f"Ev{case}-{step}"))
        delivered = events + rng.sample(events, k=len(events) // 4)  # Slack re-delivers some
        rng.shuffle(delivered)
        channel = f"C{case}"
        tallies = await asyncio.gather(
            *(
                ratings.react(
                    log_id,
                    user=e.user,
                    reaction=e.reaction,
                    weight=WEIGHTS[e.reaction] if e.added else 0,
                    order=e.order,
                    now=1.0,
                    due=1.0,
                    audit=audit.write(Step.RATED, who=e.user, channel=channel, detail="x"),
                    event_id=e.event_id,
                )
                for e in delivered
            )
        )
        rating, up, down, votes = _model(events)
        fields = await redis_client.hgetall(f"zapbot:execution:{log_id}")
        got = (int(fields.get("rating", 0)), int(fields.get("up", 0)), int(fields.get("down", 0)))
        assert got == (rating, up, down), (case, events)
        assert await redis_client.hgetall(ratings.votes_key(log_id)) == votes
        assert sum(t.repeated for t in tallies) == len(delivered) - len(events)
        audited = await redis_client.llen(f"zapbot:audit:channel:{channel}")
        assert audited == sum(t.changed for t in tallies) > 0


async def test_a_reaction_on_an_execution_that_is_not_stored_changes_nothing(
    redis_client: redis.asyncio.Redis,
) -> None:
    """The script refuses to create votes (or audit entries, or mark the event) for an execution hash that
    does not exist."""
    store = TeamStore(redis_client)
    ratings = RatingStore(redis_client, store)
    audit = Audit(store).write(Step.RATED, who="U1", channel="C1", detail="x")
    tally = await ratings.react(
        "01HNOTHERE",
        user="U1",
        reaction="+1",
        weight=1,
        order=event_order("1.1"),
        now=1.0,
        due=1.0,
        audit=audit,
        event_id="Ev1",
    )
    assert not tally.known
    assert await redis_client.keys("*") == []
