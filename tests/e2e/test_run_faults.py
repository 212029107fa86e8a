"""A run's story stays true under faults injected into real processes: the bot killed mid-run, Redis
stopped after Zapier answered, the channel refusing the result, bytes nobody can read, full task limits.
Each test checks what a person sees in Slack and what Redis holds afterwards."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_process import bot_processes
from tests.support.bot_server import RunningBot, running_bot, settings_for
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import command_to_preview, text_of
from tests.support.redis_process import RedisProcess
from tests.support.redis_reads import stream_entries
from tests.support.replicas import preview_through, sender

COMMAND = 'SlackAPI channel_message channel~="#general" Send the weekly numbers'


async def eventually(read: Callable[[], Awaitable[object]], expected: object, seconds: float = 10.0) -> None:
    """Poll `read()` until it returns `expected` (a condition, polled every 50 ms), or fail."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (value := await read()) != expected:
        assert loop.time() < deadline, f"still {value!r} after {seconds} s, expected {expected!r}"
        await asyncio.sleep(0.05)


def thread_replies(slack: FakeSlack, ts: str) -> list[str]:
    return [text_of(p) for p in slack.of("chat.postMessage") if p.args.get("thread_ts") == ts]


def last_update_of(slack: FakeSlack, ts: str) -> str:
    updates = [text_of(u) for u in slack.of("chat.update") if u.args.get("ts") == ts]
    return updates[-1] if updates else ""


