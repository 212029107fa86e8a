"""The command grammar, as a pure function: what each kind of text becomes, and that no text crashes it."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.actions import ActionType, Param, ParamMode
from bot.discovery.grammar import (
    MAX_PARAMS,
    MAX_TEXT_CHARS,
    MAX_VALUE_CHARS,
    HelpCommand,
    RunCommand,
    SubCommand,
    parse_command,
    strip_bot_mention,
)
from bot.errors import UsageError


def run(text: str) -> RunCommand:
    parsed = parse_command(text)
    assert isinstance(parsed, RunCommand), parsed
    return parsed


def test_the_documented_example() -> None:
    """The README's example parses into app, action, one guessed param and the instructions verbatim."""
    request = run(
        'SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza'
    ).request
    assert (request.app, request.action, request.action_type) == (
        "SlackAPI",
        "channel_message",
        ActionType.WRITE,
    )
    assert request.params == {"channel": Param(ParamMode.GUESS, "#general")}
    assert request.instructions == "Send a joke about pirates delivering pizza"


@pytest.mark.parametrize(
    ("word", "expected"),
    [("SlackAPI", Param(ParamMode.LOCKED, "SlackAPI")), ("!", Param(ParamMode.IGNORED))],
)
def test_locked_and_ignored(word: str, expected: Param) -> None:
    """`need=value` locks the value; `need=!` leaves the need empty."""
    assert run(f"AppAPI act x={word} do it").request.params["x"] == expected


def test_choose_from_with_quoted_items() -> None:
    """`need=[a,"b c"]` gives the AI a list to choose from, quotes holding spaces."""
    assert run('AppAPI act x=[a, "b c",d] go').request.params["x"] == Param(
        ParamMode.CHOOSE_FROM, ["a", "b c", "d"]
    )


def test_curly_quotes_count_as_quotes() -> None:
    """Slack turns quotes curly on some clients; “…” holds spaces just like "…"."""
    assert run("AppAPI act title=“Weekly report” go").request.params["title"].value == "Weekly report"


def test_instructions_run_verbatim_from_the_first_word_that_is_not_a_param() -> None:
    """Once the instructions start, an `x=y` inside them is part of the text, not a param."""
    request = run("AppAPI act a=1 say  a=2   twice").request
    assert request.params == {"a": Param(ParamMode.LOCKED, "1")}
    assert request.instructions == "say  a=2   twice"


@pytest.mark.parametrize("type_name", ["write", "search", "read", "read_bulk", "SEARCH"])
def test_action_types(type_name: str) -> None:
    """ACTION:TYPE accepts the four action types, in any case."""
    assert run(f"AppAPI act:{type_name} go").request.action_type == ActionType(type_name.lower())


def test_slack_markup_becomes_what_the_user_typed() -> None:
    """Escaped characters are restored; a locked channel keeps its ID; a guessed one its #name."""
    request = run(
        "AppAPI act ch=<#C1|ops> near~=<#C2|gen> who=<@U9|ann> Tell <@U9|ann> &lt;hi&gt; &amp; bye"
    ).request
    assert request.params["ch"].value == "C1"
    assert request.params["near"].value == "#gen"
    assert request.params["who"].value == "U9"
    assert request.instructions == "Tell @ann <hi> & bye"


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP", "--help"])
def test_help(text: str) -> None:
    """An empty command or `help` asks for the usage."""
    assert parse_command(text) == HelpCommand()


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("AppAPI", "Missing the ACTION"),
        ("AppAPI act", "Missing the instructions"),
        ("AppAPI act x=1", "Missing the instructions"),
    ],
)
def test_incomplete_commands_say_what_is_missing(text: str, problem: str) -> None:
    """An incomplete command is answered with usage and what is missing."""
    parsed = parse_command(text)
    assert isinstance(parsed, HelpCommand) and parsed.problem and problem in parsed.problem


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("AppAPI act x= go", "has no value"),
        ('AppAPI act x="open go', "never closed"),
        ("AppAPI act x=[a go", "no closing"),
        ("AppAPI act x~=[a,b] go", "without `~`"),
        ("AppAPI act x=[] go", "is empty"),
        ("AppAPI act x=1 x=2 go", "twice"),
        ("AppAPI act:nope go", "not an action type"),
        ("AppAPI a/b go", "not an action key"),
        ('AppAPI act x="a"b go', "Put a space"),
        ("AppAPI act " + "x" * MAX_TEXT_CHARS, "limit"),
        ("AppAPI act v=" + "y" * (MAX_VALUE_CHARS + 1) + " go", "limit"),
        ("AppAPI act " + " ".join(f"p{i}=1" for i in range(MAX_PARAMS + 1)) + " go", "Too many"),
    ],
)
def test_bad_input_raises_a_usage_error_naming_the_problem(text: str, problem: str) -> None:
    """Each kind of bad input is a UsageError whose text names the problem in the user's terms."""
    with pytest.raises(UsageError, match=problem):
        parse_command(text)


