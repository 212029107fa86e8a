"""The audit trail: every step of a run in the `zapbot:audit` stream, `/zap audit [N]`, and the cap."""

from __future__ import annotations

import time

import redis.asyncio

from bot.approvals.audit import Audit, Step
from bot.approvals.store import TeamStore
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import assert_valid_blocks, command_to_preview
from tests.support.policy_helpers import WRITE, audit_entries, told_at
from tests.support.redis_reads import stream_entries


async def test_a_full_run_leaves_every_step_in_the_audit_stream(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """requested, previewed, approved, confirmed and executed are appended in order, each with who, when,
    channel, app, action and the execution_log_id of the preview or of the run."""
    started = time.time()
    previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1", channel="C1")
    # One step (bot/runs/store.py `_PREVIEWED`) saved the preview in its index and ended its asking.
    assert await redis_client.zscore("zapbot:previews:expiring", previewed.preview_id) is not None
    assert await redis_client.zcard("zapbot:runs:asking") == 0
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts)
    await fake_slack.wait_for("chat.postMessage", 2)
    await fake_slack.wait_for("chat.update", 2)
    entries = await audit_entries(redis_client)
    assert [(e["step"], e["who"]) for e in entries] == [
        ("requested", "U1"),
        ("previewed", "U1"),
        ("approved", "U2"),
        ("confirmed", "U2"),
        ("executed", "U2"),
    ]
    assert all(e["channel"] == "C1" and e["team"] == "T1" for e in entries)
    assert all(e["app"] == "SlackAPI" and e["action"] == "channel_message" for e in entries)
    assert all(started - 1 <= float(e["at"]) <= time.time() for e in entries)
    assert entries[0]["execution_log_id"] == ""  # nothing was asked of Zapier yet
    assert entries[1]["execution_log_id"] == entries[3]["execution_log_id"] == "01HLOG000001"
    assert entries[4]["execution_log_id"] == "01HLOG000002" and entries[4]["detail"] == "success"
    assert entries[2]["detail"] == "1/1" and entries[1]["preview_id"] == previewed.preview_id


async def test_zap_audit_shows_the_caller_the_last_steps_of_this_channel_only(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap audit 3` answers only the caller with the channel's last three steps, oldest first; steps in
    another channel (here a cancel) are not shown there, and a bad N gets the usage."""
    previewed = await command_to_preview(bot, fake_slack, WRITE, channel="C1")
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts)
    await fake_zapier.wait_for("execute")
    await fake_slack.wait_for("chat.update", 2)
    other = await command_to_preview(bot, fake_slack, WRITE, channel="C2")
    await bot.slack.block_action("zap_cancel", other.preview_id, channel="C2", user="U3", message_ts=other.ts)
    await fake_slack.wait_for("chat.update", 3)

    response = await bot.slack.command(
        "audit 3", channel="C1", user="U4", response_url=fake_slack.response_url("a")
    )
    assert response.status == 200
    shown = await told_at(fake_slack, "a")
    [post] = [p for p in fake_slack.response_posts if p.key == "a"]
    assert post.json["response_type"] == "ephemeral"
    assert_valid_blocks(post.json["blocks"])
    assert "the last 3 steps" in shown
    assert shown.index("*approved*") < shown.index("*confirmed*") < shown.index("*executed*")
    assert "*previewed*" not in shown and "cancelled" not in shown and "<@U3>" not in shown
    assert "`SlackAPI channel_message`" in shown and "`01HLOG000002`" in shown and "<@U2>" in shown

    await bot.slack.command("audit", channel="C2", response_url=fake_slack.response_url("b"))
    in_c2 = await told_at(fake_slack, "b")
    assert "*cancelled*" in in_c2 and "<@U3>" in in_c2 and "*executed*" not in in_c2
    await bot.slack.command("audit lots", channel="C1", response_url=fake_slack.response_url("c"))
    assert "Usage" in await told_at(fake_slack, "c")


async def test_the_stream_is_capped_and_other_features_can_append(redis_client: redis.asyncio.Redis) -> None:
    """`Audit.append` (what other features call) adds an entry; XADD MAXLEN ~ keeps the stream near
    AUDIT_MAX_ENTRIES, dropping the oldest; `recent` finds a channel's newest entries that are still kept."""
    audit = Audit(TeamStore(redis_client), max_entries=100)
    for n in range(1000):
        await audit.append(Step.RATED, who="U1", channel=f"C{n % 2}", execution_log_id=f"log{n}", detail="+1")
    length = await redis_client.xlen("zapbot:audit")
    assert 100 <= length < 300  # approximate trimming removes whole nodes of entries at a time
    recent = await audit.recent("C1", 3)
    assert [e.execution_log_id for e in recent] == ["log995", "log997", "log999"]
    assert all(e.step == "rated" and e.detail == "+1" for e in recent)
    in_stream = [f["execution_log_id"] for f in await audit_entries(redis_client) if f["channel"] == "C1"]
    assert [e.execution_log_id for e in await audit.recent("C1", 200)] == in_stream  # trimmed ones skipped
    assert await audit.recent("C7", 10) == []


async def test_an_entry_reaches_the_stream_exactly_as_given(redis_client: redis.asyncio.Redis) -> None:
    """The entry travels to Redis as one JSON list decoded by Lua: any text (accents, emoji, quotes,
    backslashes, JSON-looking text, an empty value) is stored as given, fields in their order."""
    audit = Audit(TeamStore(redis_client), clock=lambda: 1700000000.25)
    detail = 'café 🍕 "quoted" \\ back\\slash [1, {"a": null}] \u00e9\t<&>'
    await audit.append(Step.EXECUTED, who="U1", channel="C1", app="Gmail", detail=detail)
    [(_, fields)] = await stream_entries(redis_client, "zapbot:audit")
    assert list(fields.items()) == [
        ("step", "executed"),
        ("who", "U1"),
        ("at", "1700000000.250"),
        ("team", ""),
        ("channel", "C1"),
        ("app", "Gmail"),
        ("action", ""),
        ("execution_log_id", ""),
        ("preview_id", ""),
        ("detail", detail),
    ]
