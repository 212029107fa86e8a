"""What the first word of a command means (built-in word, app key, plain English), shortcut names, shortcut
bodies, and the `/zap` lines the bot shows (listings, shortcuts), which must parse back to the same
request."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.actions import ActionRequest, ActionType, Param, ParamMode
from bot.discovery.grammar import (
    PlainCommand,
    RunCommand,
    SubCommand,
    is_app_key,
    is_shortcut_name,
    parse_action,
    parse_command,
)
from bot.discovery.messages import command_line
from bot.errors import UsageError


@pytest.mark.parametrize(
    "word", ["SlackAPI", "GoogleSheetsV2API", "GoogleMailV2CLIAPI", "App123456CLIAPI", "WebhooksCLIAPI@1.0.9"]
)
def test_zapier_style_keys_are_app_keys(word: str) -> None:
    """One word, upper-case first, ending in API (optionally @version): an app key."""
    assert is_app_key(word)
    assert isinstance(parse_command(f"{word} act do it"), RunCommand)


@pytest.mark.parametrize(
    "word",
    ["GitHub", "HubSpot", "OK", "ASAP", "Send", "slackapi", "Slack-API", "SlackAPI!", "#general", "API2"],
)
def test_other_first_words_start_plain_english(word: str) -> None:
    """Brand names, capitals, lower-case keys and punctuation are not app keys: the text is plain English."""
    assert not is_app_key(word)
    assert parse_command(f"{word} open an issue") == PlainCommand(f"{word} open an issue")


def test_plain_english_comes_without_slack_markup() -> None:
    """Plain text is handed on as the user typed it: Slack's escapes and references undone."""
    parsed = parse_command("tell <#C1|ops> that 2 &lt; 3 &amp; ping <@U9|ann>")
    assert parsed == PlainCommand("tell #ops that 2 < 3 & ping @ann")


def test_built_in_words_win_over_everything() -> None:
    """A built-in word is never plain English nor a shortcut, in any case."""
    assert parse_command("Shortcuts") == SubCommand("shortcuts", "")
    assert parse_command("save x = SlackAPI a b") == SubCommand("save", "x = SlackAPI a b")


@pytest.mark.parametrize("name", ["standup", "leads-row", "email_bob", "q3", "a" * 32])
def test_shortcut_names(name: str) -> None:
    """Shortcut names: one lower-case word of letters and digits joined by - or _, at most 32 characters."""
    assert is_shortcut_name(name)


@pytest.mark.parametrize(
    "name", ["", "Standup", "SlackAPI", "my shortcut", "-x", "x-", "a--b", "3d", "a" * 33, "help", "form"]
)
def test_not_shortcut_names(name: str) -> None:
    """Capitals, spaces, leading digits, dangling separators, long names and built-in words are refused."""
    assert not is_shortcut_name(name)


def test_a_shortcut_body_may_leave_out_the_instructions() -> None:
    """`parse_action` reads APP ACTION[:TYPE] [PARAM]... with the instructions optional."""
    assert parse_action("GmailV2API send_email:write to=bob@example.com") == ActionRequest(
        "GmailV2API", "send_email", "", ActionType.WRITE, {"to": Param(ParamMode.LOCKED, "bob@example.com")}
    )
    assert parse_action(" SlackAPI find_message:search from~=ann today ").instructions == "today"


@pytest.mark.parametrize(
    ("text", "problem"),
    [("hello there", "Expected an app key"), ("", "Expected an app key"), ("SlackAPI", "Missing the ACTION")],
)
def test_a_shortcut_body_must_name_the_action(text: str, problem: str) -> None:
    """A body that does not start with an app key and an action is refused, saying why."""
    with pytest.raises(UsageError, match=problem):
        parse_action(text)


def test_a_quoted_bang_is_a_value_and_a_bare_one_leaves_the_need_empty() -> None:
    """`need=!` means "leave it empty"; `need="!"` means the text "!" (the bot writes it so in /zap lines)."""
    request = parse_action('SlackAPI act a=! b="!" c=“!”')
    assert request.params == {
        "a": Param(ParamMode.IGNORED),
        "b": Param(ParamMode.LOCKED, "!"),
        "c": Param(ParamMode.LOCKED, "!"),
    }


_text = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters='"“”„<>&=,[]'),
    min_size=1,
    max_size=20,
)
_item = _text.map(str.strip).filter(bool)
_param = st.one_of(
    _text.map(lambda v: Param(ParamMode.LOCKED, v)),
    _text.map(lambda v: Param(ParamMode.GUESS, v)),
    st.lists(_item, min_size=1, max_size=4).map(lambda v: Param(ParamMode.CHOOSE_FROM, v)),
    st.just(Param(ParamMode.IGNORED)),
)
_word = st.text(
    st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Z"), exclude_characters="<>&="),
    min_size=1,
    max_size=10,
)


@settings(max_examples=150, deadline=None)
@given(
    app=st.from_regex(r"[A-Z][A-Za-z0-9]{0,8}API", fullmatch=True),
    action=st.from_regex(r"[a-z][a-z0-9_]{0,10}", fullmatch=True),
    action_type=st.sampled_from(list(ActionType)),
    params=st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _param, max_size=4),
    words=st.lists(_word, min_size=1, max_size=6),
)
def test_the_zap_lines_the_bot_shows_parse_back_to_the_same_request(
    app: str, action: str, action_type: ActionType, params: dict[str, Param], words: list[str]
) -> None:
    """Every `/zap` line rendered for a listing or a shortcut runs exactly the request it was made from."""
    request = ActionRequest(app, action, " ".join(words), action_type, params)
    line = command_line(request)
    assert line.startswith("/zap ")
    parsed = parse_command(line.removeprefix("/zap "))
    assert isinstance(parsed, RunCommand), (line, parsed)
    assert parsed.request == request, line
