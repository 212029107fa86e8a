"""How fast the form's menus answer Slack (block_suggestion), and how long plain English takes to a preview.

Runs the real bot on 127.0.0.1 with a real redis-server and the local Slack and Zapier stand-ins:

    .venv/bin/python -m bench.menus [--requests 200]

Prints milliseconds: menu answers that ask Zapier, answers from the cache, answers while Zapier is slower than
OPTIONS_WAIT_SECONDS (they must still come in under Slack's 3 s), and `/zap <plain words>` to the posted
preview (guess + preview + post). Figures depend on the machine; compare runs on the same one.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from pathlib import Path

import aiohttp

from tests.support.bot_server import running_bot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.redis_process import RedisProcess


def _summary(name: str, millis: list[float]) -> str:
    ordered = sorted(millis)
    p95 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.95))]
    return (
        f"{name:<34} n={len(ordered):<4} p50={statistics.median(ordered):7.1f}  "
        f"p95={p95:7.1f}  max={ordered[-1]:7.1f}"
    )


async def run(requests: int) -> None:
    with tempfile.TemporaryDirectory() as directory:
        redis = RedisProcess(Path(directory))
        url = redis.start()
        slack, zapier = FakeSlack(), FakeZapier()
        await slack.start()
        await zapier.start()
        try:
            async with aiohttp.ClientSession() as http:
                settings = settings_for(slack, zapier, url)
                async with running_bot(settings, http, slack.response_url_base) as bot:
                    send = bot.slack.block_suggestion
                    fresh = [
                        (await send("zap_form_app", f"q{i}", block_id="app")).elapsed for i in range(requests)
                    ]
                    await send("zap_form_app", "slack", block_id="app")
                    cached = [
                        (await send("zap_form_app", "slack", block_id="app")).elapsed for _ in range(requests)
                    ]
                    zapier.latency = settings.options_wait_seconds + 1.5
                    slow = [
                        (await send("zap_form_app", f"slow{i}", block_id="app")).elapsed for i in range(3)
                    ]
                    zapier.latency = 0.0
                    english = []
                    for i in range(min(requests, 50)):
                        before = len(slack.of("chat.postMessage"))
                        started = time.monotonic()
                        await bot.slack.command(f"send an email to Bob about lunch number {i}")
                        await slack.wait_for("chat.postMessage", before + 1, timeout=10.0)
                        english.append(time.monotonic() - started)
        finally:
            await zapier.stop()
            await slack.stop()
            redis.stop()
    print(_summary("menu, asking Zapier", [s * 1000 for s in fresh]))
    print(_summary("menu, from the cache", [s * 1000 for s in cached]))
    print(_summary("menu, Zapier slower than the wait", [s * 1000 for s in slow]))
    print(_summary("plain English to posted preview", [s * 1000 for s in english]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=200)
    asyncio.run(run(parser.parse_args().requests))


if __name__ == "__main__":
    main()
