"""Small helpers the end-to-end tests share: find buttons in posted blocks, run a command to its preview."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from slack_sdk.models.blocks import Block

from tests.support.bot_server import RunningBot
from tests.support.fakes._http import wait_until
from tests.support.fakes.slack_server import FakeSlack, SlackCall


def buttons(call: SlackCall) -> dict[str, str]:
    """action_id -> value of every button in a posted or updated message."""
    found = {}
    for block in call.args.get("blocks") or []:
        for element in block.get("elements", []):
            if element.get("type") == "button":
                found[element["action_id"]] = element["value"]
    return found


def text_of(call_or_message: SlackCall | dict[str, Any]) -> str:
    """Everything a person would read in a message: its text and every text in its blocks."""
    message = call_or_message.args if isinstance(call_or_message, SlackCall) else call_or_message
    return str(message.get("text", "")) + "\n" + json.dumps(message.get("blocks") or [], ensure_ascii=False)


def assert_valid_blocks(blocks: list[dict[str, Any]]) -> None:
    """Every block parses and validates with slack_sdk's models, and the message is within 50 blocks."""
    assert 0 < len(blocks) <= 50
    for block in blocks:
        parsed = Block.parse(block)
        assert parsed is not None, block
        parsed.validate_json()


@dataclass
class Previewed:
    preview_id: str
    ts: str
    call: SlackCall
    confirm_value: str = ""  # the Confirm button's value: `preview_id:fingerprint` of the params shown


async def command_to_preview(bot: RunningBot, slack: FakeSlack, text: str, **kw: Any) -> Previewed:
    """Send `/zap text` and wait for the preview to be posted; returns its id, ts and the post."""
    before = len(slack.of("chat.postMessage"))
    response = await bot.slack.command(text, **kw)
    assert response.status == 200, response.text

    def previews() -> list[SlackCall]:
        # Posts of earlier runs (results delivered through the outbox) may land meanwhile: skip them.
        return [c for c in slack.of("chat.postMessage")[before:] if "zap_cancel" in buttons(c)]

    [call, *_] = await wait_until(previews, 1, 5.0, lambda: repr(slack.of("chat.postMessage")[before:]))
    ids = buttons(call)
    return Previewed(ids["zap_cancel"], str(call.answer["ts"]), call, ids["zap_confirm"])
