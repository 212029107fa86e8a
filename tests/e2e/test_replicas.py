"""Several replicas, one Redis: two real `python -m bot` processes serve one workspace.

All state that outlives a request is in Redis, so any replica can take any request: a preview made
through one is confirmed through the other exactly once, and stopping one (SIGTERM, as Kubernetes does on
a rollout) loses nothing. The processes are configured only through their environment, pointing at the
Slack and Zapier stand-ins and the test Redis, each on its own port on 127.0.0.1.

Follow-up (issue 3, ratings): once reactions become ratings, add a test here that reactions on one
result, delivered half to each replica (with re-deliveries), give the exact rating.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import redis.asyncio

from tests.support.bot_process import bot_processes, clean_environment
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import text_of
from tests.support.metrics import wait_idle
from tests.support.replicas import preview_through, sender
from tests.support.socket_bot import APP_TOKEN, SocketSender


async def test_a_preview_made_by_one_replica_is_confirmed_through_the_other_exactly_once(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """Confirm clicks sent to both replicas at once run the action once; every other clicker is told."""
    async with bot_processes(env, [tmp_path / "a", tmp_path / "b"], http_session) as (a, b):
        to_a, to_b = sender(a, http_session, fake_slack), sender(b, http_session, fake_slack)
        preview_id, ts = await preview_through(to_a, fake_slack)
        fake_zapier.latency = 0.2  # the run is still going while the later clicks arrive
        clicks = [
            to.block_action(
                "zap_confirm",
                preview_id,
                user=f"U{n}",
                message_ts=ts,
                response_url=fake_slack.response_url(f"{name}-{n}"),  # says which replica answered
            )
            for n in range(4)
            for name, to in (("a", to_a), ("b", to_b))
        ]
        responses = await asyncio.gather(*clicks)
        assert [r.status for r in responses] == [200] * 8
        told = await fake_slack.wait_for_response_posts(7, timeout=10)
        posts = await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        await wait_idle(http_session, a.url, b.url)  # a wrong second run would be in flight
        assert len(fake_zapier.of("execute")) == 1
        assert len(fake_slack.of("chat.postMessage")) == 2 and posts[1].args["thread_ts"] == ts
        assert all("already confirmed" in text_of(t.json) for t in told)
        assert {t.key[0] for t in told} == {"a", "b"}  # both replicas refused someone
        stored = await redis_client.hgetall(f"zapbot:preview:{preview_id}")
        assert stored["state"] == "succeeded"


async def test_stopping_a_replica_loses_nothing(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """SIGTERM on a replica with a run in flight: the run completes and is posted before it exits (0);
    the other replica keeps serving meanwhile and confirms the stopped one's pending preview afterwards."""
    async with bot_processes(env, [tmp_path / "a", tmp_path / "b"], http_session) as (a, b):
        to_a, to_b = sender(a, http_session, fake_slack), sender(b, http_session, fake_slack)
        in_flight, in_flight_ts = await preview_through(to_a, fake_slack)
        pending, pending_ts = await preview_through(to_a, fake_slack)
        fake_zapier.latency = 1.0  # the confirmed run is still at Zapier when SIGTERM arrives
        await to_a.block_action("zap_confirm", in_flight, message_ts=in_flight_ts)
        await fake_zapier.wait_for("execute", timeout=10)
        a.terminate()
        fake_zapier.latency = 0.0
        during, _ = await preview_through(to_b, fake_slack, "SlackAPI channel_message during the stop")
        assert await a.wait() == 0, a.log()
        assert "shutdown cut" not in a.log()  # the drain finished the run; nothing was cancelled
        results = [p for p in fake_slack.of("chat.postMessage") if p.args.get("thread_ts") == in_flight_ts]
        assert len(results) == 1 and "success" in text_of(results[0])
        assert (await redis_client.hgetall(f"zapbot:preview:{in_flight}"))["state"] == "succeeded"

        await to_b.block_action("zap_confirm", pending, message_ts=pending_ts)
        await to_b.block_action("zap_confirm", in_flight, message_ts=in_flight_ts)
        await fake_zapier.wait_for("execute", 2, timeout=10)
        [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
        assert "already confirmed this and it has run" in text_of(told.json)
        result = await fake_slack.wait_for("chat.postMessage", 5, timeout=10)
        assert result[-1].args["thread_ts"] == pending_ts
        assert (await redis_client.hgetall(f"zapbot:preview:{during}"))["state"] == "pending"
        assert len(fake_zapier.of("execute")) == 2


async def test_socket_mode_replicas_share_the_work_and_one_can_leave(
    *,
    env: dict[str, str],
    tmp_path: Path,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """Two Socket Mode processes hold one connection each: a preview made over one socket is confirmed
    once with clicks over both; after SIGTERM one socket closes and the other carries on."""
    socket_env = {**env, "SLACK_APP_TOKEN": APP_TOKEN}
    del socket_env["SLACK_SIGNING_SECRET"]
    async with bot_processes(socket_env, [tmp_path / "a", tmp_path / "b"], http_session) as (a, _):
        first, second = await fake_slack.socket.wait_connected(2, timeout=10)
        base = fake_slack.response_url_base
        over_first = SocketSender(http_session, fake_slack.socket, base, first)
        over_second = SocketSender(http_session, fake_slack.socket, base, second)
        preview_id, ts = await preview_through(over_first, fake_slack)
        clicks = [
            to.block_action("zap_confirm", preview_id, user=f"U{n}", message_ts=ts)
            for n in range(3)
            for to in (over_first, over_second)
        ]
        await asyncio.gather(*clicks)
        told = await fake_slack.wait_for_response_posts(5, timeout=10)
        assert all("already confirmed" in text_of(t.json) for t in told)
        await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        assert len(fake_zapier.of("execute")) == 1
        a.terminate()
        assert await a.wait() == 0, a.log()
        both = (first, second)
        await wait_until(lambda: [c for c in both if not c.open], 1, 5.0, lambda: "both sockets still open")
        [remaining] = [c for c in both if c.open]
        over_remaining = SocketSender(http_session, fake_slack.socket, base, remaining)
        await preview_through(over_remaining, fake_slack, "SlackAPI channel_message still here")


async def test_a_refused_app_token_ends_the_process_with_one_line(
    env: dict[str, str], tmp_path: Path
) -> None:
    """`python -m bot` with an app token Slack refuses exits 2 (as for a bad setting), its last line saying
    what to fix, with no traceback and nothing left unclosed."""
    process = await asyncio.create_subprocess_exec(
        *(sys.executable, "-m", "bot"),
        cwd=tmp_path,
        env=clean_environment({**env, "SLACK_APP_TOKEN": "xapp-revoked", "HOST": "127.0.0.1", "PORT": "0"}),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(process.communicate(), timeout=40)
    stderr = err.decode()
    assert process.returncode == 2, stderr
    last = stderr.strip().splitlines()[-1]  # after the start-up log line: the reason, and nothing after it
    assert last.startswith("zapbot could not start: Slack refused to open a Socket Mode connection")
    assert "(invalid_auth)" in last and "SLACK_APP_TOKEN" in last
    assert "Traceback" not in stderr and "Unclosed" not in stderr and "xapp-revoked" not in stderr