async def test_a_bot_killed_mid_run_is_ended_as_unknown_by_another_replica(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """kill -9 while Zapier runs a confirmed action: the other replica finds the lapsed lease and ends the
    run as "outcome unknown: zapbot stopped while this ran", in the thread and on the preview. It never
    says nothing was run, never runs it again, and a later click is told the outcome is unknown."""
    leased = {**env, "RUN_LEASE_SECONDS": "1"}
    async with bot_processes(leased, [tmp_path / "a", tmp_path / "b"], http_session) as (a, b):
        to_a, to_b = sender(a, http_session, fake_slack), sender(b, http_session, fake_slack)
        preview_id, ts = await preview_through(to_a, fake_slack)
        fake_zapier.latency = 6.0  # the action is still at Zapier when its process dies
        await to_a.block_action("zap_confirm", preview_id, message_ts=ts, user="U2")
        await fake_zapier.wait_for("execute", timeout=10)
        fake_zapier.latency = 0.0
        await wait_until(
            lambda: [1] if "running" in last_update_of(fake_slack, ts) else [], 1, 10.0, lambda: "not running"
        )
        # ...and its outbox item is done: killed between Slack's answer and that step, the item would stay
        # claimed by the dead process, and the preview's next update would wait out the claim (20 s).
        await eventually(lambda: redis_client.zcard("zapbot:outbox"), 0)
        a.process.kill()
        await a.process.wait()

        await wait_until(lambda: thread_replies(fake_slack, ts), 1, 15.0, lambda: "no reply in the thread")
        [told] = thread_replies(fake_slack, ts)
        assert "outcome unknown" in told and "stopped while this ran" in told
        assert "may or may not have run" in told and "nothing was run" not in told.lower()
        await wait_until(
            lambda: [1] if "outcome unknown" in last_update_of(fake_slack, ts) else [],
            1,
            10.0,
            lambda: "no update",
        )
        stored = await redis_client.hgetall(f"zapbot:preview:{preview_id}")
        assert stored["state"] == "unknown" and "stopped" in stored["outcome_detail"]
        assert await redis_client.zscore("zapbot:runs:leases", preview_id) is None

        await to_b.block_action("zap_confirm", preview_id, message_ts=ts, user="U3")
        [later] = await fake_slack.wait_for_response_posts(1, timeout=10)
        assert "outcome is unknown" in text_of(later.json)
        assert len(fake_zapier.of("execute")) == 1  # never re-run
        steps = [e["step"] for _, e in await stream_entries(redis_client, "zapbot:audit")]
        assert steps[-1] == "executed"


async def test_a_bot_killed_while_asking_for_a_preview_tells_the_requester(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """kill -9 while Zapier prepares a preview: the person saw "Asking Zapier…"; the other replica tells
    them the bot stopped meanwhile and that nothing was run (a preview never runs the action)."""
    leased = {**env, "RUN_LEASE_SECONDS": "1"}
    async with bot_processes(leased, [tmp_path / "a", tmp_path / "b"], http_session) as (a, _):
        fake_zapier.latency = 6.0
        response = await sender(a, http_session, fake_slack).command(COMMAND, user="U5")
        assert "Asking Zapier" in response.text
        await fake_zapier.wait_for("preview", timeout=10)
        fake_zapier.latency = 0.0
        a.process.kill()
        await a.process.wait()
        [whisper] = await fake_slack.wait_for("chat.postEphemeral", 1, timeout=15)
        assert whisper.args["user"] == "U5"
        assert "stopped while asking Zapier for a preview" in text_of(whisper)
        assert "Nothing was run" in text_of(whisper)


@pytest.mark.fast_paths("on")  # holding work back during a burst is a burst behaviour (give_way)
async def test_a_bot_killed_in_a_burst_leaves_nobody_it_acked_without_an_answer(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """A burst of requests keeps the bot's work held back behind its acks (bot/ops/give_way.py); five
    people's `/zap` are acked "Asking Zapier…" in it, and the bot is killed (-9) while the burst goes on.
    Each of the five hears from the other replica that nothing was run and to try again: work that never
    started ("before it could start", bot/runs/held.py), or a preview being asked for."""
    leased = {**env, "RUN_LEASE_SECONDS": "1"}
    people = [f"U{n}" for n in range(10, 15)]
    async with bot_processes(leased, [tmp_path / "a", tmp_path / "b"], http_session) as (a, _):
        to_a = sender(a, http_session, fake_slack)
        fake_zapier.latency = 6.0  # a preview that did start is still being asked for at the kill
        burst = True

        async def keep_bursting() -> None:  # `/zap help` is acked with no work: only keeps the burst on
            with contextlib.suppress(aiohttp.ClientError):
                while burst:
                    await to_a.command("help", user="U99")

        streams = [asyncio.create_task(keep_bursting()) for _ in range(8)]
        try:
            await asyncio.sleep(0.05)
            acks = await asyncio.gather(*(to_a.command(COMMAND, user=person) for person in people))
            assert all("Asking Zapier" in ack.text for ack in acks)
            await asyncio.sleep(0.1)  # the marks land (written after the acks, never before them)
            a.process.kill()
            await a.process.wait()
        finally:
            burst = False
            await asyncio.gather(*streams, return_exceptions=True)
        told = await fake_slack.wait_for("chat.postEphemeral", len(people), timeout=15)
        by_person = {call.args["user"]: text_of(call) for call in told}
        assert sorted(by_person) == people, [text_of(call) for call in told]
        for text in by_person.values():
            assert "Nothing was run" in text
            assert "before it could start this: `/zap SlackAPI channel_message" in text or (
                "stopped while asking Zapier for a preview" in text
            )
        held = [text for text in by_person.values() if "before it could start" in text]
        # Work still held never asked Zapier (work that started may have died before its call left).
        assert len(fake_zapier.of("preview")) <= len(people) - len(held)


async def test_redis_stopped_after_zapier_answered_still_delivers_and_records_later(
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """Redis goes away while a confirmed action runs: Zapier's answer still reaches the thread (never
    "nothing was run"), the preview is closed, and the outcome is recorded once Redis is back."""
    server = RedisProcess(tmp_path / "redis")
    url = server.start(appendonly=True)
    try:
        settings = settings_for(fake_slack, fake_zapier, url)
        async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
            previewed = await command_to_preview(bot, fake_slack, COMMAND)
            fake_zapier.latency = 1.5
            await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
            await fake_zapier.wait_for("execute", timeout=10)
            server.stop()  # a clean stop: its append-only file keeps what it had
            await wait_until(
                lambda: thread_replies(fake_slack, previewed.ts), 1, 10.0, lambda: "no reply in the thread"
            )
            [result] = thread_replies(fake_slack, previewed.ts)
            assert "success" in result and "nothing was run" not in result.lower()
            fake_zapier.latency = 0.0
            server.start(port=server.port, appendonly=True)
            client = redis.asyncio.Redis.from_url(url, decode_responses=True)
            try:
                key = f"zapbot:preview:{previewed.preview_id}"
                await eventually(lambda: client.hget(key, "state"), "succeeded")
                # The preview ends closed, even if an older "running…" update was still queued.
                await wait_until(
                    lambda: [1] if "result in the thread" in last_update_of(fake_slack, previewed.ts) else [],
                    1,
                    10.0,
                    lambda: last_update_of(fake_slack, previewed.ts),
                )
                execution = await client.hgetall("zapbot:execution:01HLOG000002")
                assert execution["status"] == "success" and "result" in execution
            finally:
                await client.aclose()
            assert len(fake_zapier.of("execute")) == 1
    finally:
        server.stop()


async def test_a_channel_that_refuses_the_result_for_good_is_told_privately(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """The bot was removed from the channel between preview and result (`not_in_channel`): the action ran,
    so the requester and the confirmer get the outcome in a DM, and the preview says where it went."""
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND, user="U1")
        fake_slack.fail("chat.postMessage", "not_in_channel")
        await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts, user="U2")
        posts = await fake_slack.wait_for("chat.postMessage", 4, timeout=10)
        dms = {p.args["channel"]: text_of(p) for p in posts[2:]}
        assert set(dms) == {"U1", "U2"}
        assert all("could not post the outcome" in t and "success" in t for t in dms.values())
        await wait_until(
            lambda: [1] if "privately" in last_update_of(fake_slack, previewed.ts) else [],
            1,
            10.0,
            lambda: f"last update: {last_update_of(fake_slack, previewed.ts)}",
        )
        assert len(fake_zapier.of("execute")) == 1


BAD_PREVIEW = (
    b'{"execution_log_id": "01HBADPREVIEW", "action_used": "Send \xff\xfe Message", "input_params": {},'
    b' "resolved_params": {"text": "hi \\ud800 there"}, "status": "preview", "results": []}'
)
BAD_RESULT = (
    b'{"execution_log_id": "01HBADRUN", "action_used": "Send Message", "input_params": {},'
    b' "resolved_params": {"text": "hi"}, "status": "success",'
    b' "results": [{"text": "caf\xc3 \\udfff end"}]}'
)


async def test_invalid_unicode_from_zapier_ends_in_a_shown_and_recorded_run(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """Bytes that are not UTF-8 and escaped lone surrogates, in the preview and in the result: both are
    shown (with U+FFFD where text could not be read), and the run is recorded with its full result."""
    fake_zapier.script("preview", Reply(body=BAD_PREVIEW, off_spec=True))
    fake_zapier.script("execute", Reply(body=BAD_RESULT, off_spec=True))
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    assert "\ufffd" in text_of(previewed.call)
    await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
    await wait_until(lambda: thread_replies(fake_slack, previewed.ts), 1, 10.0, lambda: "no result")
    [result] = thread_replies(fake_slack, previewed.ts)
    assert "success" in result and "caf\ufffd" in result
    stored = await redis_client.hgetall(f"zapbot:preview:{previewed.preview_id}")
    assert stored["state"] == "succeeded" and stored["run_log_id"] == "01HBADRUN"
    execution = await redis_client.hgetall("zapbot:execution:01HBADRUN")
    assert "\ufffd end" in execution["result"]


@pytest.mark.parametrize("surface", ["click", "mention"])
async def test_at_the_task_limit_a_click_or_a_mention_hears_busy(
    surface: str,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """With every background slot taken, a Confirm click or an @mention is answered "busy, try again"
    (only to that person, where they can see it) and counted; nothing is dropped without a word."""
    settings = bot_settings.model_copy(update={"max_background_tasks": 1})
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)

        async def in_flight() -> object:
            async with http_session.get(bot.url + "/livez") as live:
                return (await live.json())["tasks_in_flight"]

        await eventually(in_flight, 0)  # the first command's work is over: the one slot is free
        fake_zapier.latency = 2.0
        await bot.slack.command(COMMAND)  # holds the one slot while Zapier thinks
        await fake_zapier.wait_for("preview", 2, timeout=10)
        if surface == "click":
            await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
            [told] = await fake_slack.wait_for_response_posts(1, timeout=5)
            text = text_of(told.json)
        else:
            await bot.slack.mention(f"<@UBOT> {COMMAND}", user="U4")
            [whisper] = await fake_slack.wait_for("chat.postEphemeral", 1, timeout=5)
            assert whisper.args["user"] == "U4" and "thread_ts" not in whisper.args
            text = text_of(whisper)
        assert "very busy" in text and "try again" in text
        async with http_session.get(bot.url + "/metrics") as metrics:
            assert f'zapbot_busy_total{{surface="{surface}"}} 1.0' in await metrics.text()
        assert fake_zapier.of("execute") == []


async def test_a_run_cut_by_the_end_of_a_shutdown_ends_as_unknown_in_the_thread(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """A shutdown that reaches its deadline with an action still at Zapier cancels it: the run ends as
    "outcome unknown: zapbot stopped while this ran" in the thread and on the preview, said by this very
    process before it exits, and is recorded so no other replica says it again."""
    async with running_bot(
        bot_settings, http_session, fake_slack.response_url_base, drain_seconds=0.5
    ) as bot:
        previewed = await command_to_preview(bot, fake_slack, COMMAND)
        fake_zapier.latency = 5.0
        await bot.slack.block_action("zap_confirm", previewed.preview_id, message_ts=previewed.ts)
        await fake_zapier.wait_for("execute", timeout=10)
        fake_zapier.latency = 0.0
    [told] = thread_replies(fake_slack, previewed.ts)
    assert "outcome unknown" in told and "stopped while this ran" in told
    assert "outcome unknown" in last_update_of(fake_slack, previewed.ts)
    client = redis.asyncio.Redis.from_url(bot_settings.redis_url, decode_responses=True)
    try:
        stored = await client.hgetall(f"zapbot:preview:{previewed.preview_id}")
        assert stored["state"] == "unknown"
        assert await client.zscore("zapbot:runs:leases", previewed.preview_id) is None
    finally:
        await client.aclose()
