"""Previews on the App Home that anyone in a channel may confirm, through the real bot (signed Slack requests,
real Redis, the Slack stand-in recording each `views.publish`): shown only to people zapbot has seen acting
in that channel, and re-published to the people a preview concerns when it appears or changes, within the
per-change bound."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from functools import partial
from typing import Any

import pytest
import redis.asyncio

from bot.home.queries import MAX_CONCERNED
from tests.e2e.test_home import click_on_home, home_buttons, open_home
from tests.support.bot_server import RunningBot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack, SlackCall
from tests.support.helpers import command_to_preview, text_of
from tests.support.metrics import scrape, value
from tests.support.policy_helpers import WRITE, StartBot, policy_bot
from tests.support.rating_helpers import eventually

start_bot = pytest.fixture(policy_bot)

ANYONE = "default:\n  confirm_by: anyone\n"


@pytest.fixture
async def bot(start_bot: StartBot) -> AsyncIterator[RunningBot]:
    async with start_bot(ANYONE) as running:
        yield running


async def seen(bot: RunningBot, redis_client: redis.asyncio.Redis, user: str, channel: str) -> None:
    """`user` types `/zap help` in `channel`, and zapbot has recorded seeing them there."""
    response = await bot.slack.command("help", user=user, channel=channel)
    assert response.status == 200
    await eventually(lambda: redis_client.zscore(f"zapbot:seen:{channel}", user))


async def opened(bot: RunningBot, slack: FakeSlack, redis_client: redis.asyncio.Redis, user: str) -> None:
    """`user` opens zapbot's Home tab, and zapbot has recorded it."""
    await open_home(bot, slack, user)
    await eventually(lambda: redis_client.zscore("zapbot:seen:home:T1", user))


def confirm_values(view: dict[str, Any]) -> set[str]:
    return {
        str(button.get("value")) for _, button in home_buttons(view) if button["action_id"] == "zap_confirm"
    }


async def published(slack: FakeSlack, user: str, *, after: int, showing: bool, value: str) -> SlackCall:
    """The first `views.publish` for `user` (among those after the first `after`) whose view shows, or no
    longer shows, the Confirm button with `value`."""

    def matching() -> list[SlackCall]:
        return [
            call
            for call in slack.of("views.publish")[after:]
            if call.args["user_id"] == user and (value in confirm_values(call.args["view"])) == showing
        ]

    [call, *_] = await wait_until(matching, 1, 5.0, lambda: repr(slack.of("views.publish")[after:]))
    return call


def listing_the_run(slack: FakeSlack, after: int, user: str, role: str) -> list[SlackCall]:
    """The `views.publish` calls for `user` (after the first `after`) whose recent runs list one
    "{role} by you"."""
    calls = slack.of("views.publish")[after:]
    return [c for c in calls if c.args["user_id"] == user and f"({role} by you" in text_of(c.args["view"])]


async def test_an_anyone_preview_shows_only_to_people_seen_in_its_channel(
    bot: RunningBot, fake_slack: FakeSlack, redis_client: redis.asyncio.Redis
) -> None:
    """Three people's Homes for U1's preview in C1, which anyone there may confirm: U2 (seen using zapbot in
    C1) sees it with its Confirm button; U3 (seen only in C2) and U4 (never seen) do not. A click on the
    Home (whose channel is ours to name, not Slack's) does not count as being seen in that channel."""
    await seen(bot, redis_client, "U2", "C1")
    await seen(bot, redis_client, "U3", "C2")
    previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    u2 = await open_home(bot, fake_slack, "U2")
    assert confirm_values(u2) == {previewed.confirm_value}
    for other in ("U3", "U4"):
        assert confirm_values(await open_home(bot, fake_slack, other)) == set()
    [(block_id, cancel)] = [
        (b, button) for b, button in home_buttons(u2) if button["action_id"] == "zap_cancel"
    ]
    before = len(fake_slack.of("chat.update"))
    await click_on_home(bot, "U3", block_id, cancel)  # anyone may cancel it: the click works...
    await fake_slack.wait_for("chat.update", before + 1)
    assert await redis_client.zscore("zapbot:seen:C1", "U3") is None  # ...but does not count as seen


