"""Which bot/ modules one /zap passes through, from the signed request to the result in the thread: a bot
in-process against the stand-ins, its calls profiled during one command and its confirm.

Usage: `.venv/bin/python -m bench.trace_modules [REPO]` (REPO: another checkout to measure, default this
one; REDIS: a Redis URL whose database it may flush, default redis://127.0.0.1:6379/13).
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path
from types import FrameType
from typing import Any

seen: set[str] = set()


def profile(frame: FrameType, event: str, arg: Any) -> None:
    if event == "call":
        module = frame.f_globals.get("__name__", "")
        if module.startswith("bot."):
            seen.add(module)


async def main(repo: str) -> None:
    sys.path.insert(0, repo)
    os.chdir(repo)
    import aiohttp

    try:  # the tests' helpers moved to tests/support/; older checkouts have them in tests/
        from tests.support.bot_server import running_bot, settings_for
        from tests.support.fakes.slack_server import FakeSlack
        from tests.support.fakes.zapier_server import FakeZapier
        from tests.support.helpers import command_to_preview
    except ImportError:
        from tests.bot_server import running_bot, settings_for  # type: ignore[no-redef]
        from tests.fakes.slack_server import FakeSlack  # type: ignore[no-redef]
        from tests.fakes.zapier_server import FakeZapier  # type: ignore[no-redef]
        from tests.helpers import command_to_preview  # type: ignore[no-redef]

    slack, zapier = FakeSlack(), FakeZapier()
    await slack.start()
    await zapier.start()
    settings = settings_for(slack, zapier, os.environ.get("REDIS", "redis://127.0.0.1:6379/13"))
    async with aiohttp.ClientSession() as http, running_bot(settings, http, slack.response_url_base) as bot:
        await bot.slack.command("help")  # warm up: auth.test, caches
        await asyncio.sleep(0.5)
        sys.setprofile(profile)
        previewed = await command_to_preview(bot, slack, "SlackAPI channel_message channel=#general Say hi")
        value = getattr(previewed, "confirm_value", "") or previewed.preview_id
        await bot.slack.block_action("zap_confirm", value, message_ts=previewed.ts, user="U2")
        await slack.wait_for("chat.postMessage", 2, timeout=10)
        await asyncio.sleep(1.0)  # the last updates and records, through the outbox
        sys.setprofile(None)
    await slack.stop()
    await zapier.stop()
    print(len(seen), "modules")
    for module in sorted(seen):
        print(" ", module)


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parent.parent)))
