"""Reactions become votes and a rating, end to end: signed reaction events through the bot's HTTP endpoint,
a real Redis, and the rating arriving at the (spec-checking) Zapier stand-in."""

from __future__ import annotations

import asyncio

from tests.support.helpers import assert_valid_blocks, text_of
from tests.support.metrics import idle
from tests.support.rating_helpers import World, eventually, execution, react, world

__all__ = ["world"]  # the fixture, imported for pytest


async def test_a_thumbs_up_rates_the_result_and_removing_it_takes_it_back(world: World) -> None:
    """👍 on a result stores a vote and rating 1 and sends rating=1; removing it sends rating=0."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        await react(bot, "+1", ts=ran.ts)
        fields = await world.settled(ran.execution_log_id)
        assert (fields["rating"], fields["up"], fields["down"]) == ("1", "1", "0")
        assert fields["delivered_rating"] == "1" and float(fields["rated_at"]) > 0
        assert await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes") == {"U2": "1"}
        [call] = world.zapier.of("rate")
        assert call.path == f"/api/v2/execute/log/{ran.execution_log_id}/rate/"
        assert call.query == {"rating": "1"}

        await react(bot, "+1", ts=ran.ts, added=False)
        await world.zapier.wait_for("rate", 2)
        fields = await world.settled(ran.execution_log_id)
        assert (fields["rating"], fields["up"], fields["down"]) == ("0", "0", "0")
        assert world.zapier.of("rate")[-1].query == {"rating": "0"}
        assert await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes") == {}
        # Ratings never expire.
        for key in await world.redis.keys(f"zapbot:execution:{ran.execution_log_id}*"):
            assert await world.redis.ttl(key) == -1, key
    # The other fields of the documented schema are there too.
    for name in ("app", "action", "action_used", "status", "channel", "message_ts", "thread_ts"):
        assert fields[name], name
    assert fields["requested_by"] == "U1" and fields["confirmed_by"] == "U1" and fields["created_at"]
    assert fields["message_ts"] == ran.ts and fields["thread_ts"] == ran.thread_ts


async def test_several_people_one_vote_each_and_the_sign_of_the_sum(world: World) -> None:
    """Each person has one vote (the sign of their reactions' sum); the rating is the sign of the votes."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        sent = [("U2", "+1"), ("U2", "tada"), ("U2", "heart"), ("U3", "-1"), ("U4", "x")]
        # U5 reacts both ways: their reactions cancel out and they do not vote.
        sent += [("U5", "white_check_mark"), ("U5", "disappointed")]
        for user, name in sent:
            await react(bot, name, ts=ran.ts, user=user)
        for user, name in sent:
            await world.applied(ran.execution_log_id, user, name)
        fields = await world.until(ran.execution_log_id, up="1", down="2")
        assert fields["rating"] == "-1"
        votes = await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes")
        assert votes == {"U2": "1", "U3": "-1", "U4": "-1"}
        # U6 ties it; U2 dropping one of three 👍-like reactions still leaves their vote up.
        await react(bot, "raised_hands", ts=ran.ts, user="U6")
        await react(bot, "tada", ts=ran.ts, user="U2", added=False)
        await world.applied(ran.execution_log_id, "U6", "raised_hands")
        await world.applied(ran.execution_log_id, "U2", "tada", added=False)
        fields = await world.until(ran.execution_log_id, up="2", down="2")
        assert fields["rating"] == "0"
        fields = await world.settled(ran.execution_log_id)
        assert world.zapier.of("rate")[-1].query == {"rating": "0"}


async def test_skin_tones_count_as_the_base_emoji(world: World) -> None:
    """`+1::skin-tone-3` is a 👍 and `-1::skin-tone-5` a 👎; removing the toned reaction removes the vote."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        await react(bot, "+1::skin-tone-3", ts=ran.ts, user="U2")
        await react(bot, "+1::skin-tone-6", ts=ran.ts, user="U3")
        await react(bot, "-1::skin-tone-5", ts=ran.ts, user="U4")
        await world.until(ran.execution_log_id, up="2", down="1", rating="1")
        await react(bot, "+1::skin-tone-3", ts=ran.ts, user="U2", added=False)
        await react(bot, "+1::skin-tone-6", ts=ran.ts, user="U3", added=False)
        await world.until(ran.execution_log_id, up="0", down="1", rating="-1")
        await world.settled(ran.execution_log_id)
        assert world.zapier.of("rate")[-1].query == {"rating": "-1"}


async def test_other_emoji_and_unknown_messages_are_ignored_quietly(world: World) -> None:
    """👀 or 🚀 on a result, 👍 on a message showing no execution: 200; nothing stored, sent or said."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        calls_before = len(world.slack.calls)
        for name in ("eyes", "rocket", "thinking_face::skin-tone-2", "plus1"):
            await react(bot, name, ts=ran.ts)
        await react(bot, "+1", ts="1699999999.000100")  # some other message in the channel
        response = await bot.slack.reaction("+1", ts=ran.ts, channel="C404")  # same ts, other channel
        assert response.status == 200
        await react(bot, "-1", ts="not-a-ts", user="U9")
        await idle(bot)  # every reaction has been handled: a wrong vote would be stored and queued now
    assert world.zapier.of("rate") == []
    assert len(world.slack.calls) == calls_before
    fields = await execution(world.redis, ran.execution_log_id)
    assert "rating" not in fields and "delivery" not in fields
    assert await world.redis.keys("zapbot:execution:*:votes") == []
    assert await world.redis.zcard("zapbot:ratings:pending") == 0


async def test_a_custom_rating_emoji_setting_replaces_the_mapping(world: World) -> None:
    """With RATING_EMOJI="rocket, :star: | poop", 🚀 and ⭐ count as 👍, 💩 as 👎, and 👍 no longer counts."""
    async with world.bot(rating_emoji="rocket, :star: | poop") as bot:
        ran = await world.run_to_result(bot)
        await react(bot, "+1", ts=ran.ts, user="U2")
        await react(bot, "rocket", ts=ran.ts, user="U3")
        await react(bot, "star", ts=ran.ts, user="U4")
        await react(bot, "poop", ts=ran.ts, user="U5")
        await world.until(ran.execution_log_id, up="2", down="1", rating="1")
        votes = await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes")
        assert votes == {"U3": "1", "U4": "1", "U5": "-1"}


async def test_a_redelivered_event_is_counted_once(world: World) -> None:
    """Slack re-sending a reaction_added (same event_id, X-Slack-Retry-Num) after its removal: no vote."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        added = {
            "type": "reaction_added",
            "user": "U2",
            "reaction": "+1",
            "item_user": "UBOT",
            "item": {"type": "message", "channel": "C1", "ts": ran.ts},
            "event_ts": "1700000500.000100",
        }
        removed = {**added, "type": "reaction_removed", "event_ts": "1700000501.000100"}
        for _ in range(2):
            assert (await bot.slack.event(added, event_id="EvADD")).status == 200
        await world.until(ran.execution_log_id, up="1", rating="1")
        assert (await bot.slack.event(removed, event_id="EvREMOVE")).status == 200
        await world.until(ran.execution_log_id, up="0", rating="0")
        redelivered = await bot.slack.event(added, event_id="EvADD", retry_num=1, retry_reason="http_timeout")
        assert redelivered.status == 200
        await idle(bot)  # the redelivery is handled: counted again or not
        fields = await world.settled(ran.execution_log_id)
        assert (fields["rating"], fields["up"]) == ("0", "0")
        assert world.zapier.of("rate")[-1].query == {"rating": "0"}


async def test_an_add_and_its_removal_arriving_out_of_order_leave_no_vote(world: World) -> None:
    """Slack's events can arrive in any order: the newer event_ts wins, so a late 'added' is not counted."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        added = {
            "type": "reaction_added",
            "user": "U2",
            "reaction": "-1",
            "item": {"type": "message", "channel": "C1", "ts": ran.ts},
            "event_ts": "1700000600.000100",
        }
        removed = {**added, "type": "reaction_removed", "event_ts": "1700000600.000200"}
        await bot.slack.event(removed)
        await eventually(lambda: world.redis.exists(f"zapbot:execution:{ran.execution_log_id}:reactions"))
        await bot.slack.event(added)
        await react(bot, "+1", ts=ran.ts, user="U3")  # a later, unrelated vote: then all is processed
        await world.until(ran.execution_log_id, up="1", rating="1")
        fields = await world.settled(ran.execution_log_id)
        assert fields["down"] == "0"


