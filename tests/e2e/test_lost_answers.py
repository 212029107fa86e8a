"""A post that may have landed is not blindly sent again (issue 21, item 5). Slack carries out a result's
chat.postMessage, but its answer is lost: the connection resets, or the answer comes after the bot's
SLACK_TIMEOUT_SECONDS. Every outbox post carries its item's id in Slack message metadata; before trying
again the bot looks in the thread (conversations.replies) and, finding its post, counts it delivered."""

from __future__ import annotations

from typing import Literal

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import command_to_preview

COMMAND = "SlackAPI channel_message Say hi"


def results_in_thread(slack: FakeSlack, ts: str) -> list[str]:
    return [m.text for m in slack.thread("C1", ts) if m.is_reply]


@pytest.mark.parametrize("how", ["reset", "stall"])
async def test_a_result_whose_answer_was_lost_appears_once(
    *,
    how: Literal["reset", "stall"],
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """The result is stored in the thread but the bot never hears so (a reset connection; an answer later
    than its 0.5 s timeout): the bot finds its post by the metadata marker and does not post it again.
    Exactly one result in the thread, the outbox empty, and reactions on that one message rate the run."""
    settings = bot_settings.model_copy(update={"slack_timeout_seconds": 0.5})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        fake_slack.lose_answer("chat.postMessage", how=how, stall=1.5)
        await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
        [looked] = await fake_slack.wait_for_accepted("conversations.replies", 1, timeout=10)
        assert looked.args["ts"] == previewed.ts and looked.args["include_all_metadata"] in {"1", "true"}
        await wait_until(lambda: [1] if not _pending(fake_slack) else [], 1, 5.0, lambda: "still pending")
        assert await _outbox_empty(redis_client)
        [result] = results_in_thread(fake_slack, previewed.ts)
        assert "success" in result
        [posted] = [m for m in fake_slack.thread("C1", previewed.ts) if m.is_reply]
        assert posted.metadata is not None and posted.metadata["event_type"] == "zapbot_delivery"
        assert len(fake_slack.of("chat.postMessage")) == 2  # the preview, and the result once
        assert await redis_client.get(f"zapbot:message:C1:{posted.ts}") == "01HLOG000002"
        assert len(fake_zapier.of("execute")) == 1


async def test_without_the_history_scope_a_lost_post_is_sent_again(
    *,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """Installed without channels:history the bot cannot look (missing_scope): it sends the result again
    rather than lose it, as documented (a duplicate is better than a lost outcome)."""
    fake_slack.scopes.discard("channels:history")
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        fake_slack.lose_answer("chat.postMessage", how="reset")
        await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
        await fake_slack.wait_for_accepted("chat.postMessage", 2, timeout=10)  # the preview, the re-sent
        assert [c.answer.get("error") for c in fake_slack.of("conversations.replies")] == ["missing_scope"]
        assert len(results_in_thread(fake_slack, previewed.ts)) == 2
        assert len(fake_zapier.of("execute")) == 1


def _pending(slack: FakeSlack) -> bool:
    """Whether the preview still says it is running (its closing update not yet taken)."""
    updates = slack.accepted("chat.update")
    return not updates or "running" in str(updates[-1].args.get("blocks"))


async def _outbox_empty(client: redis.asyncio.Redis) -> bool:
    return await client.zcard("zapbot:outbox") == 0
