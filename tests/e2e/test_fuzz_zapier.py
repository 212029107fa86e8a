"""Fuzzing Zapier's side: answers shaped like the spec's ExecuteResponse with any field missing or of any
type, any status, any text (lone surrogates, hidden characters, markup), raw bytes that are not JSON or
not UTF-8, and error statuses, to a preview or to a confirmed run, through the bot's real endpoint. Every
run ends in a recorded outcome and a message in its thread; a preview ends shown or explained; nothing is
logged at ERROR."""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Iterator
from typing import Any

import pytest
import redis.asyncio
from hypothesis import given
from hypothesis import strategies as st

from tests.support.bot_server import RunningBot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.fuzz_support import JSON, TEXT, fuzz_settings, problems_in_logs
from tests.support.helpers import command_to_preview

STATUSES = st.one_of(st.sampled_from(["success", "error", "empty", "preview", "halted"]), TEXT)
FINAL = {"succeeded", "empty", "failed", "unknown"}
CASES = {"preview": 0, "run": 0}
PEOPLE = itertools.count()


@st.composite
def answer(draw: st.DrawFn) -> Reply:
    """An answer to POST /api/v2/execute/: spec-shaped with fields dropped or of any type, or garbage."""
    fields: dict[str, Any] = {
        "execution_log_id": draw(st.one_of(st.from_regex(r"01[A-Z0-9]{10}", fullmatch=True), JSON)),
        "action_used": draw(st.one_of(TEXT, JSON)),
        "input_params": draw(JSON),
        "resolved_params": draw(st.one_of(st.dictionaries(TEXT, JSON, max_size=4), JSON)),
        "results": draw(st.one_of(st.lists(st.dictionaries(TEXT, JSON, max_size=5), max_size=4), JSON)),
        "status": draw(STATUSES),
        "error": draw(st.one_of(st.none(), TEXT)),
    }
    dropped = draw(st.sets(st.sampled_from(sorted(fields)), max_size=3))
    body = {k: v for k, v in fields.items() if k not in dropped}
    kind = draw(st.sampled_from(["json", "json", "json", "bytes", "status"]))
    if kind == "bytes":
        return Reply(body=draw(st.binary(max_size=200)), off_spec=True)
    if kind == "status":
        code = draw(st.sampled_from([400, 401, 404, 422, 429, 500, 502, 503]))
        return Reply(status=code, json={"error": draw(TEXT), "detail": draw(JSON)}, off_spec=True)
    text = json.dumps(body, ensure_ascii=draw(st.booleans()))  # \\ud800 escapes, or raw text
    return Reply(body=text.encode("utf-8", "surrogatepass"), off_spec=True)


PREVIEW = {
    "execution_log_id": "01HPREVIEWOK", "action_used": "Send Channel Message", "input_params": {},
    "resolved_params": {"text": "hi"}, "status": "preview", "results": [],
}  # fmt: skip


@pytest.fixture(autouse=True, scope="module")
def _report_counts(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    reporter = request.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None:
        reporter.write_line(f"fuzz (Zapier): {CASES['preview']} previews and {CASES['run']} runs answered")


@fuzz_settings(default=40)
@given(reply=answer(), at=st.sampled_from(["preview", "run"]))
async def test_any_zapier_answer_ends_in_a_message_and_a_recorded_outcome(
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
    caplog: pytest.LogCaptureFixture,
    *,
    reply: Reply,
    at: str,
) -> None:
    """A fuzzed answer to the preview: the requester sees a preview or why there is none. A fuzzed answer
    to the confirmed run: the run ends succeeded, empty, failed or unknown, in Redis and in its thread."""
    n = next(PEOPLE)
    user, channel = f"UFUZZ{n}", f"CFUZZ{n}"  # one each: the per-person and per-channel limits stay clear
    CASES[at] += 1
    if at == "preview":
        fake_zapier.script("preview", reply)
        before = len(fake_slack.response_posts)
        await bot.slack.command("SlackAPI channel_message Say hi", user=user, channel=channel)

        def answered() -> list[object]:
            posts = [p for p in fake_slack.of("chat.postMessage") if p.args.get("channel") == channel]
            return [*posts, *fake_slack.response_posts[before:]]

        await wait_until(answered, 1, 10.0, lambda: "no preview and no answer")
    else:
        fake_zapier.script("preview", Reply(json=PREVIEW))
        fake_zapier.script("execute", reply)
        previewed = await command_to_preview(bot, fake_slack, "SlackAPI channel_message Say hi", user=user,
                                             channel=channel)  # fmt: skip
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user=user, channel=channel, message_ts=previewed.ts
        )

        async def ended() -> bool:
            state = await redis_client.hget(f"zapbot:preview:{previewed.preview_id}", "state")
            replies = [
                p for p in fake_slack.of("chat.postMessage") if p.args.get("thread_ts") == previewed.ts
            ]
            return state in FINAL and bool(replies)

        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10.0
        while not await ended():  # a condition, polled
            assert loop.time() < deadline, f"the run did not end: {reply}"
            await asyncio.sleep(0.02)
    assert problems_in_logs(caplog) == [], reply
