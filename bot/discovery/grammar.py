"""Command text -> a typed request. Pure: no I/O.

Grammar (the same after `/zap` and after an @mention of the bot):

    APP ACTION[:TYPE] [PARAM]... INSTRUCTIONS
    BUILTIN [ARGS]                          a built-in word (`BUILTIN_WORDS`): help, apps, save, ...
    INSTRUCTIONS                            anything else: plain English, or a saved shortcut's name

The first word decides, without looking anything up: a built-in word wins, then an app key, and anything
else is plain text (`PlainCommand`). An app key is one word that starts with an upper-case letter, has only
letters, digits and `_`, and ends in `API`, optionally with a version: `SlackAPI`, `GoogleSheetsV2API`,
`GoogleMailV2CLIAPI`, `WebhooksCLIAPI@1.0.9`. Every Zapier app key has that shape, while the app names people
type in a sentence (`GitHub`, `HubSpot`, `OK`) do not, so those go to the action guesser rather than failing
as unknown apps. A shortcut name (`SHORTCUT_NAME_RE`) is all lower-case, so it never looks like an app key,
and may not be a built-in word; plain text whose first word names a saved shortcut runs that shortcut.

PARAM is `need=value` (locked), `need~=value` (guess), `need=[a,b,c]` (choose_from) or `need=!` (ignored).
A value may be double-quoted (straight or curly quotes) to hold spaces. The first word that is not a PARAM
starts the instructions, which run to the end verbatim.

Slack sends command text with its own markup (`&amp;`, `<#C123|general>`, `<@U123|ann>`); it is turned back
into what the user typed, except that a locked channel or user reference keeps its ID, which is what an
action needs.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

from bot.actions import ActionRequest, ActionType, Param, ParamMode
from bot.errors import UsageError

MAX_TEXT_CHARS = 4000
MAX_PARAMS = 25
MAX_VALUE_CHARS = 1000
MAX_CHOICES = 50

APP_KEY_RE = re.compile(r"^[A-Z][A-Za-z0-9_]*API(?:@[0-9][A-Za-z0-9.\-]*)?$")
SHORTCUT_NAME_RE = re.compile(r"^[a-z][a-z0-9]*(?:[-_][a-z0-9]+)*$")
MAX_SHORTCUT_NAME_CHARS = 32
_ACTION_RE = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.\-]*$")
_PARAM_HEAD_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_.\-]*)(~=|=)")
# A word after any whitespace. `\s` in a str pattern is exactly `str.isspace()` (both Py_UNICODE_ISSPACE);
# one regex step instead of a loop over characters (parsing is on every /zap's ack).
_WORD_RE = re.compile(r"\s*(\S*)")
_SPACE_RE = re.compile(r"\s*")
_SLACK_REF_RE = re.compile(r"<([^<>]*)>")
_QUOTES = {'"': '"”“', "“": '”"“', "”": '”"“', "„": '“”"'}
_BOT_MENTION_RE = re.compile(r"^\s*<@[A-Z0-9]+(?:\|[^>]*)?>[\s,:]*")


@dataclass(frozen=True)
class HelpCommand:
    """`/zap`, `/zap help`, or a command too incomplete to run: answer with usage (and the problem)."""

    problem: str | None = None


@dataclass(frozen=True)
class SubCommand:
    """A built-in word other than help (`/zap ratings Gmail`): `name` and the rest of the text, verbatim."""

    name: str
    args: str


@dataclass(frozen=True)
class RunCommand:
    """Preview (and, once confirmed, run) one action."""

    request: ActionRequest


@dataclass(frozen=True)
class PlainCommand:
    """Text that is not a built-in word nor an app key: plain English, or a shortcut's name and more words."""

    text: str


Command = HelpCommand | SubCommand | RunCommand | PlainCommand

# Built-in words: never app keys, never shortcut names. Each has a handler registered by its feature.
BUILTIN_WORDS = frozenset(
    {
        "help",
        "ratings",
        "audit",
        "apps",
        "actions",
        "save",
        "shortcuts",
        "forget",
        "form",
        "connect",
        "disconnect",
    }
)


