"""What the confirmer reads is what runs: hidden and direction-changing characters are shown as `<U+…>`
wherever outside text is shown (previews, results, errors, names, the console), mrkdwn in a value cannot
format the rest of a message or end a code block, and what is sent to Zapier is the raw text, unmarked."""

from __future__ import annotations

import html
import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from bot.actions import ActionRequest, ActionResult, ActionType, Param, ParamMode, RunStatus
from bot.approvals.audit import AuditEntry
from bot.approvals.messages import HIDDEN_IN_FORM, audit_line, edit_modal
from bot.discovery.finder import ActionChoice, Candidates
from bot.discovery.messages import guessed_preview_message, shortcuts_message
from bot.discovery.shortcuts import Shortcut
from bot.errors import ZapierRejected
from bot.ratings.render import summary_message
from bot.ratings.summary import ActionFigures, Counts, Summary
from bot.render.messages import (
    HIDDEN_NOTE,
    clip,
    describe_failure,
    escape,
    flat,
    full_result_messages,
    preview_message,
    result_message,
)
from bot.render.plaintext import message_to_text, mrkdwn_to_text
from bot.render.text_safety import LOOKALIKES, code_block_text, has_hidden, neutralise_mrkdwn, reveal
from bot.runs.records import Preview, result_to_json
from tests.support.helpers import assert_valid_blocks

BIDI = [*map(chr, range(0x202A, 0x202F)), *map(chr, range(0x2066, 0x206A)), "\u200e", "\u200f", "\u061c"]
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "\u180e", "\u2064", "\u3164"]
TAGS = ["\U000e0001", "\U000e0041", "\U000e007f", "\U000e0020"]
CONTROLS = ["\x1b", "\x00", "\x7f", "\x85", "\r", "\u2028", "\ud800"]
HIDDEN = BIDI + INVISIBLE + TAGS + CONTROLS
# Ordinary text that only looks like it holds hidden characters: left exactly as it is.
ORDINARY = [
    "family: \U0001f468\u200d\U0001f469\u200d\U0001f467",  # ZWJ between pictographs
    "\u2764\ufe0f love",  # emoji presentation selector
    "\U0001f469\U0001f3fd\u200d\U0001f4bb at work",  # skin tone, then ZWJ
    "\U0001f3f4\U000e0067\U000e0062\U000e0065\U000e006e\U000e0067\U000e007f England",  # flag tag sequence
    "line one\r\nline two\ttabbed",
    "עברית and العربية, 日本語, Ελληνικά",  # right-to-left scripts without any control character
]
TROJAN = "Pay Bob \u202e0001$\u202c today"  # shows as "Pay Bob $1000 today"; says pay $0001...


def _preview(instructions: str = "go", params: dict[str, Param] | None = None, **result: Any) -> Preview:
    return Preview(
        id="p1",
        team="T1",
        channel="C1",
        requested_by="U1",
        request=ActionRequest(
            result.pop("app", "SlackAPI"), "channel_message", instructions, ActionType.WRITE, params or {}
        ),
        result=ActionResult(
            execution_log_id="01HLOG",
            action_used=result.pop("action_used", "Send Channel Message"),
            status=RunStatus.PREVIEW,
            resolved_params=result.pop("resolved", {}),
        ),
        created_at=1700000000.0,
        expires_at=1700000900.0,
    )


def _everything(message: dict[str, Any]) -> str:
    return str(message.get("text", "")) + json.dumps(message.get("blocks"), ensure_ascii=False)


def assert_nothing_hidden(message: dict[str, Any]) -> None:
    """No character of a rendered message is hidden (json.dumps keeps a lone surrogate as \\ud800)."""
    dumped = _everything(message)
    assert not has_hidden(dumped), [hex(ord(c)) for c in dumped if has_hidden(c)]
    assert "\\ud8" not in dumped.lower()


