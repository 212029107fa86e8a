"""Slack's size limits on messages and views, as the realistic FakeSlack applies them.

From NOTES.md ("Slack payloads and limits", "Slack under load and at its edges") and Slack's Block Kit
reference: 50 blocks per message (100 in a modal or Home view); section text 3,000 characters (each of at
most 10 fields 2,000); header text 150; button text 75, value 2,000, url 3,000; ``action_id`` and
``block_id`` 255; at most 25 elements in an actions block and 10 in a context block; a text object is never
empty. Message ``text`` above 40,000 characters is ``msg_too_long``. Blocks whose texts add up to more than
12,000 characters are refused with ``msg_blocks_too_long`` (undocumented; slackapi/bolt-js issues 2509 and
2867); posts to a ``response_url`` are not held to that total.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_MESSAGE_TEXT = 40_000
MAX_TOTAL_BLOCK_TEXT = 12_000
TEXT_LIMITS = {"section": 3_000, "header": 150, "field": 2_000, "button": 75, "context": 2_000}
MAX_ID = 255
MAX_VALUE = 2_000
MAX_URL = 3_000


@dataclass(frozen=True)
class Refusal:
    """Slack's error code and the messages it puts in ``response_metadata.messages``."""

    error: str
    messages: tuple[str, ...]

    def body(self) -> dict[str, Any]:
        return {
            "ok": False,
            "error": self.error,
            "errors": list(self.messages),
            "response_metadata": {"messages": [f"[ERROR] {m}" for m in self.messages]},
        }


def check_message(args: dict[str, Any], *, total_limit: bool = True) -> Refusal | None:
    """What Slack says of a message's ``text`` and ``blocks``; None if it would take them."""
    text = args.get("text")
    if isinstance(text, str) and len(text) > MAX_MESSAGE_TEXT:
        return Refusal("msg_too_long", (f"text is {len(text)} characters, more than {MAX_MESSAGE_TEXT}",))
    blocks = args.get("blocks")
    if blocks is None or blocks == "":
        return None
    problems = list(_block_problems(blocks, MAX_MESSAGE_BLOCKS))
    if problems:
        return Refusal("invalid_blocks", tuple(problems))
    total = sum(len(t) for t in _texts(blocks))
    if total_limit and total > MAX_TOTAL_BLOCK_TEXT:
        return Refusal("msg_blocks_too_long", (f"blocks hold {total} characters of text",))
    return None


def check_view(view: Any) -> Refusal | None:
    """What ``views.open/update/push/publish`` say of a view's blocks (``invalid_arguments``)."""
    if not isinstance(view, dict):
        return Refusal("invalid_arguments", ("view must be a JSON object",))
    problems = list(_block_problems(view.get("blocks", []), MAX_VIEW_BLOCKS))
    return Refusal("invalid_arguments", tuple(problems)) if problems else None


def _block_problems(blocks: Any, max_blocks: int) -> Iterator[str]:
    if not isinstance(blocks, list):
        yield "blocks must be a JSON array"
        return
    if len(blocks) > max_blocks:
        yield f"{len(blocks)} blocks, more than {max_blocks}"
    for i, block in enumerate(blocks):
        if not isinstance(block, dict) or not isinstance(block.get("type"), str):
            yield f"blocks[{i}] has no type"
            continue
        where = f"blocks[{i}] ({block['type']})"
        yield from _too_long(where + ".block_id", block.get("block_id"), MAX_ID)
        yield from _block_body(where, block)


def _block_body(where: str, block: dict[str, Any]) -> Iterator[str]:
    check = _BY_TYPE.get(block["type"])
    if check is not None:
        yield from check(where, block)


def _section(where: str, block: dict[str, Any]) -> Iterator[str]:
    if "text" not in block and "fields" not in block:
        yield f"{where} needs text or fields"
    if "text" in block:
        yield from _text(where + ".text", block["text"], TEXT_LIMITS["section"])
    fields = block.get("fields", [])
    if len(fields) > 10:
        yield f"{where} has {len(fields)} fields, more than 10"
    for j, item in enumerate(fields):
        yield from _text(f"{where}.fields[{j}]", item, TEXT_LIMITS["field"])
    if isinstance(block.get("accessory"), dict):
        yield from _element(where + ".accessory", block["accessory"])


def _header(where: str, block: dict[str, Any]) -> Iterator[str]:
    yield from _text(where + ".text", block.get("text"), TEXT_LIMITS["header"])


def _context(where: str, block: dict[str, Any]) -> Iterator[str]:
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= 10:
        yield f"{where} has {len(elements)} elements, not 1 to 10"
    for j, item in enumerate(elements):
        if isinstance(item, dict) and item.get("type") in {"mrkdwn", "plain_text"}:
            yield from _text(f"{where}.elements[{j}]", item, TEXT_LIMITS["context"])


def _actions(where: str, block: dict[str, Any]) -> Iterator[str]:
    elements = block.get("elements", [])
    if not 1 <= len(elements) <= 25:
        yield f"{where} has {len(elements)} elements, not 1 to 25"
    for j, item in enumerate(elements):
        yield from _element(f"{where}.elements[{j}]", item)


_BY_TYPE: dict[str, Callable[[str, dict[str, Any]], Iterator[str]]] = {
    "section": _section,
    "header": _header,
    "context": _context,
    "actions": _actions,
}


def _element(where: str, element: Any) -> Iterator[str]:
    if not isinstance(element, dict):
        yield f"{where} is not an object"
        return
    yield from _too_long(where + ".action_id", element.get("action_id"), MAX_ID)
    if element.get("type") == "button":
        yield from _text(where + ".text", element.get("text"), TEXT_LIMITS["button"])
        yield from _too_long(where + ".value", element.get("value"), MAX_VALUE)
        yield from _too_long(where + ".url", element.get("url"), MAX_URL)


def _text(where: str, obj: Any, limit: int) -> Iterator[str]:
    if not isinstance(obj, dict) or obj.get("type") not in {"mrkdwn", "plain_text"}:
        yield f"{where} must be a text object"
        return
    text = obj.get("text")
    if not isinstance(text, str) or not text:
        yield f"{where} must not be empty"
        return
    yield from _too_long(where, text, limit)


def _too_long(where: str, value: Any, limit: int) -> Iterator[str]:
    if isinstance(value, str) and len(value) > limit:
        yield f"{where} is {len(value)} characters, more than {limit}"


def _texts(node: Any) -> Iterator[str]:
    """Every text object's text anywhere in the blocks (what adds up to the 12,000 total)."""
    if isinstance(node, list):
        for item in node:
            yield from _texts(item)
    elif isinstance(node, dict):
        if node.get("type") in {"mrkdwn", "plain_text"} and isinstance(node.get("text"), str):
            yield node["text"]
            return
        for value in node.values():
            yield from _texts(value)
