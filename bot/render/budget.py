"""Slack's total size of a message, kept before sending rather than learnt from a refusal.

Besides each block's own limits, Slack refuses a message whose blocks' texts add up to more than about
12,000 characters (`msg_blocks_too_long`; undocumented: slackapi/bolt-js issues 2509 and 2867). It counts
the text of every text object anywhere in the blocks (mrkdwn and plain_text: sections, fields, contexts,
button labels), as `block_text_length` does. Every message zapbot renders stays within `BUDGET`, below that
total: a result is cut by whole records and fields (bot/render/messages.py says where the rest went), and
`fit` shortens the longest texts of anything else as a last resort.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Iterator
from typing import Any

SLACK_TOTAL = 12_000
# Below Slack's total with room to spare: the count is undocumented (Python characters here; Slack may
# count some characters twice), and a message cut to fit must not be refused for a few characters.
BUDGET = 11_000

# The tail of a cut that would leave half an entity (`&am`) or half a marker (`&lt;U+20`) behind.
PARTIAL_ENTITY = re.compile(r"(?:&lt;(?:U(?:\+[0-9A-F]{0,6}(?:&(?:g|gt)?)?)?)?|&[a-z]{0,4})$")
_SHORTEST = 40  # `fit` never cuts a text below this (unless it was shorter already)


def clip(text: str, limit: int) -> str:
    """Shorten already-escaped text to `limit` characters, never cutting an `&amp;` in half."""
    if len(text) <= limit:
        return text
    return PARTIAL_ENTITY.sub("", text[: limit - 1]) + "…"


def _text_objects(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _text_objects(item)
    elif isinstance(node, dict):
        if node.get("type") in {"mrkdwn", "plain_text"} and isinstance(node.get("text"), str):
            yield node
            return
        for value in node.values():
            yield from _text_objects(value)


def block_text_length(blocks: Any) -> int:
    """The characters Slack adds up against its total: every text object's text, anywhere in `blocks`."""
    return sum(len(obj["text"]) for obj in _text_objects(blocks))


def fits(message: dict[str, Any], budget: int = BUDGET) -> bool:
    return block_text_length(message.get("blocks") or []) <= budget


def fit(message: dict[str, Any], budget: int = BUDGET) -> dict[str, Any]:
    """`message` within `budget`: unchanged if it fits, else a copy whose longest mrkdwn texts are
    shortened (each ends with "…", so a reader sees the cut) until it does. Button labels stay whole."""
    blocks = message.get("blocks") or []
    excess = block_text_length(blocks) - budget
    if excess <= 0:
        return message
    blocks = copy.deepcopy(blocks)
    texts = [t for t in _text_objects(blocks) if t["type"] == "mrkdwn"]
    while excess > 0:
        longest = max(texts, key=lambda t: len(t["text"]), default=None)
        if longest is None or len(longest["text"]) <= _SHORTEST:
            break  # nothing left to shorten: the safety net after a refusal takes over
        before = len(longest["text"])
        # Take the whole excess from the longest text if it can give it, else half of it and go on.
        longest["text"] = clip(longest["text"], max(_SHORTEST, before - excess, before // 2))
        excess -= before - len(longest["text"])
    return {**message, "blocks": blocks}
