"""Long output is never cut off silently: a result past Slack's total size is cut to fit before it is
sent, and the whole of it goes into the thread as a file, with a message that says so, states the run's
status and its own execution_log_id; and a "Show full result" too long for the 5 posts a response_url takes
points at that file."""

from __future__ import annotations

import json

from tests.support.bot_server import RunningBot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import buttons, command_to_preview, text_of

COMMAND = "GoogleSheetsV2API lookup_rows:search Find every lead"
PREVIEW = {
    "execution_log_id": "01HPREVIEW", "action_used": "Lookup Rows", "input_params": {},
    "resolved_params": {"spreadsheet": "Leads"}, "status": "preview", "results": [],
}  # fmt: skip


def big_result(records: int, fields: int, chars: int) -> dict[str, object]:
    rows = [{f"field_{f}": f"r{r}f{f} " + "x" * chars for f in range(fields)} for r in range(records)]
    return {**PREVIEW, "execution_log_id": "01HBIGRUN", "status": "success", "results": rows}


async def test_the_five_by_twenty_search_is_cut_to_fit_before_sending_with_the_rest_in_a_file(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """5 records of 20 fields: each block fits, but together they pass Slack's ~12,000 characters. The
    result is cut to fit *before* it is sent, so Slack never refuses it (no msg_blocks_too_long): the thread
    gets the whole result as a file, then the result itself with its status, as many whole records as fit,
    the run's execution_log_id and a note that says the rest is in the file."""
    fake_zapier.script("preview", Reply(json=PREVIEW))
    fake_zapier.script("execute", Reply(json=big_result(5, 20, 140)))
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
    posts = await fake_slack.wait_for_accepted("chat.postMessage", 2, timeout=10)
    said = text_of(posts[1])
    assert posts[1].args["thread_ts"] == previewed.ts
    assert "`success`" in said and "01HBIGRUN" in said and "attached to this thread as a file" in said
    assert "r0f19" in said and "r4f0" not in said  # whole records, in order, as many as fit
    assert "zap_full_result" in buttons(posts[1])
    refused = [c.answer.get("error") for c in fake_slack.calls if not c.ok]
    assert refused == [], refused  # nothing was refused: no msg_blocks_too_long, no retry
    [uploaded] = fake_slack.files.values()
    assert uploaded.thread_ts == previewed.ts and uploaded.channel == "C1"
    assert uploaded.content is not None
    assert json.loads(uploaded.content)[4]["field_19"].startswith("r4f19 ")
    thread = fake_slack.thread("C1", previewed.ts)
    assert [bool(m.files) for m in thread[1:]] == [True, False]  # the file, then the result that names it


async def test_show_full_result_longer_than_a_response_url_takes_is_attached(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A result of ~660,000 characters would take more than the 4 private messages zapbot allows itself
    on a response_url (5 posts at most, each within Slack's total): it is in the result's thread as a file
    already (the result was cut to fit), so Show full result says so to the person who clicked rather
    than attach it a second time."""
    fake_zapier.script("preview", Reply(json=PREVIEW))
    fake_zapier.script("execute", Reply(json=big_result(60, 20, 540)))
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
    posts = await fake_slack.wait_for_accepted("chat.postMessage", 2, timeout=10)
    await bot.slack.block_action(
        "zap_full_result", buttons(posts[1])["zap_full_result"], message_ts=posts[1].answer["ts"]
    )
    [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
    assert "attached to the result's thread as a file" in text_of(told.json)
    [uploaded] = fake_slack.files.values()
    assert uploaded.content is not None
    assert uploaded.thread_ts == previewed.ts and len(uploaded.content) > 4 * 49 * 2900
    assert len(fake_slack.of("files.completeUploadExternal")) == 1


async def test_a_cut_result_the_channel_refuses_reaches_people_by_dm_saying_only_what_is_true_there(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The bot is removed from the channel while a 5x20 search runs: the file cannot go into the thread and
    the result is refused (`not_in_channel`), so it goes to the requester by DM. The DM copy names no
    thread, no file attached to it and no reaction to rate it; it keeps Show full result, and that button,
    clicked in the DM, sends the whole result."""
    fake_zapier.script("preview", Reply(json=PREVIEW))
    fake_zapier.script("execute", Reply(json=big_result(5, 20, 140)))
    previewed = await command_to_preview(bot, fake_slack, COMMAND)
    fake_slack.channels.remove_bot("C1")
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
    posts = await fake_slack.wait_for_accepted("chat.postMessage", 2, timeout=10)
    [dm] = [p for p in posts if p.args["channel"] == "U1"]
    said = text_of(dm)
    assert "could not post the outcome" in said and "`success`" in said and "01HBIGRUN" in said
    assert "Show full result* sends you the whole of it" in said
    assert "thread" not in said and "attached" not in said and "react" not in said, said
    assert list(buttons(dm)) == ["zap_full_result"]
    assert not [f for f in fake_slack.files.values() if f.completed]  # the file went nowhere

    await bot.slack.block_action(
        "zap_full_result", buttons(dm)["zap_full_result"], message_ts=dm.answer["ts"], channel="U1"
    )

    def whole() -> list[str]:  # the whole result, in as many private messages as it takes
        return ["r4f19"] if "r4f19" in "".join(text_of(t.json) for t in fake_slack.response_posts) else []

    await wait_until(whole, 1, 10.0, lambda: repr(fake_slack.response_posts))