async def test_a_reaction_on_the_preview_rates_the_preview_log(world: World) -> None:
    """👎 on the preview rates the preview's execution log (the AI's guessing), not the run's."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        await react(bot, "-1", ts=ran.thread_ts)
        fields = await world.settled(ran.preview_log_id)
        assert fields["rating"] == "-1" and fields["kind"] == "preview"
        [call] = world.zapier.of("rate")
        assert call.path == f"/api/v2/execute/log/{ran.preview_log_id}/rate/"
        assert "rating" not in await execution(world.redis, ran.execution_log_id)


async def test_dozens_of_simultaneous_reactions_on_two_replicas_give_the_exact_rating(world: World) -> None:
    """60 reaction events at once, split between two replicas on one Redis: no vote is lost, and the last
    rate call carries the exact final rating."""
    async with (
        world.bot() as one,
        world.bot() as two,
    ):
        ran = await world.run_to_result(one)
        ups = [f"UP{i:02d}" for i in range(17)]
        downs = [f"UD{i:02d}" for i in range(19)]
        sends = [one.slack.reaction("+1", ts=ran.ts, user=u) for u in ups]
        sends += [two.slack.reaction("heart", ts=ran.ts, user=u) for u in ups[:12]]  # still one vote each
        sends += [two.slack.reaction("-1", ts=ran.ts, user=u) for u in downs]
        sends += [one.slack.reaction("eyes", ts=ran.ts, user=u) for u in downs[:12]]  # does not count
        assert len(sends) == 60
        responses = await asyncio.gather(*sends)
        assert {r.status for r in responses} == {200}
        fields = await world.until(ran.execution_log_id, up="17", down="19")
        assert fields["rating"] == "-1"
        votes = await world.redis.hgetall(f"zapbot:execution:{ran.execution_log_id}:votes")
        assert votes == {**dict.fromkeys(ups, "1"), **dict.fromkeys(downs, "-1")}
        fields = await world.settled(ran.execution_log_id)
        assert fields["delivered_rating"] == "-1"
        assert world.zapier.of("rate")[-1].query == {"rating": "-1"}


async def test_ratings_summary_per_app_and_action_with_the_worst_runs_linked(world: World) -> None:
    """`/zap ratings [APP]` answers only the caller: runs, 👍, 👎 and share rated per app+action, and the
    worst-rated recent runs with links to their threads."""
    async with world.bot() as bot:
        bad = await world.run_to_result(bot)
        good = await world.run_to_result(bot)
        await world.run_to_result(bot, "GmailV2API find_email:search Find Bob")
        await react(bot, "-1", ts=bad.ts, user="U2")
        await react(bot, "x", ts=bad.ts, user="U3")
        await react(bot, "+1", ts=good.ts, user="U2")
        await react(bot, "-1", ts=good.thread_ts, user="U4")  # the second preview's guess was poor
        await world.until(bad.execution_log_id, down="2")
        await world.until(good.execution_log_id, up="1")
        await world.until(good.preview_log_id, down="1")

        posts_before = len(world.slack.response_posts)
        public_before = len(world.slack.of("chat.postMessage"))
        response = await bot.slack.command("ratings", user="U7", response_url=world.slack.response_url("sum"))
        assert response.status == 200
        [told] = (await world.slack.wait_for_response_posts(posts_before + 1))[posts_before:]
        assert told.key == "sum" and told.json["response_type"] == "ephemeral"
        assert_valid_blocks(told.json["blocks"])
        shown = text_of(told.json)
        assert "`SlackAPI` `channel_message` · *2 runs*: :+1: 1 · :-1: 1 · 100% rated" in shown
        assert "*2 previews*: :+1: 0 · :-1: 1 · 50% rated" in shown
        assert "`GmailV2API` `find_email` · *1 run*: :+1: 0 · :-1: 0 · 0% rated" in shown
        worst = shown[shown.index("Worst-rated") :]
        link = f"https://slack.com/archives/C1/p{bad.ts.replace('.', '')}?thread_ts={bad.thread_ts}&cid=C1"
        assert link in worst and ":-1: 2 · :+1: 0" in worst and "<@U1>" in worst
        assert good.ts.replace(".", "") not in worst  # rated 👍: not among the worst

        response = await bot.slack.command("ratings gmailv2api", response_url=world.slack.response_url("g"))
        assert response.status == 200
        [told] = (await world.slack.wait_for_response_posts(posts_before + 2))[posts_before + 1 :]
        shown = text_of(told.json)
        assert "GmailV2API" in shown and "SlackAPI" not in shown
        assert "No run of `gmailv2api` is rated :-1: so far." in shown

        response = await bot.slack.command("ratings two words", response_url=world.slack.response_url("u"))
        [told] = (await world.slack.wait_for_response_posts(posts_before + 3))[posts_before + 2 :]
        assert "Usage: `/zap ratings`" in text_of(told.json)
        assert len(world.slack.of("chat.postMessage")) == public_before  # nothing was posted for all to see


async def test_a_burst_larger_than_the_redis_pool_loses_no_vote(world: World) -> None:
    """150 people reacting at the same moment on one replica (more than its 100 Redis connections):
    every vote is counted, none is refused for want of a connection."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        users = [f"UB{i:03d}" for i in range(150)]
        sends = [bot.slack.reaction("+1" if i % 3 else "-1", ts=ran.ts, user=u) for i, u in enumerate(users)]
        responses = await asyncio.gather(*sends)
        assert {r.status for r in responses} == {200}
        fields = await world.until(ran.execution_log_id, up="100", down="50")
        assert fields["rating"] == "1"
        await world.settled(ran.execution_log_id)
        assert world.zapier.of("rate")[-1].query == {"rating": "1"}
