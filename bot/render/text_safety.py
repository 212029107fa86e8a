"""Pure: text from outside the bot, made safe to show. What a confirmer reads is what runs.

Two dangers, two functions, both for display only (what is sent to Zapier is never passed through them):

- `reveal`: characters that render as nothing, or that reorder what is shown around them (bidi controls,
  zero-width and other format characters, Unicode tag characters, control characters, lone surrogates),
  are replaced by a visible `<U+202E>`. `has_hidden` says whether a text holds any, so a preview can say so.
- `neutralise_mrkdwn`: Slack mrkdwn delimiters (`*`, `_`, `~`, a backtick, `>` at the start of a line)
  become look-alike characters where they could format, so a value cannot turn the rest of a message into
  bold, strike-through, code or a quote. No zero-width character is used to do it (they are what `reveal`
  hunts). `code_block_text` does the same for text inside a ```` ``` ```` block, where only backticks matter.

Left as they are, because ordinary text uses them: a zero-width joiner between two pictographs (emoji
sequences such as woman + ZWJ + laptop), the emoji and text presentation selectors U+FE0E/U+FE0F, the three
flag tag sequences Unicode recommends (England, Scotland, Wales), newlines, tabs and `\\r\\n`.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

# Not in Unicode's "format" category (Cf), yet invisible or blank where Slack renders them.
_INVISIBLE_EXTRA = frozenset(
    [
        0x034F,  # combining grapheme joiner
        0x115F,  # Hangul choseong filler
        0x1160,  # Hangul jungseong filler
        0x17B4,  # Khmer vowel inherent aq
        0x17B5,  # Khmer vowel inherent aa
        0x180B,  # Mongolian free variation selectors
        0x180C,
        0x180D,
        0x180F,
        0x2028,  # line separator
        0x2029,  # paragraph separator
        0x2800,  # Braille pattern blank
        0x3164,  # Hangul filler
        0xFFA0,  # halfwidth Hangul filler
    ]
)
_ZWJ = 0x200D
_VS16 = 0xFE0F
_SKIN_TONES = range(0x1F3FB, 0x1F400)
# The only emoji tag sequences Unicode recommends: black flag + gbeng / gbsct / gbwls + cancel tag.
_FLAG_TAGS = re.compile(
    "\U0001f3f4(?:\U000e0067\U000e0062(?:\U000e0065\U000e006e\U000e0067|"
    "\U000e0073\U000e0063\U000e0074|\U000e0077\U000e006c\U000e0073)\U000e007f)"
)
_ASCII_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")  # what _is_hidden finds below 0x80
_LINE_START_QUOTE = re.compile(r"(^|\n)([ \t]*)>", re.MULTILINE)

LOOKALIKES = {
    "*": "\u2217",  # asterisk operator
    "_": "\u02cd",  # modifier letter low macron
    "~": "\u223c",  # tilde operator
    "`": "\u02cb",  # modifier letter grave accent
    ">": "\u203a",  # single right-pointing angle quotation mark
}


def _is_hidden(code: int) -> bool:
    if code in (0x09, 0x0A):
        return False
    if code in _INVISIBLE_EXTRA or 0xFE00 <= code <= 0xFE0D or 0xE0100 <= code <= 0xE01EF:
        return True  # the variation selectors above carry no meaning alone: a known way to smuggle data
    category = unicodedata.category(chr(code))
    # Cf: format (bidi, zero-width, tags, ...); Cc: control; Cs: a lone surrogate (cannot even be encoded).
    return category in ("Cf", "Cc", "Cs")


def _pictograph(char: str) -> bool:
    code = ord(char)
    return unicodedata.category(char) == "So" or code == _VS16 or code in _SKIN_TONES


def _allowed_at(text: str, index: int) -> bool:
    """Whether the hidden-looking character at `index` is part of ordinary text (emoji, CRLF)."""
    code = ord(text[index])
    if code == 0x0D:
        return text[index + 1 : index + 2] == "\n"
    if code == _ZWJ:
        return 0 < index < len(text) - 1 and _pictograph(text[index - 1]) and _pictograph(text[index + 1])
    return False


def _flag_spans(text: str) -> set[int]:
    if "\U0001f3f4" not in text:
        return set()
    return {i for m in _FLAG_TAGS.finditer(text) for i in range(m.start(), m.end())}


def _hidden_indexes(text: str) -> list[int]:
    if text.isascii():  # most text: only the C0 controls and DEL can hide, and a regex finds them in C
        candidates: Iterable[int] = (m.start() for m in _ASCII_CONTROLS.finditer(text))
    else:
        candidates = (i for i, c in enumerate(text) if _is_hidden(ord(c)))
    found = [i for i in candidates if not _allowed_at(text, i)]
    if found:
        flags = _flag_spans(text)
        found = [i for i in found if i not in flags]
    return found


def has_hidden(text: str) -> bool:
    """Whether `text` holds a character `reveal` would show as `<U+…>`."""
    return bool(_hidden_indexes(text))


def reveal(text: str) -> str:
    """`text` with every hidden or direction-changing character shown as `<U+XXXX>`."""
    found = _hidden_indexes(text)
    if not found:
        return text
    chars = list(text)
    for i in found:
        chars[i] = f"<U+{ord(chars[i]):04X}>"
    return "".join(chars)


def _delimiter(match: re.Match[str]) -> str:
    text, start, char = match.string, match.start(), match.group()
    if char in "*_~":
        before = text[start - 1] if start > 0 else " "
        after = text[start + 1] if start + 1 < len(text) else " "
        if before.isalnum() and after.isalnum():
            return char  # inside a word (snake_case, 2*3): Slack formats only at word edges
    return LOOKALIKES[char]


_DELIMITERS = re.compile(r"[*_~`]")


def neutralise_mrkdwn(text: str) -> str:
    """`text` (not yet `&<>`-escaped) with every mrkdwn delimiter that could format replaced by a
    look-alike. The start of `text` counts as the start of a line: it may be placed after a newline."""
    text = _DELIMITERS.sub(_delimiter, text)
    return _LINE_START_QUOTE.sub(lambda m: f"{m.group(1)}{m.group(2)}{LOOKALIKES['>']}", text)


def code_block_text(text: str) -> str:
    """`text` for the inside of a ```` ``` ```` block: no backtick left to end it early."""
    return text.replace("`", LOOKALIKES["`"])