def strip_bot_mention(text: str) -> str:
    """Drop the leading `<@UBOT>` of an app_mention so the rest parses like a slash command."""
    return _BOT_MENTION_RE.sub("", text, count=1)


def parse_command(text: str) -> Command:
    """Parse the text after `/zap`. Raises `UsageError` for text that cannot be understood."""
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise UsageError(f"The command is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}.")
    if not text or text.lower() in {"help", "-h", "--help", "?"}:
        return HelpCommand()
    app, pos = _next_word(text, 0)
    if app.lower() in BUILTIN_WORDS:
        return SubCommand(app.lower(), text[pos:].strip())
    if not is_app_key(app):
        return PlainCommand(_plain(text))
    action_word, pos = _next_word(text, pos)
    if not action_word:
        return HelpCommand(problem=f"Missing the ACTION (and the instructions) after `{app}`.")
    action, action_type = _split_action(action_word)
    params, pos = _parse_params(text, pos)
    instructions = _plain(text[pos:].strip())
    if not instructions:
        return HelpCommand(problem=f"Missing the instructions: say in words what `{app} {action}` should do.")
    return RunCommand(ActionRequest(app, action, instructions, action_type, params))


def is_app_key(word: str) -> bool:
    """Whether `word` is read as an app key (see the module docstring for the rule)."""
    return bool(APP_KEY_RE.match(word))


def is_shortcut_name(word: str) -> bool:
    """Whether `word` can name a shortcut: lower-case, at most 32 characters, and not a built-in word."""
    return (
        len(word) <= MAX_SHORTCUT_NAME_CHARS
        and bool(SHORTCUT_NAME_RE.match(word))
        and word not in BUILTIN_WORDS
    )


def parse_action(text: str) -> ActionRequest:
    """`APP ACTION[:TYPE] [PARAM]... [INSTRUCTIONS]`, where the instructions may be empty (a shortcut's body).

    Raises `UsageError` for text that does not fit.
    """
    text = text.strip()
    if len(text) > MAX_TEXT_CHARS:
        raise UsageError(f"The text is {len(text):,} characters long; the limit is {MAX_TEXT_CHARS:,}.")
    app, pos = _next_word(text, 0)
    if not is_app_key(app):
        shown = _plain(app) or "nothing"
        raise UsageError(f"Expected an app key (like `SlackAPI`) but found `{shown}`.")
    action_word, pos = _next_word(text, pos)
    if not action_word:
        raise UsageError(f"Missing the ACTION after `{app}`.")
    action, action_type = _split_action(action_word)
    params, pos = _parse_params(text, pos)
    return ActionRequest(app, action, _plain(text[pos:].strip()), action_type, params)


def _next_word(text: str, pos: int) -> tuple[str, int]:
    word = _WORD_RE.match(text, pos)
    assert word is not None  # both parts may match nothing
    return word.group(1), word.end()


def _after_space(text: str, pos: int) -> int:
    space = _SPACE_RE.match(text, pos)
    assert space is not None  # it matches the empty string
    return space.end()


def _split_action(word: str) -> tuple[str, ActionType]:
    action, _, type_name = word.partition(":")
    if not _ACTION_RE.match(action):
        raise UsageError(f"`{_plain(action)}` is not an action key: action keys look like `channel_message`.")
    if not type_name:
        return action, ActionType.WRITE
    try:
        return action, ActionType(type_name.lower())
    except ValueError:
        kinds = ", ".join(f"`{t.value}`" for t in ActionType)
        raise UsageError(f"`{_plain(type_name)}` is not an action type: use one of {kinds}.") from None


def _parse_params(text: str, pos: int) -> tuple[dict[str, Param], int]:
    params: dict[str, Param] = {}
    while True:
        pos = _after_space(text, pos)
        head = _PARAM_HEAD_RE.match(text, pos)
        if head is None:
            return params, pos
        key, operator = head.group(1), head.group(2)
        raw, pos = _read_value(text, head.end(), key)
        if key in params:
            raise UsageError(f"`{key}` is given twice; give each param once.")
        if len(params) >= MAX_PARAMS:
            raise UsageError(f"Too many params: at most {MAX_PARAMS}.")
        quoted = text[head.end()] in _QUOTES  # a quoted "!" is the text "!", not "leave it empty"
        params[key] = _make_param(key, operator, raw, quoted=quoted)


