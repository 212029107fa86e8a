"""The `/zap form` modal through the bot's real HTTP endpoint: opening it, its menus' options requests
(block_suggestion, form-encoded `payload=`), choosing an app, and submitting it -> a preview in the right
channel."""

from __future__ import annotations

import json
from typing import Any

import aiohttp

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.helpers import text_of


async def _open_form(bot: RunningBot, slack: FakeSlack, **kw: Any) -> dict[str, Any]:
    """`/zap form`; returns the view the bot asked Slack to open."""
    response = await bot.slack.command("form", **kw)
    assert response.status == 200
    [opened] = await slack.wait_for("views.open")
    view: dict[str, Any] = opened.args["view"]
    return view


def _block_ids(view: dict[str, Any]) -> list[str]:
    return [block["block_id"] for block in view["blocks"]]


def _values(
    *,
    app: str | None = "SlackAPI",
    action_block: str = "action:SlackAPI",
    action: str | None = "channel_message:write",
    action_type: str | None = None,
    instructions: str | None = "Tell the team the build is green",
    params: str | None = None,
    channel: str | None = None,
) -> dict[str, Any]:
    """`view.state.values` as Slack sends them on submission."""

    def selected(value: str | None) -> dict[str, Any]:
        option = {"text": {"type": "plain_text", "text": value}, "value": value} if value else None
        return {"selected_option": option}

    values: dict[str, Any] = {
        "app": {"zap_form_app": {"type": "external_select", **selected(app)}},
        action_block: {"zap_form_action": {"type": "external_select", **selected(action)}},
        "type": {"zap_form_type": {"type": "static_select", **selected(action_type)}},
        "instructions": {"zap_form_instructions": {"type": "plain_text_input", "value": instructions}},
        "params": {"zap_form_params": {"type": "plain_text_input", "value": params}},
    }
    if channel is not None:
        values["channel"] = {
            "zap_form_channel": {"type": "conversations_select", "selected_conversation": channel}
        }
    return values


