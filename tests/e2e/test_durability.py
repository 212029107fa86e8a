"""Nothing lost when Redis itself goes away: with AOF persistence, a rating still waiting for Zapier is
delivered after Redis crashes and comes back, and a preview made before the crash can still be confirmed."""

from __future__ import annotations

from pathlib import Path

import aiohttp

from bot.store import connect
from tests.support.bot_server import settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import command_to_preview, text_of
from tests.support.rating_helpers import rating_bot, react, run_to_result, settled
from tests.support.redis_process import RedisProcess


async def test_a_pending_rating_and_a_pending_preview_survive_a_redis_crash(
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """Redis (AOF) is killed with a rating delivery pending and a preview unconfirmed; once it restarts
    on the same data, the same bot delivers the rating and a Confirm runs the preview, each once."""
    server = RedisProcess(tmp_path / "redis")
    url = server.start(appendonly=True)
    client = connect(url)  # reconnects after the crash, as the bot does
    try:
        for _ in range(100):
            fake_zapier.script("rate", Reply(status=503, json={"error": "busy"}, off_spec=True))
        settings = settings_for(fake_slack, fake_zapier, url)
        async with rating_bot(settings, http_session, fake_slack) as bot:
            ran = await run_to_result(bot, fake_slack, client)
            await react(bot, "+1", ts=ran.ts)
            await fake_zapier.wait_for("rate")  # the delivery is recorded as pending and failing
            later = await command_to_preview(bot, fake_slack, "SlackAPI channel_message Say hi again")
            server.stop(hard=True)  # a crash: SIGKILL (each write was fsynced: see RedisProcess)
            fake_zapier.unscript("rate")  # Zapier accepts the next rate call
            server.start(port=server.port, appendonly=True)
            fields = await settled(client, ran.execution_log_id)
            assert fields["delivered_rating"] == "1"
            await bot.slack.block_action("zap_confirm", later.confirm_value, message_ts=later.ts)
            posts = await fake_slack.wait_for("chat.postMessage", 4, timeout=10)
            assert "success" in text_of(posts[-1]) and posts[-1].args["thread_ts"] == later.ts
        assert len(fake_zapier.of("execute")) == 2
        assert fake_zapier.of("rate")[-1].query == {"rating": "1"}
    finally:
        await client.aclose()
        server.stop()
