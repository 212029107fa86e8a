"""Rendering, as pure functions: every message is valid Block Kit within Slack's limits, and nothing a user
types or an action returns can ping anyone or break the layout."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import event, given, settings
from hypothesis import strategies as st

from bot.actions import ActionRequest, ActionResult, ActionType, Param, ParamMode, RunStatus
from bot.errors import (
    StoreError,
    ZapierAuthError,
    ZapierConnectionError,
    ZapierRateLimited,
    ZapierRejected,
    ZapierResponseError,
    ZapierServerError,
)
from bot.render.budget import BUDGET, block_text_length, fit
from bot.render.messages import (
    CUT_NOTE,
    FULL_RESULT,
    button,
    clip,
    describe_failure,
    escape,
    failure_message,
    fitted_result_message,
    full_result_messages,
    help_message,
    preview_message,
    result_message,
)
from bot.runs.records import Preview, result_to_json
from tests.support.fakes.slack_blocks import check_message
from tests.support.helpers import assert_valid_blocks

HOSTILE = [
    "<!channel>",
    "<!here>",
    "<!everyone>",
    "<!subteam^S123|@ops>",
    "<@U123>",
    "<#C1|general>",
    "<https://evil.example|click>",
    "&lt;!here&gt;",
    "*bold* _it_ ~s~ `code` ```block```",
    "> quote",
]
OUR_MARKUP = re.compile(r"<@U1>|<@U2>|<!date\^\d+\^\{time\}\|in a few minutes>")


def _preview(instructions: str = "go", params: dict[str, Param] | None = None, **result: Any) -> Preview:
    return Preview(
        id="p1",
        team="T1",
        channel="C1",
        requested_by="U1",
        request=ActionRequest("SlackAPI", "channel_message", instructions, ActionType.WRITE, params or {}),
        result=ActionResult(
            execution_log_id=result.pop("log_id", "01HLOG"),
            action_used=result.pop("action_used", "Send Channel Message"),
            status=RunStatus.PREVIEW,
            resolved_params=result.pop("resolved", {}),
        ),
        created_at=1700000000.0,
        expires_at=1700000900.0,
    )


def _message_text(message: dict[str, Any]) -> str:
    return str(message["text"]) + json.dumps(message["blocks"], ensure_ascii=False)


def assert_pings_nobody(message: dict[str, Any]) -> None:
    """Only the bot's own markup may contain `<`: no special mention, link or user ping from content."""
    assert "<" not in OUR_MARKUP.sub("", message["text"])
    for block in message["blocks"]:
        for text in re.findall(r'"text": "((?:[^"\\]|\\.)*)"', json.dumps(block, ensure_ascii=False)):
            assert "<" not in OUR_MARKUP.sub("", text), text


def test_escape_and_clip() -> None:
    """escape handles the three markup characters; clip never leaves half an entity."""
    assert escape("a & <b> c") == "a &amp; &lt;b&gt; c"
    assert clip(escape("x" * 8 + "&"), 10) == "xxxxxxxx…"
    assert clip("short", 10) == "short"


def test_preview_marks_where_each_value_came_from() -> None:
    """The preview shows given, guessed, chosen and ignored params, each marked, and the two buttons."""
    params = {
        "channel": Param(ParamMode.GUESS, "#general"),
        "sheet": Param(ParamMode.LOCKED, "S1"),
        "tab": Param(ParamMode.CHOOSE_FROM, ["a", "b"]),
        "cc": Param(ParamMode.IGNORED),
    }
    resolved = {"channel": "C1", "sheet": "S1", "tab": "a", "text": "hello"}
    message = preview_message(_preview(params=params, resolved=resolved))
    text = _message_text(message)
    for fragment in (
        "given by you",
        "guessed by the AI from “#general”",
        "chosen by the AI",
        "left empty",
        "guessed by the AI",
        "Confirm",
        "Cancel",
        "Expires",
    ):
        assert fragment in text, fragment
    assert_valid_blocks(message["blocks"])


def test_a_closed_preview_has_no_buttons() -> None:
    """Once decided, the preview keeps its content, loses its buttons and says who decided."""
    message = preview_message(_preview(), closed="Cancelled by <@U2>")
    assert '"actions"' not in json.dumps(message["blocks"]) and "Cancelled by <@U2>" in _message_text(message)


