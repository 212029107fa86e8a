"""The Feedback button on a result: it opens a modal with the click's trigger_id; what people submit is kept
with who wrote it and sent to Zapier as `feedback` with the rating."""

from __future__ import annotations

import json

from tests.support.helpers import assert_valid_blocks, buttons, text_of
from tests.support.rating_helpers import World, react, world
from tests.support.slack_requests import SentResponse

__all__ = ["world"]  # the fixture, imported for pytest


def _values(text: str) -> dict[str, object]:
    """view.state.values as Slack sends them for the modal's one text input."""
    return {"feedback": {"text": {"type": "plain_text_input", "value": text}}}


async def test_feedback_opens_a_modal_and_every_submission_is_kept_and_sent(world: World) -> None:
    """Feedback -> views.open with the click's trigger_id; two people's submissions are stored with who
    wrote them, sent as `feedback` together with the rating, and each writer is thanked privately."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        result = world.slack.of("chat.postMessage")[-1]
        assert buttons(result) == {"zap_feedback": ran.execution_log_id}
        assert_valid_blocks(result.args["blocks"])

        await react(bot, "+1", ts=ran.ts, user="U2")
        await world.settled(ran.execution_log_id)

        response = await bot.slack.block_action(
            "zap_feedback",
            ran.execution_log_id,
            user="U3",
            message_ts=ran.ts,
            thread_ts=ran.thread_ts,
            trigger_id="trig-feedback-1",
        )
        assert response.status == 200
        [opened] = await world.slack.wait_for("views.open")
        assert opened.args["trigger_id"] == "trig-feedback-1"
        view = opened.args["view"]
        assert view["type"] == "modal" and view["callback_id"] == "zap_feedback"
        assert "Channel Message" in text_of({"blocks": view["blocks"]})
        assert_valid_blocks(view["blocks"])
        metadata = view["private_metadata"]
        assert json.loads(metadata)["id"] == ran.execution_log_id

        submitted = await bot.slack.view_submission(
            "zap_feedback", _values("Wrong channel: it went to #random"), private_metadata=metadata, user="U3"
        )
        assert submitted.status == 200 and _closes(submitted)
        await world.until(ran.execution_log_id, feedback="U3: Wrong channel: it went to #random")
        await world.settled(ran.execution_log_id)
        last = world.zapier.of("rate")[-1]
        assert last.query == {"rating": "1", "feedback": "U3: Wrong channel: it went to #random"}

        submitted = await bot.slack.view_submission(
            "zap_feedback", _values("  Fine by me <!channel>  "), private_metadata=metadata, user="U4"
        )
        assert submitted.status == 200 and _closes(submitted)
        await world.until(ran.execution_log_id, feedback_count="2")
        fields = await world.settled(ran.execution_log_id)
        both = "U3: Wrong channel: it went to #random\nU4: Fine by me <!channel>"
        assert fields["feedback"] == both
        assert world.zapier.of("rate")[-1].query == {"rating": "1", "feedback": both}
        kept = await world.redis.lrange(f"zapbot:execution:{ran.execution_log_id}:feedback", 0, -1)
        entries = [json.loads(item) for item in kept]
        assert [(e["user"], e["text"]) for e in entries] == [
            ("U3", "Wrong channel: it went to #random"),
            ("U4", "Fine by me <!channel>"),
        ]
        thanks = await world.slack.wait_for("chat.postEphemeral", 2)
    assert {t.args["user"] for t in thanks} == {"U3", "U4"}
    assert all(t.args["thread_ts"] == ran.thread_ts and "Thanks" in text_of(t) for t in thanks)


def _closes(response: SentResponse) -> bool:
    """An empty 200 (or one without response_action) closes the modal."""
    return not response.text or "response_action" not in response.json()


async def test_feedback_alone_is_sent_with_rating_zero(world: World) -> None:
    """Feedback on an unrated result reaches Zapier with the neutral rating 0."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        metadata = json.dumps({"id": ran.execution_log_id, "channel": "C1", "thread_ts": ran.thread_ts})
        await bot.slack.view_submission("zap_feedback", _values("Too slow"), private_metadata=metadata)
        fields = await world.settled(ran.execution_log_id)
    assert fields["feedback"] == "U1: Too slow"
    assert world.zapier.of("rate")[-1].query == {"rating": "0", "feedback": "U1: Too slow"}


async def test_blank_or_unknown_feedback_is_refused_in_the_modal(world: World) -> None:
    """A blank text, or feedback on a result zapbot does not know, is answered in the modal; nothing is
    stored or sent."""
    async with world.bot() as bot:
        ran = await world.run_to_result(bot)
        metadata = json.dumps({"id": ran.execution_log_id, "channel": "C1", "thread_ts": ran.thread_ts})
        blank = await bot.slack.view_submission("zap_feedback", _values("   "), private_metadata=metadata)
        assert blank.json()["response_action"] == "errors"
        assert "Write a few words" in blank.json()["errors"]["feedback"]
        forged = json.dumps({"id": "01HNOSUCHLOG", "channel": "C1"})
        unknown = await bot.slack.view_submission("zap_feedback", _values("hm"), private_metadata=forged)
        assert "no longer knows this result" in unknown.json()["errors"]["feedback"]
        garbled = await bot.slack.view_submission("zap_feedback", _values("hm"), private_metadata="{nope")
        assert garbled.json()["response_action"] == "errors"
    assert world.zapier.of("rate") == []
    assert await world.redis.keys("zapbot:execution:*:feedback") == []
    assert "feedback" not in await world.fields(ran.execution_log_id)