# --- reveal: what is hidden, what is not ------------------------------------------------------------
def test_every_hidden_character_is_shown_as_its_code_point() -> None:
    """Bidi controls, zero-width and format characters, tag characters, controls and lone surrogates
    each become a visible `<U+XXXX>`, and `has_hidden` notices them."""
    for char in HIDDEN:
        text = f"a{char}b"
        assert has_hidden(text), hex(ord(char))
        assert reveal(text) == f"a<U+{ord(char):04X}>b"
    assert reveal(TROJAN) == "Pay Bob <U+202E>0001$<U+202C> today"


def test_ordinary_text_with_emoji_sequences_and_other_scripts_is_left_as_it_is() -> None:
    """Emoji joiners, presentation selectors, the recommended flag sequences, CRLF and right-to-left
    scripts are ordinary text: nothing is marked, and no preview warns about them."""
    for text in ORDINARY:
        assert not has_hidden(text), text
        assert reveal(text) == text


def test_joiners_and_tags_that_are_not_part_of_an_emoji_are_marked() -> None:
    """A zero-width joiner between letters, tag characters that smuggle ASCII after a flag, and a lone
    variation selector are what they look like: hidden text."""
    assert reveal("pay\u200dpal") == "pay<U+200D>pal"
    smuggled = "\U0001f3f4\U000e0069\U000e0067\U000e006e\U000e007f"  # black flag + tags spelling "ign"
    assert reveal(smuggled).count("<U+E00") == 4
    assert reveal("x\ufe01") == "x<U+FE01>"
    assert reveal("\u200d\U0001f600") == "<U+200D>\U0001f600"  # a joiner with nothing to join before it


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec=None, exclude_characters=set(LOOKALIKES.values()))))
def test_a_flat_value_has_nothing_hidden_no_markup_and_loses_nothing(text: str) -> None:
    """For any text shown as a value: the shown form has no hidden character, no `<` (no mention or
    link), no backtick, no line that starts a quote, and a `*`, `_` or `~` only inside a word (where
    Slack does not format);
    and mapping the look-alikes back and undoing the entities gives exactly the revealed text."""
    out = flat(text)
    assert not has_hidden(out) and not has_hidden(escape(text))
    assert "<" not in out and ">" not in out and "`" not in out
    assert not re.search(r"(^|\n)[ \t]*&gt;", out)
    for match in re.finditer(r"[*_~]", out):
        start = match.start()
        assert 0 < start < len(out) - 1, out
        assert out[start - 1].isalnum() and out[start + 1].isalnum(), out
    back = html.unescape(out)
    for plain, lookalike in LOOKALIKES.items():
        back = back.replace(lookalike, plain)
    assert back == reveal(text)


def test_markup_in_a_value_stays_readable_and_does_not_format() -> None:
    """Code fences, bold, italics, strike-through and quotes in a value turn into look-alikes a reader
    still recognises; words with underscores inside stay as they are."""
    value = "```end``` *bold* _it_ ~gone~ `x`\n> quoted\nsnake_case 2*3"
    out = neutralise_mrkdwn(value)
    assert out == (
        "ˋˋˋendˋˋˋ ∗bold∗ ˍitˍ ∼gone∼ ˋxˋ\n› quoted\nsnake_case 2*3"  # noqa: RUF001 - the look-alikes
    )


def test_clip_never_cuts_a_marker_or_an_entity_in_half() -> None:
    """A shortened value ends with "…", never with half of `&lt;U+202E&gt;` or of `&amp;`."""
    text = escape("x" * 10 + "\u202e" + "y" * 50)
    for limit in range(11, 30):
        cut = clip(text, limit)
        assert len(cut) <= limit
        assert re.fullmatch(r"x{0,10}(&lt;U\+202E&gt;y*)?…", cut), cut