def test_hostile_text_everywhere_pings_nobody() -> None:
    """Special mentions, user pings and links in instructions, params and results are shown inert."""
    hostile = " ".join(HOSTILE)
    preview = _preview(
        instructions=hostile,
        params={"x": Param(ParamMode.GUESS, hostile)},
        resolved={hostile: hostile},
        action_used=hostile,
    )
    result = ActionResult(
        "01H<!here>",
        hostile,
        RunStatus.ERROR,
        results=[{hostile: hostile}],
        result_field_labels={hostile: hostile},
        error=hostile,
    )
    for message in (
        preview_message(preview),
        result_message(preview, result, fallback_reason=hostile),
        *full_result_messages(result_to_json(result)),
    ):
        assert_pings_nobody(message)
        assert_valid_blocks(message["blocks"])


def test_failures_are_worded_for_people() -> None:
    """Each error kind has its own sentence; previews say nothing ran, runs say the outcome is unknown."""
    cases = [
        (ZapierAuthError(401, "bad key"), "API key", "API key"),
        (ZapierRejected(422, "No such channel", "detail"), "No such channel (detail)", "No such channel"),
        (ZapierRateLimited(429, "slow", retry_after=3), "rate-limiting", "outcome is unknown"),
        (ZapierConnectionError("t", timed_out=True), "did not answer in time", "outcome is unknown"),
        (ZapierConnectionError("r", timed_out=False), "could not be reached", "outcome is unknown"),
        (ZapierServerError(502, "gw"), "HTTP 502", "outcome is unknown"),
        (ZapierResponseError("x"), "could not be read", "outcome is unknown"),
        (StoreError("down"), "temporarily unavailable", "temporarily unavailable"),
    ]
    for error, on_preview, on_run in cases:
        assert on_preview in describe_failure(error, "preview")
        assert on_run in describe_failure(error, "run")
        assert_valid_blocks(failure_message("Send", error, "run")["blocks"])


def test_help_is_valid() -> None:
    """The usage message is valid Block Kit, with and without a problem line."""
    assert_valid_blocks(help_message()["blocks"])
    assert "Missing" in _message_text(help_message("Missing the ACTION"))


def assert_slack_takes(message: dict[str, Any]) -> None:
    """Valid blocks (slack_sdk's models), and what the realistic Slack stand-in would say of the message:
    nothing (every block limit, and the total as Slack counts it); and within our own budget below it."""
    assert_valid_blocks(message["blocks"])
    assert check_message(message) is None, check_message(message)
    assert block_text_length(message["blocks"]) <= BUDGET


# Sizes chosen to reach every limit with few examples: values past VALUE_CHARS (500), records past
# MAX_RESULTS_SHOWN (5), fields past two sections (20): together far past Slack's total.
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=900),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=20), children, max_size=3)
    ),
    max_leaves=6,
)
big_value = st.text(alphabet=st.sampled_from("ab&<>*_ 😀\u202e"), min_size=400, max_size=900)


@settings(max_examples=30, deadline=None)
@given(
    results=st.lists(
        st.dictionaries(st.text(max_size=120), json_values | big_value, max_size=24), max_size=7
    ),
    labels=st.dictionaries(st.text(max_size=120), st.text(max_size=200), max_size=4),
    status=st.sampled_from(list(RunStatus)),
    error=st.none() | st.text(max_size=3500),
    action_used=st.text(max_size=300),
)
def test_any_result_renders_valid_blocks_within_limits(
    results: list[dict[str, Any]],
    labels: dict[str, str],
    status: RunStatus,
    error: str | None,
    action_used: str,
) -> None:
    """Any result that fits the spec's shape renders as valid Block Kit within every limit of Slack's and
    the total budget, pinging nobody; if part of it was left out to fit, the message says the whole is
    attached as a file and offers Show full result; its full-result messages fit too."""
    result = ActionResult(
        "01HLOG", action_used, status, results=results, result_field_labels=labels, error=error
    )
    message, cut = fitted_result_message(_preview(), result)
    event(f"cut={cut}")
    assert_slack_takes(message)
    assert len(message["text"]) <= 40_000
    assert_pings_nobody(message)
    if cut:
        assert "attached to this thread as a file" in _message_text(message)
        assert FULL_RESULT in json.dumps(message["blocks"])
    for full in full_result_messages(result_to_json(result)):
        assert_slack_takes(full)
        assert_pings_nobody(full)