@pytest.mark.parametrize(
    "word", ["ratings", "audit", "apps", "actions", "save", "shortcuts", "forget", "form"]
)
def test_builtin_words_are_subcommands(word: str) -> None:
    """Built-in words never parse as app keys: they go to their subcommand with the rest verbatim."""
    assert parse_command(f"{word.upper()}  Gmail  x") == SubCommand(word, "Gmail  x")


def test_a_mention_is_stripped_before_parsing() -> None:
    """`<@UBOT> SlackAPI ...` parses like `/zap SlackAPI ...`."""
    assert strip_bot_mention("<@UBOT>  SlackAPI act go") == "SlackAPI act go"
    assert strip_bot_mention("<@UBOT|zapbot>: help") == "help"


@settings(max_examples=400, deadline=None)
@given(st.text(max_size=600))
def test_any_text_parses_or_gives_a_usage_error(text: str) -> None:
    """No text, however odd, raises anything but UsageError; what parses respects every bound."""
    try:
        parsed = parse_command(text)
    except UsageError as exc:
        assert exc.problem  # noqa: PT017 - a property test: any text may legitimately be refused
        return
    if isinstance(parsed, RunCommand):
        request = parsed.request
        assert request.instructions and len(request.params) <= MAX_PARAMS
        for param in request.params.values():
            values = param.value if isinstance(param.value, list) else [param.value or ""]
            assert all(len(v) <= MAX_VALUE_CHARS for v in values if isinstance(v, str))


_word = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Zs", "Cc")), min_size=1, max_size=12)


@settings(max_examples=300, deadline=None)
@given(
    st.from_regex(r"[A-Z][A-Za-z0-9]{0,10}API", fullmatch=True),
    st.from_regex(r"[a-z][a-z_]{0,10}", fullmatch=True),
    st.dictionaries(st.from_regex(r"[a-z][a-z0-9_]{0,8}", fullmatch=True), _word, max_size=5),
    st.lists(_word, min_size=1, max_size=8),
)
def test_quoted_params_round_trip(app: str, action: str, params: dict[str, str], words: list[str]) -> None:
    """Any values written quoted come back exactly as locked params, and the instructions as typed."""
    params = {
        # No quotes, and no Slack markup (Slack sends a typed "<" or "&" escaped, so "<…>" is a reference).
        k: "".join(c for c in v if c not in '"“”„<>&') or "v"
        for k, v in params.items()
    }
    if app.lower() in {"help", "ratings", "audit", "apps", "actions", "save", "shortcuts", "forget", "form"}:
        return
    words = [w for w in words if "=" not in w and "<" not in w and "&" not in w] or ["go"]
    text = " ".join([app, action, *(f'{k}="{v}"' for k, v in params.items()), *words])
    parsed = parse_command(text)
    assert isinstance(parsed, RunCommand)
    assert {k: p.value for k, p in parsed.request.params.items()} == params
    assert parsed.request.instructions == " ".join(words)