# --- previews and results -----------------------------------------------------------------------------
def test_a_preview_with_hidden_characters_shows_them_and_says_so() -> None:
    """Instructions, a param value, a param key and the action name with hidden characters: every one is
    shown marked, the preview carries the "hidden characters found" line, and nothing stays invisible."""
    preview = _preview(
        TROJAN,
        {"amount": Param(ParamMode.LOCKED, "\u202e0001"), "to\u200b": Param(ParamMode.GUESS, "bob")},
        resolved={"amount": "\u202e0001", "to\u200b": "bob\U000e0041", "note": "fine"},
        action_used="Send\u2066 Money",
    )
    message = preview_message(preview)
    shown = _everything(message)
    assert_nothing_hidden(message)
    assert "Pay Bob &lt;U+202E&gt;0001$&lt;U+202C&gt; today" in shown
    assert "&lt;U+202E&gt;0001" in shown and "to&lt;U+200B&gt;" in shown and "bob&lt;U+E0041&gt;" in shown
    assert "Send&lt;U+2066&gt; Money" in shown
    assert HIDDEN_NOTE in shown
    assert_valid_blocks(message["blocks"])
    # The Confirm button carries the fingerprint of the raw values, the same with or without marking.
    assert buttons_of(message)["zap_confirm"] == f"p1:{preview.fingerprint}"
    closed = preview_message(preview, closed="Cancelled")
    assert HIDDEN_NOTE in _everything(closed)


def test_a_preview_without_hidden_characters_has_no_warning() -> None:
    """Ordinary text, emoji sequences and right-to-left scripts included, gets no warning line."""
    preview = _preview(" ".join(ORDINARY), resolved={"text": ORDINARY[0], "to": ORDINARY[-1]})
    assert HIDDEN_NOTE not in _everything(preview_message(preview))


def buttons_of(message: dict[str, Any]) -> dict[str, str]:
    return {
        e["action_id"]: e["value"]
        for block in message["blocks"]
        for e in block.get("elements", [])
        if e.get("type") == "button"
    }


def test_a_result_from_zapier_with_hidden_characters_and_markup_is_shown_marked_and_flat() -> None:
    """Zapier's result values, labels, action name and error text: hidden characters marked, a code fence
    or bold in a value cannot format the message; the result says it holds hidden characters."""
    result = ActionResult(
        execution_log_id="01HRUN",
        action_used="Send\u200b Message",
        status=RunStatus.ERROR,
        error="refused \u202eevil```",
        results=[{"text": "ok```\n*all* of it\n> quoted\u2067", "x\u200c": "```"}],
        result_field_labels={"text": "Text\u2068"},
    )
    message = result_message(_preview(), result)
    shown = _everything(message)
    assert_nothing_hidden(message)
    assert "```" not in shown and "*all*" not in shown
    assert "refused &lt;U+202E&gt;evil\u02cb\u02cb\u02cb" in shown
    assert "ok\u02cb\u02cb\u02cb\\n\u2217all\u2217 of it\\n\u203a quoted&lt;U+2067&gt;" in shown
    assert "Text&lt;U+2068&gt;" in shown and "x&lt;U+200C&gt;" in shown
    assert "hidden characters" in shown
    assert_valid_blocks(message["blocks"])
    failure = describe_failure(ZapierRejected(400, "no \u202e", "```x```"), "run")
    assert "&lt;U+202E&gt;" in failure and "```" not in failure


def test_the_full_result_in_code_blocks_cannot_be_closed_early() -> None:
    """The full result is shown in ``` blocks: a result holding ``` (or any backtick) cannot end a block
    early, hidden characters are marked there too, and `&<>` stay escaped."""
    result = ActionResult(
        execution_log_id="01HRUN",
        action_used="Find",
        status=RunStatus.SUCCESS,
        results=[{"body": "```\n*not bold* <!channel> \u202e" + "x" * 6000 + "````"}],
    )
    messages = full_result_messages(result_to_json(result))
    assert len(messages) == 1 and len(messages[0]["blocks"]) >= 3
    for message in messages:
        assert_nothing_hidden(message)
        for block in message["blocks"]:
            text = block["text"]["text"]
            assert text.startswith("```") and text.endswith("```")
            assert "`" not in text[3:-3]
            assert "<" not in text and ">" not in text
    whole = "".join(b["text"]["text"][3:-3] for m in messages for b in m["blocks"])
    assert "&lt;!channel&gt;" in whole and "&lt;U+202E&gt;" in whole and "*not bold*" in whole
    assert code_block_text("a```b") == "a\u02cb\u02cb\u02cbb"


