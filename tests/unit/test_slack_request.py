"""Reading Slack's form bodies (bot/slack/request.py): the same dict as the standard library's parser."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import example, given
from hypothesis import strategies as st

from bot.slack.request import parse_form, parse_slack_body

# Bodies built from the characters that mean something in a form, escapes (good and broken) and text.
_PIECES = st.sampled_from(
    ["&", "=", "+", "%", "%2", "%2F", "%zz", "%E2%80%9C", "%C3", "a", "Z", "0", " ", "é"]
)
FORM = "application/x-www-form-urlencoded"
_BODIES = st.lists(st.one_of(_PIECES, st.text(max_size=4)), max_size=30).map("".join)


@given(_BODIES)
@example("command=%2Fzap&text=SlackAPI+channel_message+say+%E2%80%9Chi%E2%80%9D&team_id=T1")
@example("a=1&a=2&&b&=c&d=")
def test_a_form_reads_as_parse_qsl_reads_it(body: str) -> None:
    assert parse_form(body) == dict(parse_qsl(body, keep_blank_values=True))


@given(st.dictionaries(st.text(min_size=1), st.text()))
def test_an_encoded_form_reads_back(fields: dict[str, str]) -> None:
    assert parse_form(urlencode(fields)) == fields


def test_a_form_with_a_payload_field_is_the_payload_and_text_mentioning_it_is_not() -> None:
    """Bolt's parsing bug (see the module): only a field named `payload` is an interactivity payload."""
    command = parse_slack_body("command=%2Fzap&text=show+me+the+payload", FORM)
    action = parse_slack_body("payload=%7B%22type%22%3A%22block_actions%22%7D", FORM)

    assert command == {"command": "/zap", "text": "show me the payload"}
    assert action == {"type": "block_actions"}