def test_five_records_of_twenty_fields_are_cut_to_fit_with_the_rest_in_a_file() -> None:
    """The search of issue 21 (5 records x 20 fields of ~150 characters: ~16,000 characters of blocks)
    is cut to the records that fit, whole, and says where the rest is; a small result is not cut."""
    rows = [{f"field_{f}": f"r{r}f{f} " + "x" * 140 for f in range(20)} for r in range(5)]
    result = ActionResult("01HBIG", "Lookup Rows", RunStatus.SUCCESS, results=rows)
    message, cut = fitted_result_message(_preview(), result)
    assert cut
    assert_slack_takes(message)
    assert CUT_NOTE.split(".")[0] in _message_text(message)
    assert "r0f19" in _message_text(message) and "r4f19" not in _message_text(message)
    small, small_cut = fitted_result_message(
        _preview(), ActionResult("01H", "A", RunStatus.SUCCESS, results=[rows[0]])
    )
    assert not small_cut and FULL_RESULT not in json.dumps(small["blocks"])


@settings(max_examples=40, deadline=None)
@given(
    instructions=st.text(min_size=1, max_size=4000),
    params=st.dictionaries(
        st.text(min_size=1, max_size=40),
        st.builds(Param, st.sampled_from(list(ParamMode)), st.text(max_size=1000)),
        max_size=25,
    ),
    resolved=st.dictionaries(st.text(min_size=1, max_size=40), json_values, max_size=30),
)
def test_any_preview_renders_valid_blocks_within_limits(
    instructions: str, params: dict[str, Param], resolved: dict[str, Any]
) -> None:
    """Any instructions, params and resolved values render a valid preview within Slack's limits, the
    total included."""
    message = preview_message(_preview(instructions, params, resolved=resolved))
    assert_slack_takes(message)
    assert_pings_nobody(message)


def test_a_preview_of_many_long_params_is_shortened_to_fit_slacks_total() -> None:
    """30 resolved params of 900 characters and long instructions (~20,000 characters of blocks): the
    preview's longest texts are shortened, visibly ("…"), until Slack would take it; buttons stay whole."""
    resolved = {f"param_{n}": f"v{n} " + "y" * 900 for n in range(30)}
    message = preview_message(_preview("z" * 4000, resolved=resolved))
    assert_slack_takes(message)
    assert "…" in _message_text(message)
    assert [e["text"]["text"] for e in message["blocks"][-1]["elements"]] == ["Confirm", "Edit", "Cancel"]


@settings(max_examples=40, deadline=None)
@given(
    texts=st.lists(
        st.text(alphabet=st.sampled_from("ab &<>😀"), min_size=100, max_size=2990), min_size=1, max_size=45
    )
)
def test_fit_brings_any_message_within_slacks_total_and_shows_the_cut(texts: list[str]) -> None:
    """The last resort (bot/render/budget.py): any message of sections is shortened until Slack would take
    it; what is cut ends in "…", never half an entity; buttons keep their labels; a message that fits is
    left as it is."""
    sections: list[dict[str, Any]] = [
        {"type": "section", "text": {"type": "mrkdwn", "text": escape(t)[:2990]}} for t in texts
    ]
    actions: dict[str, Any] = {"type": "actions", "elements": [button("Confirm", "zap_confirm", "p1")]}
    message: dict[str, Any] = {"text": "t", "blocks": [*sections, actions]}
    fitted = fit(message)
    assert_slack_takes(fitted)
    assert fitted["blocks"][-1] == actions
    if block_text_length(message["blocks"]) <= BUDGET:
        assert fitted is message
    for before, after in zip(sections, fitted["blocks"], strict=False):
        cut = after["text"]["text"]
        assert cut == before["text"]["text"] or (cut.endswith("…") and not re.search(r"&[a-z]{0,3}…$", cut))