async def test_homes_are_republished_when_a_preview_appears_and_when_it_is_confirmed(
    bot: RunningBot, fake_slack: FakeSlack, redis_client: redis.asyncio.Redis
) -> None:
    """Without opening their Home again: U1 and U2 (seen in C1) get a Home showing U1's new preview as soon
    as it is posted; when U2 confirms it in the channel, both get a Home without it, and once it has run,
    one listing the run (asked by U1, confirmed by U2). Nothing is published for U3 (seen elsewhere) nor
    for U4 (seen in C1 but who never opened the Home tab: it is drawn when they do)."""
    await seen(bot, redis_client, "U2", "C1")
    await seen(bot, redis_client, "U3", "C2")
    for user in ("U1", "U2", "U3", "U4"):  # only a Home opened lately is re-published
        if user != "U4":
            await opened(bot, fake_slack, redis_client, user)
    await seen(bot, redis_client, "U4", "C1")  # seen, but never opened their Home: nothing published
    before = len(fake_slack.of("views.publish"))
    previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    for user in ("U1", "U2"):
        await published(fake_slack, user, after=before, showing=True, value=previewed.confirm_value)
    shown = len(fake_slack.of("views.publish"))
    await bot.slack.block_action(
        "zap_confirm", previewed.confirm_value, user="U2", channel="C1", message_ts=previewed.ts
    )
    for user in ("U1", "U2"):
        await published(fake_slack, user, after=shown, showing=False, value=previewed.confirm_value)

    for user, role in (("U1", "asked"), ("U2", "confirmed")):  # the run ended: in their recent runs
        listing = partial(listing_the_run, fake_slack, shown, user, role)
        await wait_until(listing, 1, 5.0, lambda: repr(fake_slack.of("views.publish")))
    assert {call.args["user_id"] for call in fake_slack.of("views.publish")[before:]} == {"U1", "U2"}


async def test_a_burst_of_people_in_one_channel_is_recorded_whole(
    bot: RunningBot, redis_client: redis.asyncio.Redis
) -> None:
    """300 people type `/zap help` in C9 at once: every one of them is recorded as seen there (once the
    burst's acks are done), none dropped at a bound of background work (there were 200 such tasks once)."""
    people = [f"U{n}" for n in range(300)]
    responses = await asyncio.gather(*(bot.slack.command("help", user=u, channel="C9") for u in people))
    assert {r.status for r in responses} == {200}

    async def everyone_seen() -> int | None:
        count = await redis_client.zcard("zapbot:seen:C9")
        return count if count == len(people) else None

    assert await eventually(everyone_seen) == 300
    assert set(await redis_client.zrange("zapbot:seen:C9", 0, -1)) == set(people)


async def test_one_change_republishes_at_most_the_bound_of_homes(
    bot: RunningBot, fake_slack: FakeSlack, redis_client: redis.asyncio.Redis
) -> None:
    """30 people were seen in C1, of whom the 5 seen last never opened their Home: a new preview there
    re-publishes the requester's Home and those of the people seen most recently who opened theirs,
    MAX_CONCERNED in all, and counts the change as over the bound; the others see the preview when they
    open their Home."""
    now = time.time()
    people = {f"U{n:03d}": now - n for n in range(30)}  # U000 seen most recently
    await redis_client.zadd("zapbot:seen:C1", people)
    openers = {user: at for user, at in people.items() if user >= "U005"}
    await redis_client.zadd("zapbot:seen:home:T1", {**openers, "U1": now})
    previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")

    async def counted() -> dict[str, float] | None:
        samples = await scrape(bot)
        queued = value(samples, "zapbot_home_refreshes_total", outcome="queued")
        over = value(samples, "zapbot_home_refreshes_total", outcome="over_bound")
        return {"queued": queued, "over": over} if queued >= MAX_CONCERNED else None

    assert await eventually(counted) == {"queued": MAX_CONCERNED, "over": 1}
    calls = await fake_slack.wait_for("views.publish", MAX_CONCERNED)
    expected = {"U1", *sorted(openers)[: MAX_CONCERNED - 1]}  # U005 ... U023
    assert {call.args["user_id"] for call in calls} == expected
    assert all(previewed.confirm_value in confirm_values(call.args["view"]) for call in calls)
    assert confirm_values(await open_home(bot, fake_slack, "U029")) == {previewed.confirm_value}
