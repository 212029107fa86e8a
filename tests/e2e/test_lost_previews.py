"""A preview whose post may have landed (issue 21, item 5, for previews). Slack carries out the preview's
chat.postMessage but its answer is lost (a reset connection, or an answer later than the bot's
SLACK_TIMEOUT_SECONDS). The preview carries a metadata marker; the bot looks for it at the top of the
channel (conversations.history, `oldest` a little before the send, include_all_metadata) and, finding it,
records its ts and goes on as if Slack had answered. Where it cannot find it, the requester is told it was
not posted, the record says so, and a click on a copy that landed after all is refused and closes it."""

from __future__ import annotations

import time
from typing import Literal

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.slack_workspace import Message
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import text_of
from tests.support.policy_helpers import told_at
from tests.support.rating_helpers import eventually

COMMAND = "SlackAPI channel_message Say hi"


def previews_in(slack: FakeSlack, channel: str = "C1") -> list[Message]:
    """The previews in the channel (as they stand now: buttons or closed), by their metadata marker."""
    return [
        m
        for m in slack.messages
        if m.channel == channel
        and str((m.metadata or {}).get("event_payload", {}).get("delivery_id", "")).startswith("preview:")
    ]


def confirm_value(message: Message) -> str:
    for block in message.blocks:
        for element in block.get("elements", []) if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("action_id") == "zap_confirm":
                return str(element["value"])
    raise AssertionError(f"no Confirm button in {message.blocks}")


@pytest.mark.parametrize("how", ["reset", "stall"])
async def test_a_preview_whose_answer_was_lost_is_found_recorded_and_confirmable(
    *,
    how: Literal["reset", "stall"],
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """The preview lands but the bot never hears so: it finds it by its marker in conversations.history,
    records its ts, and does not post it again nor tell the requester it failed. Exactly one preview in
    the channel; a Confirm on it runs once and the result goes into its thread."""
    settings = bot_settings.model_copy(update={"slack_timeout_seconds": 0.5})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        fake_slack.lose_answer("chat.postMessage", how=how, stall=1.5)
        sent_at = time.time()
        await bot.slack.command(COMMAND, response_url=fake_slack.response_url("asker"))
        [looked] = await fake_slack.wait_for_accepted("conversations.history", 1, timeout=5)
        assert looked.args["channel"] == "C1" and looked.args["include_all_metadata"] in {"1", "true"}
        assert sent_at - 120 < float(looked.args["oldest"]) <= sent_at
        [preview] = previews_in(fake_slack)
        assert preview.metadata is not None and preview.metadata["event_type"] == "zapbot_delivery"
        preview_id = confirm_value(preview).partition(":")[0]
        key = f"zapbot:preview:{preview_id}"
        assert await eventually(lambda: redis_client.hget(key, "message_ts"), timeout=5) == preview.ts
        assert await redis_client.hget(key, "state") == "pending"
        assert await redis_client.get(f"zapbot:message:C1:{preview.ts}") is not None  # reactions rate it

        await bot.slack.block_action(
            "zap_confirm",
            confirm_value(preview),
            message_ts=preview.ts,
            response_url=fake_slack.response_url("c"),
        )
        await fake_zapier.wait_for("execute", 1)
        await wait_until(lambda: [m for m in fake_slack.thread("C1", preview.ts) if m.is_reply], 1, 5.0, str)
        assert len(previews_in(fake_slack)) == 1
        assert len(fake_slack.of("chat.postMessage")) == 2  # the preview once, and the result
        assert len(fake_zapier.of("execute")) == 1
        assert not [
            p for p in fake_slack.response_posts if p.key == "asker" and "Nothing was run" in text_of(p.json)
        ]


async def test_a_preview_that_cannot_be_found_is_reported_and_a_click_on_its_copy_is_refused(
    *,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """Installed without channels:history, the bot cannot look for a preview whose answer was lost: the
    requester is told it was not posted (nothing was run), its record says `unposted`, and a click on the
    copy that landed after all is refused with a clear message, runs nothing, and closes that copy."""
    fake_slack.scopes.discard("channels:history")
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as bot:
        fake_slack.lose_answer("chat.postMessage", how="reset")
        await bot.slack.command(COMMAND, response_url=fake_slack.response_url("asker"))
        said = await told_at(fake_slack, "asker")
        assert "did not confirm that your preview was posted" in said and "Nothing was run" in said
        assert [c.answer.get("error") for c in fake_slack.of("conversations.history")] == ["missing_scope"]
        [copy] = previews_in(fake_slack)
        preview_id = confirm_value(copy).partition(":")[0]
        assert await redis_client.hget(f"zapbot:preview:{preview_id}", "state") == "unposted"
        assert await redis_client.zscore("zapbot:previews:expiring", preview_id) is None

        await bot.slack.block_action(
            "zap_confirm",
            confirm_value(copy),
            message_ts=copy.ts,
            response_url=fake_slack.response_url("click"),
        )
        refused = await told_at(fake_slack, "click")
        assert (
            "Slack did not confirm that this preview was posted" in refused and "nothing was run" in refused
        )
        await fake_slack.wait_for_accepted("chat.update", 1)
        assert "zap_confirm" not in str(copy.blocks) and "taken as not posted" in str(copy.blocks)
        await bot.slack.block_action(
            "zap_cancel", preview_id, message_ts=copy.ts, response_url=fake_slack.response_url("cancel")
        )
        assert "Slack did not confirm" in await told_at(fake_slack, "cancel")
        assert fake_zapier.of("execute") == []
        assert await redis_client.hget(f"zapbot:preview:{preview_id}", "state") == "unposted"


async def test_a_preview_in_a_mentions_thread_whose_answer_was_lost_is_found_in_that_thread(
    *,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    redis_client: redis.asyncio.Redis,
) -> None:
    """A mention's preview is a thread reply: when its answer is lost, the bot looks in that thread
    (conversations.replies of the mention) rather than at the top of the channel, and records it."""
    settings = bot_settings.model_copy(update={"slack_timeout_seconds": 0.5})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        mention_ts = f"{time.time():.6f}"
        fake_slack.add_user_message("C7", mention_ts, text="<@UBOT> " + COMMAND)
        fake_slack.lose_answer("chat.postMessage", how="reset")
        await bot.slack.mention(COMMAND, ts=mention_ts, channel="C7")
        [looked] = await fake_slack.wait_for_accepted("conversations.replies", 1, timeout=5)
        assert looked.args["ts"] == mention_ts and looked.args["include_all_metadata"] in {"1", "true"}
        assert fake_slack.of("conversations.history") == []
        [preview] = previews_in(fake_slack, "C7")
        assert preview.thread_ts == mention_ts
        key = f"zapbot:preview:{confirm_value(preview).partition(':')[0]}"
        assert await eventually(lambda: redis_client.hget(key, "message_ts"), timeout=5) == preview.ts
        assert await redis_client.hget(key, "thread_ts") == mention_ts
        assert len(fake_slack.of("chat.postMessage")) == 1