def test_discovery_team_and_ratings_renderers_mark_hidden_characters() -> None:
    """Candidate buttons, shortcut lines, the edit form, the audit trail and the ratings summary: Zapier's
    and people's text is shown marked there too; a `/zap` line people copy keeps its `~=` and `_`."""
    choice = ActionChoice("SlackAPI", "send\u200b", ActionType.WRITE, "Send\u202e Message", "", 0.9)
    other = ActionChoice("GmailV2API", "send_email", ActionType.WRITE, "Send\u2066 Email", "", 0.5)
    preview = _preview(resolved={"text": "hi\u200b"})
    guessed = guessed_preview_message(preview, Candidates([choice, other], 0))
    assert_nothing_hidden(guessed)
    assert "Send<U+2066> Email" in buttons_text(guessed)
    request = ActionRequest(
        "SlackAPI", "channel_message", "say hi\u200b", ActionType.WRITE, {"to_x": Param(ParamMode.GUESS, "a")}
    )
    listed = shortcuts_message([Shortcut("hi", request, "U1", 1700000000.0)])
    assert_nothing_hidden(listed)
    assert "`/zap SlackAPI channel_message to_x~=a say hi&lt;U+200B&gt;`" in _everything(listed)
    form = edit_modal(_preview(resolved={"text\u200b": "hi\u202e"}))
    labels = [b["label"]["text"] for b in form["blocks"] if b["type"] == "input"]
    assert labels == ["text<U+200B>"]
    assert form["blocks"][1]["element"]["initial_value"] == "hi\u202e"  # the value itself stays exact
    assert HIDDEN_IN_FORM in json.dumps(form, ensure_ascii=False)
    entry = AuditEntry("1-0", "run", "U1", 1700000000.0, "T1", "C1", "A\u200b", "b", "", "p1", "x\u202e")
    line = audit_line(entry)
    assert "&lt;U+200B&gt;" in line and "&lt;U+202E&gt;" in line
    figures = ActionFigures("SlackAPI\u200b", "send", Counts(1, 0, 0, 0), Counts())
    ratings = summary_message(Summary(app=None, window=100, considered=1, actions=[figures], worst=[]))
    assert_nothing_hidden(ratings)


def buttons_text(message: dict[str, Any]) -> str:
    return " ".join(
        e["text"]["text"]
        for b in message["blocks"]
        for e in b.get("elements", [])
        if e.get("type") == "button"
    )


def test_the_console_shows_hidden_characters_and_cannot_be_driven_by_escape_sequences() -> None:
    """What the console prints has hidden characters marked, including terminal escape sequences and
    carriage returns that would overwrite a line, even in text the renderers did not escape."""
    assert mrkdwn_to_text("red \x1b[31m alert\rgone") == "red <U+001B>[31m alert<U+000D>gone"
    message = {"text": "", "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "a\u202eb"}}]}
    assert message_to_text(message) == "a<U+202E>b"


# --- end to end: what runs is the raw text ------------------------------------------------------------


def test_ascii_text_takes_a_shortcut_that_reveals_exactly_what_the_general_path_does() -> None:
    """ASCII-only text is scanned by a regex; text with any other character char by char. Both agree on
    every ASCII character, alone, before a newline and around a CR."""
    for code in range(128):
        for ascii_text in (chr(code), f"a{chr(code)}\nb", f"x\r{chr(code)}"):
            assert ascii_text.isascii()
            assert "é" + reveal(ascii_text) == reveal("é" + ascii_text), repr(ascii_text)
            assert has_hidden(ascii_text) == has_hidden("é" + ascii_text)