def _read_value(text: str, pos: int, key: str) -> tuple[str | list[str], int]:
    """Read one value starting at `pos`: quoted, a [list], or a bare word. Returns it and the end."""
    if pos >= len(text) or text[pos].isspace():
        raise UsageError(f"`{key}` has no value: write `{key}=value`, or `{key}=!` to leave it empty.")
    opening = text[pos]
    if opening in _QUOTES:
        end = _find_any(text, pos + 1, _QUOTES[opening])
        if end < 0:
            raise UsageError(f"The value of `{key}` opens a quote that is never closed.")
        _expect_word_end(text, end + 1, key)
        return text[pos + 1 : end], end + 1
    if opening == "[":
        end = text.find("]", pos)
        if end < 0:
            raise UsageError(f"The list given for `{key}` has no closing `]`.")
        _expect_word_end(text, end + 1, key)
        items = [_unquote(item.strip()) for item in text[pos + 1 : end].split(",")]
        return [item for item in items if item], end + 1
    end = pos
    while end < len(text) and not text[end].isspace():
        end += 1
    return text[pos:end], end


def _expect_word_end(text: str, pos: int, key: str) -> None:
    if pos < len(text) and not text[pos].isspace():
        raise UsageError(f"Put a space after the value of `{key}`.")


def _find_any(text: str, pos: int, chars: str) -> int:
    for index in range(pos, len(text)):
        if text[index] in chars:
            return index
    return -1


def _unquote(item: str) -> str:
    if len(item) >= 2 and item[0] in _QUOTES and item[-1] in _QUOTES[item[0]]:
        return item[1:-1]
    return item


def _make_param(key: str, operator: str, raw: str | list[str], *, quoted: bool = False) -> Param:
    if isinstance(raw, list):
        if operator == "~=":
            raise UsageError(f"A list of choices is written `{key}=[a,b]`, without `~`.")
        if not raw:
            raise UsageError(f"The list of choices for `{key}` is empty.")
        if len(raw) > MAX_CHOICES:
            raise UsageError(f"`{key}` lists {len(raw)} choices; the limit is {MAX_CHOICES}.")
        return Param(ParamMode.CHOOSE_FROM, [_check_size(key, _plain(item, keep_ids=True)) for item in raw])
    if raw == "!" and operator == "=" and not quoted:
        return Param(ParamMode.IGNORED)
    if operator == "~=":
        return Param(ParamMode.GUESS, _check_size(key, _plain(raw)))
    return Param(ParamMode.LOCKED, _check_size(key, _plain(raw, keep_ids=True)))


def _check_size(key: str, value: str) -> str:
    if not value:
        raise UsageError(f"`{key}` has an empty value: write `{key}=!` to leave it empty.")
    if len(value) > MAX_VALUE_CHARS:
        raise UsageError(
            f"The value of `{key}` is {len(value):,} characters; the limit is {MAX_VALUE_CHARS:,}."
        )
    return value


def _plain(text: str, *, keep_ids: bool = False) -> str:
    """Undo Slack's markup. With `keep_ids`, `<#C1|general>` gives `C1`, otherwise `#general`."""

    def replace(match: re.Match[str]) -> str:
        target, _, label = match.group(1).partition("|")
        if target.startswith("#"):
            return target[1:] if keep_ids else "#" + (label or target[1:])
        if target.startswith("@"):
            return target[1:] if keep_ids else "@" + (label or target[1:])
        if target.startswith("!subteam^"):
            return target.removeprefix("!subteam^") if keep_ids else (label or "@" + target[9:])
        if target.startswith("!"):
            return "@" + target[1:].split("^")[0]
        if target.startswith("mailto:"):
            return label or target[7:]
        return target

    return html.unescape(_SLACK_REF_RE.sub(replace, text))
