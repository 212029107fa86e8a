"""The vote arithmetic and the emoji mapping on their own: the Lua script against a plain Python model (on a
real Redis), the RATING_EMOJI grammar, and the summary staying within Slack's limits."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from bot.ratings.emoji import default_emoji, parse_rating_emoji
from bot.ratings.render import summary_message, thread_link
from bot.ratings.summary import summarise
from bot.settings import Settings, describe_settings_error
from tests.support.helpers import assert_valid_blocks


def test_the_default_mapping_and_skin_tones() -> None:
    """The documented defaults count; skin tones count as their base; anything else is 0."""
    emoji = default_emoji()
    for name in (
        "+1",
        "thumbsup",
        "white_check_mark",
        "heavy_check_mark",
        "heart",
        "tada",
        "raised_hands",
        "100",
    ):
        assert emoji.weight(name) == 1, name
    for name in ("-1", "thumbsdown", "x", "no_entry", "disappointed"):
        assert emoji.weight(name) == -1, name
    assert emoji.weight("+1::skin-tone-2") == 1 and emoji.weight("-1::skin-tone-6") == -1
    assert emoji.weight("raised_hands::skin-tone-4") == 1
    for name in ("eyes", "rocket", "heart_eyes", "x_x", "", "::skin-tone-2"):
        assert emoji.weight(name) == 0, name


def test_rating_emoji_setting_grammar() -> None:
    """`👍 names | 👎 names`, spaces or commas, optional colons; one side may be empty."""
    emoji = parse_rating_emoji(" :rocket:, star  heart|poop , -1 ")
    assert emoji.names(1) == ["rocket", "star", "heart"] and emoji.names(-1) == ["poop", "-1"]
    assert parse_rating_emoji("rocket |").names(-1) == []
    assert parse_rating_emoji("").weights == default_emoji().weights


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("rocket heart", "then `|`"),
        ("a | b | c", "then `|`"),
        (" | ", "names no emoji"),
        ("heart | heart", "both"),
        ("he<art | x", "not an emoji name"),
    ],
)
def test_a_bad_rating_emoji_setting_stops_start_up_with_one_line(value: str, problem: str) -> None:
    """A RATING_EMOJI that cannot be read is refused at start-up, naming the variable and the problem."""
    with pytest.raises(ValidationError) as caught:
        Settings(
            _env_file=None,
            slack_bot_token="xoxb-1",
            slack_signing_secret="s",
            zapier_api_key="k",
            rating_emoji=value,
        )
    line = describe_settings_error(caught.value)
    assert line.startswith("Configuration error: RATING_EMOJI ") and problem in line, line


def test_a_huge_summary_stays_within_slack_limits_and_escapes_names() -> None:
    """200 app+action pairs with long, hostile names still render as valid blocks under 50, escaped."""
    rows = []
    for i in range(400):
        rows.append(
            {
                "execution_log_id": f"01H{i:05d}",
                "app": f"App{i % 200}<!channel>" + "x" * 150,
                "action": "act&" + "y" * 300,
                "action_used": "Do <b>it</b>" * 40,
                "kind": "run" if i % 3 else "preview",
                "rating": str((i % 3) - 1),
                "up": "1",
                "down": "2",
                "channel": "C1",
                "message_ts": f"1700000000.{i:06d}",
                "thread_ts": "1700000000.000001",
                "requested_by": "U1",
                "created_at": "1700000000",
            }
        )
    message = summary_message(summarise(rows, app=None, window=400))
    assert_valid_blocks(message["blocks"])
    shown = str(message)
    assert "<!channel>" not in shown and "<b>" not in shown and "and 160 more" in shown


def test_thread_links_are_built_only_from_slack_ids() -> None:
    """A reply's link opens its thread; anything that is not a channel ID and a ts gives no link."""
    assert thread_link("C1", "1700000000.000200", "1700000000.000100") == (
        "https://slack.com/archives/C1/p1700000000000200?thread_ts=1700000000.000100&cid=C1"
    )
    assert thread_link("C1", "1700000000.000100", "1700000000.000100") == (
        "https://slack.com/archives/C1/p1700000000000100"
    )
    assert thread_link("C1|x>", "1700000000.000100", "") is None
    assert thread_link("C1", "soon", "") is None


def test_an_empty_summary_says_so() -> None:
    """With no executions (or none of the app asked for) the summary says there is nothing yet."""
    assert "No executions yet." in str(summary_message(summarise([], app=None, window=5000)))
    row = {"execution_log_id": "01H1", "app": "SlackAPI", "action": "channel_message", "kind": "run"}
    other = summary_message(summarise([row], app="GmailV2API", window=5000))
    assert "No executions of `GmailV2API` yet." in str(other)
    assert_valid_blocks(other["blocks"])
