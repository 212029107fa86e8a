"""Hidden and direction-changing characters through the real bot: shown marked on the preview and in the
result, sent to Zapier exactly as typed."""

from __future__ import annotations

import json

from bot.render.messages import (
    HIDDEN_NOTE,
)
from bot.render.text_safety import has_hidden
from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import assert_valid_blocks, buttons, command_to_preview, text_of


async def test_hidden_characters_are_shown_on_the_preview_and_sent_to_zapier_exactly(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Through the real endpoint: the preview marks the hidden characters and says so; Confirm (with the
    fingerprint shown) runs, and Zapier gets the raw characters, unmarked, in params and instructions."""
    channel = "#gen\u202eral"
    words = "Send \u200bhi\U000e0041 ```now```"
    previewed = await command_to_preview(
        bot, fake_slack, f'SlackAPI channel_message channel="{channel}" {words}'
    )
    [preview_request] = fake_zapier.of("preview")
    assert preview_request.json["instructions"] == words
    assert preview_request.json["params"]["channel"]["value"] == channel
    shown = text_of(previewed.call)
    assert "#gen&lt;U+202E&gt;ral" in shown and "&lt;U+200B&gt;hi&lt;U+E0041&gt;" in shown
    assert HIDDEN_NOTE in shown and "```" not in shown
    assert not has_hidden(shown)
    response = await bot.slack.block_action(
        "zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts
    )
    assert response.status == 200
    [run] = await fake_zapier.wait_for("execute")
    assert run.json["params"]["channel"] == {"mode": "locked", "value": channel}
    assert run.json["params"]["text"] == {"mode": "locked", "value": words}
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    result = text_of(posts[1])
    assert "#gen&lt;U+202E&gt;ral" in result and not has_hidden(result) and "```" not in result


async def test_zapier_text_with_hidden_characters_is_marked_in_the_result(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A result whose action name, values and labels hold hidden characters and markup reaches the
    thread marked and flat, and the full result (Show full result) too."""
    previewed = await command_to_preview(bot, fake_slack, "SlackAPI channel_message say hi")
    body = "x" * 700 + "```\u202e*bold*"
    fake_zapier.script(
        "execute",
        Reply(
            json={
                "execution_log_id": "01HRUN000001",
                "action_used": "Send\u2067 Message",
                "input_params": {},
                "resolved_params": {},
                "status": "success",
                "results": [{"text": body}],
                "result_field_labels": {"text": "Text\u200b"},
            }
        ),
    )
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2)
    shown = text_of(posts[1])
    assert "Send&lt;U+2067&gt; Message" in shown and "Text&lt;U+200B&gt;" in shown
    assert not has_hidden(shown) and "```" not in shown
    assert_valid_blocks(posts[1].args["blocks"])
    full = buttons(posts[1])["zap_full_result"]
    await bot.slack.block_action("zap_full_result", full, user="U2", message_ts=str(posts[1].answer["ts"]))
    [sent] = await fake_slack.wait_for_response_posts(1)
    text = json.dumps(sent.json, ensure_ascii=False)
    assert "&lt;U+202E&gt;" in text and not has_hidden(text)