async def test_zap_form_opens_a_modal_that_remembers_the_channel(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """`/zap form` opens the modal with the command's trigger_id; the channel travels in private_metadata."""
    view = await _open_form(bot, fake_slack, channel="C5")
    [opened] = fake_slack.of("views.open")
    assert opened.args["trigger_id"] == "trig-1"
    assert view["callback_id"] == "zap_form_submit" and view["type"] == "modal"
    assert json.loads(view["private_metadata"]) == {"channel": "C5"}
    assert _block_ids(view) == ["app", "action", "type", "instructions", "params"]
    app_select = view["blocks"][0]
    assert app_select["dispatch_action"] is True
    assert app_select["element"] == {
        "type": "external_select",
        "action_id": "zap_form_app",
        "placeholder": {"type": "plain_text", "text": "Type to search Zapier apps"},
        "min_query_length": 2,
    }
    assert fake_zapier.requests == []


async def test_the_app_menu_is_answered_with_apps_and_then_from_the_cache(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A block_suggestion for the app menu is answered with matching apps; the same query again is
    answered from the cache without asking Zapier."""
    view = await _open_form(bot, fake_slack)
    first = await bot.slack.block_suggestion("zap_form_app", "sla", block_id="app", view=view)
    assert first.status == 200 and first.headers["content-type"].startswith("application/json")
    assert first.json() == {
        "options": [{"text": {"type": "plain_text", "text": "Slack (SlackAPI)"}, "value": "SlackAPI"}]
    }
    [search] = fake_zapier.of("apps")
    assert search.query == {"query": "sla"}
    second = await bot.slack.block_suggestion("zap_form_app", "sla", block_id="app", view=view)
    assert second.json() == first.json()
    assert len(fake_zapier.of("apps")) == 1


async def test_choosing_an_app_points_the_action_menu_at_it(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Choosing an app updates the modal so that the action menu's block names the app; that menu then
    lists the app's actions, with their types in the values."""
    view = await _open_form(bot, fake_slack, channel="C5")
    chosen = {"text": {"type": "plain_text", "text": "Slack (SlackAPI)"}, "value": "SlackAPI"}
    shown = {**view, "id": "V77", "hash": "h77"}
    response = await bot.slack.view_block_action("zap_form_app", chosen, view=shown, block_id="app")
    assert response.status == 200
    [updated] = await fake_slack.wait_for("views.update")
    assert updated.args["view_id"] == "V77" and updated.args["hash"] == "h77"
    new_view = updated.args["view"]
    assert _block_ids(new_view) == ["app", "action:SlackAPI", "type", "instructions", "params"]
    assert new_view["blocks"][1]["label"]["text"] == "Action of Slack"
    assert new_view["private_metadata"] == view["private_metadata"]
    options = await bot.slack.block_suggestion(
        "zap_form_action", "", block_id="action:SlackAPI", view=new_view
    )
    assert [o["value"] for o in options.json()["options"]] == [
        "channel_message:write",
        "direct_message:write",
        "find_message:search",
    ]
    assert options.json()["options"][2]["text"]["text"] == "Find Message (search)"
    narrowed = await bot.slack.block_suggestion(
        "zap_form_action", "direct", block_id="action:SlackAPI", view=new_view
    )
    assert [o["value"] for o in narrowed.json()["options"]] == ["direct_message:write"]
    assert [r.query for r in fake_zapier.of("actions")] == [{}, {"query": "direct"}]


async def test_the_action_menu_before_an_app_is_chosen_offers_nothing(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Without an app there are no actions to offer, and Zapier is not asked."""
    view = await _open_form(bot, fake_slack)
    response = await bot.slack.block_suggestion("zap_form_action", "send", block_id="action", view=view)
    assert response.json() == {"options": []}
    assert fake_zapier.requests == []


async def test_submitting_posts_the_preview_in_the_channel_the_form_came_from(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A valid submission closes the modal and previews the chosen action, with the fixed values locked,
    in the channel in private_metadata (the same Confirm path follows)."""
    view = await _open_form(bot, fake_slack, channel="C5")
    response = await bot.slack.view_submission(
        "zap_form_submit",
        _values(params="channel=C42\ntitle = Build status\n"),
        private_metadata=view["private_metadata"],
        user="U3",
    )
    assert response.status == 200 and response.text == ""
    [preview] = await fake_zapier.wait_for("preview")
    assert preview.json == {
        "instructions": "Tell the team the build is green",
        "app": "SlackAPI",
        "action": "channel_message",
        "action_type": "write",
        "params": {
            "channel": {"mode": "locked", "value": "C42"},
            "title": {"mode": "locked", "value": "Build status"},
        },
    }
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C5" and "<@U3> wants to run" in text_of(post)


async def test_the_type_menu_overrides_the_actions_own_type(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The optional type menu wins over the type that came with the chosen action."""
    await bot.slack.view_submission(
        "zap_form_submit",
        _values(action="find_message:search", action_type="read"),
        private_metadata=json.dumps({"channel": "C5"}),
    )
    [preview] = await fake_zapier.wait_for("preview")
    assert preview.json["action"] == "find_message" and preview.json["action_type"] == "read"


async def test_a_submission_that_does_not_fit_is_answered_with_field_errors(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Bad fixed values, a missing action, or an action of another app keep the modal open with errors
    next to the fields; nothing is previewed."""
    metadata = json.dumps({"channel": "C5"})
    bad = await bot.slack.view_submission(
        "zap_form_submit", _values(params="channel C42"), private_metadata=metadata
    )
    assert bad.json() == {"response_action": "errors", "errors": {"params": "Line 1: write need=value."}}
    missing = await bot.slack.view_submission(
        "zap_form_submit", _values(action=None, instructions=" "), private_metadata=metadata
    )
    assert set(missing.json()["errors"]) == {"action:SlackAPI", "instructions"}
    other_app = await bot.slack.view_submission(
        "zap_form_submit", _values(app="GmailV2API"), private_metadata=metadata
    )
    assert other_app.json()["errors"] == {"action:SlackAPI": "The app changed: choose the action again."}
    assert fake_zapier.requests == []


async def test_the_global_shortcut_asks_where_to_post_and_posts_there(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """The global shortcut (no channel) opens the form with a conversation picker; submitting posts the
    preview in the conversation picked."""
    response = await bot.slack.global_shortcut("zap_form", trigger_id="trig-global")
    assert response.status == 200
    [opened] = await fake_slack.wait_for("views.open")
    assert opened.args["trigger_id"] == "trig-global"
    view = opened.args["view"]
    assert _block_ids(view)[-1] == "channel" and json.loads(view["private_metadata"]) == {}
    missing = await bot.slack.view_submission(
        "zap_form_submit", _values(), private_metadata=view["private_metadata"]
    )
    assert missing.json()["errors"] == {"channel": "Choose where to post the preview."}
    await bot.slack.view_submission(
        "zap_form_submit", _values(channel="C8"), private_metadata=view["private_metadata"]
    )
    [post] = await fake_slack.wait_for("chat.postMessage")
    assert post.args["channel"] == "C8"


async def test_a_slow_lookup_answers_slack_in_time_and_fills_the_cache(
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
) -> None:
    """When Zapier is slower than OPTIONS_WAIT_SECONDS the menu gets no options at once (never a late answer)
    and the look-up finishes in the background: the next request is answered from the cache."""
    settings = bot_settings.model_copy(update={"options_wait_seconds": 0.1})
    slow = {"results": [{"app": "SlackAPI", "name": "Slack", "actions": {"write": 2}}]}
    fake_zapier.script("apps", Reply(json=slow, delay=0.5))
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        first = await bot.slack.block_suggestion("zap_form_app", "slack", block_id="app")
        assert first.json() == {"options": []}
        later: dict[str, Any] = {"options": []}
        for _ in range(100):
            later = (await bot.slack.block_suggestion("zap_form_app", "slack", block_id="app")).json()
            if later["options"]:
                break
        assert [o["value"] for o in later["options"]] == ["SlackAPI"]
        assert len(fake_zapier.of("apps")) == 1


async def test_when_slack_will_not_open_the_form_the_caller_hears_why(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """A refused views.open (e.g. the trigger expired) is told to the caller with Slack's reason."""
    fake_slack.fail("views.open", "expired_trigger_id")
    await bot.slack.command("form")
    [told] = await fake_slack.wait_for_response_posts(1)
    assert "Slack did not open the form (`expired_trigger_id`)" in text_of(told.json)


async def test_a_mention_cannot_open_the_form_and_says_how(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """@zapbot form has no trigger to open a modal with: the reply points to the slash command, in the
    channel (a top-level mention's thread has no replies, where Slack would not show it)."""
    await bot.slack.mention("form", ts="1700000300.000001")
    [told] = await fake_slack.wait_for("chat.postEphemeral")
    assert "`/zap form`" in told.args["text"] and "thread_ts" not in told.args
    assert fake_slack.of("views.open") == []
