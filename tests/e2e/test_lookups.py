"""`/zap apps QUERY` and `/zap actions APP [QUERY]` through the bot's real HTTP endpoint: what Zapier is
asked, what only the caller sees, and how answers of unexpected shapes are read."""

from __future__ import annotations

import asyncio

from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import assert_valid_blocks, text_of


async def _answer(bot: RunningBot, slack: FakeSlack, text: str) -> str:
    """Send `/zap text`; return what the caller was told privately (and check it was private)."""
    before = len(slack.response_posts)
    response = await bot.slack.command(text)
    assert response.status == 200
    told = (await slack.wait_for_response_posts(before + 1))[before]
    assert told.json["response_type"] == "ephemeral"
    assert_valid_blocks(told.json["blocks"])
    return text_of(told.json)


async def test_apps_lists_matching_apps_with_the_line_to_see_their_actions(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap apps gmail` searches Zapier's apps and lists each with its key, counts and next command."""
    shown = await _answer(bot, fake_slack, "apps gmail")
    [search] = await fake_zapier.wait_for("apps")
    assert search.method == "GET" and search.query == {"query": "gmail"}
    assert "*Gmail* `GmailV2API`" in shown and "1 write · 1 search actions" in shown
    assert "`/zap actions GmailV2API`" in shown
    assert "Outlook" not in shown
    assert fake_slack.of("chat.postMessage") == []  # nobody else sees it


async def test_actions_lists_an_apps_actions_with_the_exact_zap_line(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap actions SlackAPI` lists every action with the /zap line to run it; a query narrows the list."""
    shown = await _answer(bot, fake_slack, "actions SlackAPI")
    [search] = await fake_zapier.wait_for("actions")
    assert search.path == "/api/v2/apps/SlackAPI/actions/" and search.query == {}
    assert "`/zap SlackAPI channel_message`" in shown and "`/zap SlackAPI direct_message`" in shown
    assert "`/zap SlackAPI find_message:search`" in shown  # non-default types are spelled out
    narrowed = await _answer(bot, fake_slack, "actions SlackAPI direct")
    assert fake_zapier.of("actions")[1].query == {"query": "direct"}
    assert "direct_message" in narrowed and "channel_message" not in narrowed


async def test_lists_read_answers_with_unknown_fields_and_other_field_names(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Unknown fields are ignored and `type`/`display_name` stand in for `action_type`/`name`; items that do
    not fit are skipped, the others listed."""
    fake_zapier.script(
        "actions",
        Reply(
            json={
                "results": [
                    {
                        "app": "SlackAPI",
                        "action": "channel_message",
                        "type": "write",
                        "display_name": "Post to a Channel",
                        "search_relevancy_score": 0.9,
                        "app_info": {"logo_url": "https://example.invalid/x.png"},
                    },
                    {"description": "an item with no action key"},
                    {"action": "set_status", "type": "search_or_write", "display_name": "Not runnable here"},
                ],
                "next": None,
            },
            off_spec=True,
        ),
    )
    shown = await _answer(bot, fake_slack, "actions SlackAPI")
    assert "Post to a Channel" in shown and "`/zap SlackAPI channel_message`" in shown
    assert "Not runnable here" not in shown


async def test_a_malformed_answer_gives_a_clear_message(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """An answer that does not have the documented shape is reported as such, not listed as nothing."""
    fake_zapier.script("apps", Reply(json=["SlackAPI", "GmailV2API"], off_spec=True))
    shown = await _answer(bot, fake_slack, "apps slack")
    assert "couldn't search Zapier's apps" in shown and "expected fields" in shown
    fake_zapier.script("apps", Reply(json={"apps": []}, off_spec=True))
    shown = await _answer(bot, fake_slack, "apps mail")
    assert "did not have the expected shape" in shown and "`results` list" in shown


async def test_an_unknown_app_and_a_name_instead_of_a_key_get_a_hint(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Zapier's 404 for an app key it does not know, or a plain app name, point to `/zap apps`."""
    shown = await _answer(bot, fake_slack, "actions NopeAPI")
    assert "Zapier does not know the app `NopeAPI`" in shown and "/zap apps" in shown
    shown = await _answer(bot, fake_slack, "actions gmail")
    assert "`gmail` is not an app key" in shown and "`/zap apps gmail`" in shown
    assert len(fake_zapier.of("actions")) == 1


async def test_lookups_without_words_explain_themselves_and_call_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap apps` and `/zap actions` alone say what to add; Zapier is not called."""
    assert "/zap apps gmail" in await _answer(bot, fake_slack, "apps")
    assert "/zap actions GmailV2API" in await _answer(bot, fake_slack, "actions")
    await asyncio.sleep(0.05)
    assert fake_zapier.requests == []


async def test_a_repeated_search_is_answered_from_the_cache(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The same app search within the cache time asks Zapier once."""
    first = await _answer(bot, fake_slack, "apps sheets")
    second = await _answer(bot, fake_slack, "apps Sheets")
    assert "`GoogleSheetsV2API`" in first and "`GoogleSheetsV2API`" in second
    assert len(fake_zapier.of("apps")) == 1
