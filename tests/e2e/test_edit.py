"""Edit before confirming, through the real HTTP endpoint: the Edit form, the new preview in place of the
old one, approvals of the old params discarded, and a Confirm that runs only the params it was shown."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
import redis.asyncio
from slack_sdk.models.views import View

from tests.support.bot_server import RunningBot
from tests.support.fakes.slack_server import FakeSlack, SlackCall
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import assert_valid_blocks, buttons, command_to_preview, text_of
from tests.support.policy_helpers import WRITE, StartBot, audit_entries, policy_bot, told, told_at

start_bot = pytest.fixture(policy_bot)

TWO_APPROVALS = "channels:\n  C1:\n    approvals: 2\n"


def form_values(view: dict[str, Any], **changes: str) -> dict[str, Any]:
    """`view.state.values` as Slack sends it when the form is submitted with `changes` typed in."""
    values = {}
    for block in view["blocks"]:
        if block["type"] != "input":
            continue
        key = block["block_id"].removeprefix("param:")
        text = changes.get(key, block["element"].get("initial_value"))
        values[block["block_id"]] = {"value": {"type": "plain_text_input", "value": text}}
    return values


async def click_edit(
    bot: RunningBot, slack: FakeSlack, preview_id: str, ts: str, user: str, **kw: Any
) -> tuple[SlackCall, SlackCall]:
    """Click Edit; returns the views.open it made (the form opened at once, "Checking…") and the
    views.update that then filled the same form (the fields, or why this person may not edit)."""
    opens, updates = len(slack.of("views.open")), len(slack.of("views.update"))
    await bot.slack.block_action(
        "zap_edit", preview_id, user=user, message_ts=ts, trigger_id=slack.mint_trigger(f"trig-{user}"), **kw
    )
    opened = (await slack.wait_for("views.open", opens + 1))[opens]
    filled = (await slack.wait_for("views.update", updates + 1))[updates]
    assert "Checking" in opened.args["view"]["blocks"][0]["text"]["text"]
    assert filled.args["view_id"] == opened.answer["view"]["id"]
    return opened, filled


async def open_form(bot: RunningBot, slack: FakeSlack, preview_id: str, ts: str, user: str) -> SlackCall:
    """Click Edit and return the views.update that put the Edit form in the opened modal."""
    opened, filled = await click_edit(bot, slack, preview_id, ts, user)
    assert opened.args["trigger_id"] == f"trig-{user}"
    return filled


async def test_an_edit_replaces_the_preview_and_discards_approvals_of_the_old_params(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """Edit opens a form with the resolved params; a changed value is locked, previewed again and shown in
    place of the old message; the approval given before is discarded; an old Confirm is refused; the new
    preview, once approved twice, runs with the edited value."""
    async with start_bot(TWO_APPROVALS) as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts
        )
        await fake_slack.wait_for("chat.update")  # "1 so far: <@U2>"

        opened = await open_form(bot, fake_slack, previewed.preview_id, previewed.ts, "U1")
        view = opened.args["view"]
        assert view["callback_id"] == "zap_edit_view"
        View(**view).validate_json()  # within Slack's limits for modals
        fields = {
            b["block_id"]: b["element"].get("initial_value") for b in view["blocks"] if b["type"] == "input"
        }
        assert fields == {
            "param:channel": "#general",
            "param:text": "Send a joke about pirates delivering pizza",
        }
        response = await bot.slack.view_submission(
            "zap_edit_view",
            form_values(view, channel="#random"),
            private_metadata=view["private_metadata"],
            user="U1",
        )
        assert response.status == 200 and response.text == ""  # the form closes

        _, again = await fake_zapier.wait_for("preview", 2)
        assert again.json["params"] == {"channel": {"mode": "locked", "value": "#random"}}
        replaced = (await fake_slack.wait_for("chat.update", 2))[1]
        assert replaced.args["ts"] == previewed.ts
        shown = text_of(replaced)
        assert "#random" in shown and "Edited by <@U1>" in shown and "so far" not in shown
        assert_valid_blocks(replaced.args["blocks"])
        new_value = buttons(replaced)["zap_confirm"]
        assert new_value != previewed.confirm_value and new_value.startswith(previewed.preview_id + ":")
        stored = await redis_client.hgetall(f"zapbot:preview:{previewed.preview_id}")
        assert stored["approved_by"] == "" and stored["revision"] == "1"
        new_log_id = json.loads(stored["result"])["execution_log_id"]
        assert f"`{new_log_id}`" in shown

        stale_url = fake_slack.response_url("stale")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U3", message_ts=previewed.ts, response_url=stale_url
        )
        assert "edited after your copy of it was shown" in await told_at(fake_slack, "stale")
        assert fake_zapier.of("execute") == []

        await bot.slack.block_action("zap_confirm", new_value, user="U2", message_ts=previewed.ts)
        await bot.slack.block_action("zap_confirm", new_value, user="U3", message_ts=previewed.ts)
        [run] = await fake_zapier.wait_for("execute")
        assert run.json["params"]["channel"] == {"mode": "locked", "value": "#random"}
    entries = await audit_entries(redis_client)
    [edited] = [e for e in entries if e["step"] == "edited"]
    assert edited["who"] == "U1" and edited["detail"] == "changed channel"
    assert edited["execution_log_id"] == new_log_id
    assert any(e["step"] == "refused" and e["who"] == "U3" for e in entries)


async def test_a_confirm_whose_fingerprint_does_not_match_is_refused(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """A Confirm carrying another fingerprint than the stored preview's runs nothing; once a preview has
    been edited, a Confirm carrying no fingerprint at all is refused too."""
    async with start_bot(TWO_APPROVALS) as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE)
        forged = f"{previewed.preview_id}:{'0' * 32}"
        url = fake_slack.response_url("forged")
        await bot.slack.block_action(
            "zap_confirm", forged, user="U2", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(1)
        assert "did not count" in told(fake_slack, "forged")

        opened = await open_form(bot, fake_slack, previewed.preview_id, previewed.ts, "U1")
        view = opened.args["view"]
        await bot.slack.view_submission(
            "zap_edit_view", form_values(view, text="Tell a joke"), private_metadata=view["private_metadata"]
        )
        await fake_zapier.wait_for("preview", 2)
        await fake_slack.wait_for("chat.update")
        url = fake_slack.response_url("bare")
        await bot.slack.block_action(
            "zap_confirm", previewed.preview_id, user="U2", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(2)
        assert "did not count" in told(fake_slack, "bare")
        await asyncio.sleep(0.1)
    assert fake_zapier.of("execute") == []


async def test_only_the_requester_or_a_confirmer_may_edit_and_a_second_edit_of_the_same_version_is_stale(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """confirm_by [U5]: a bystander's Edit is refused inside the form (which says why and offers no fields
    to save); the requester and U5 both open the form on the same version; the first to save wins, the
    second is told it changed meanwhile."""
    async with start_bot("channels:\n  C1:\n    confirm_by: [U5]\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        url = fake_slack.response_url("bystander")
        _, refused = await click_edit(
            bot, fake_slack, previewed.preview_id, previewed.ts, "U2", response_url=url
        )
        refusal = refused.args["view"]
        assert "can edit this preview" in refusal["blocks"][0]["text"]["text"]
        assert "submit" not in refusal and "callback_id" not in refusal
        assert fake_slack.response_posts == []

        mine = (await open_form(bot, fake_slack, previewed.preview_id, previewed.ts, "U1")).args["view"]
        theirs = (await open_form(bot, fake_slack, previewed.preview_id, previewed.ts, "U5")).args["view"]
        await bot.slack.view_submission(
            "zap_edit_view",
            form_values(mine, channel="#ops"),
            private_metadata=mine["private_metadata"],
            user="U1",
        )
        await fake_slack.wait_for("chat.update")
        await bot.slack.view_submission(
            "zap_edit_view",
            form_values(theirs, channel="#sales"),
            private_metadata=theirs["private_metadata"],
            user="U5",
        )
        ephemerals = await fake_slack.wait_for("chat.postEphemeral", 2)
        to_u5 = [text_of(c) for c in ephemerals if c.args["user"] == "U5"]
        assert to_u5 and "changed this preview while you were editing" in to_u5[0]
        assert len(fake_zapier.of("preview")) == 2  # the stale edit did not even ask Zapier
        await asyncio.sleep(0.1)
        assert len(fake_slack.of("chat.update")) == 1
