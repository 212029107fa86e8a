"""Team confirmation through the real HTTP endpoint: who may confirm, N-of-M approvals (also across two
replicas), expiry, auto-run, allow/deny and who may cancel, each from a policy file."""

from __future__ import annotations

import asyncio

import pytest
import redis.asyncio

from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import assert_valid_blocks, buttons, command_to_preview, text_of
from tests.support.metrics import idle
from tests.support.policy_helpers import WRITE, StartBot, audit_entries, policy_bot, told

start_bot = pytest.fixture(policy_bot)


async def test_confirm_by_requester_refuses_anyone_else_only_to_them(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """confirm_by requester: another person's click is refused privately with the reason and runs nothing;
    the requester's own click runs it."""
    async with start_bot("channels:\n  C1:\n    confirm_by: requester\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        assert "Needs a confirmation from <@U1>" in text_of(previewed.call)
        assert_valid_blocks(previewed.call.args["blocks"])
        url = fake_slack.response_url("u2")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts, response_url=url
        )
        [answer] = await fake_slack.wait_for_response_posts(1)
        assert answer.key == "u2" and answer.json["response_type"] == "ephemeral"
        assert "Only <@U1>, who asked for this, can confirm it" in told(fake_slack, "u2")
        await idle(bot)
        assert fake_zapier.of("execute") == [] and fake_slack.of("chat.update") == []
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U1", message_ts=previewed.ts
        )
        await fake_zapier.wait_for("execute")
        updates = await fake_slack.wait_for("chat.update", 2)
        assert "Confirmed by <@U1>" in text_of(updates[-1])


async def test_confirm_by_others_is_four_eyes(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """confirm_by others: the requester cannot confirm their own request; anyone else can."""
    async with start_bot("default:\n  confirm_by: others\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        assert "Needs a confirmation from anyone but <@U1>" in text_of(previewed.call)
        url = fake_slack.response_url("own")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U1", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(1)
        assert "You asked for this, so someone else must confirm it" in told(fake_slack, "own")
        assert fake_zapier.of("execute") == []
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U2", message_ts=previewed.ts
        )
        [run] = await fake_zapier.wait_for("execute")
        assert run.query.get("skip_param_guessing") == "true"


async def test_confirm_by_a_user_group_asks_slack_once_and_refuses_non_members(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """confirm_by [S…, U…]: group members come from usergroups.users.list, cached, so two clicks cost one
    call; a non-member is refused with who may confirm; a member's click runs it."""
    fake_slack.users_in_group["S0OPS"] = ["U5", "U6"]
    async with start_bot("channels:\n  C1:\n    confirm_by: [S0OPS, U9]\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        assert "Needs a confirmation from <!subteam^S0OPS> or <@U9>" in text_of(previewed.call)
        url = fake_slack.response_url("u7")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U7", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(1)
        assert "Only <!subteam^S0OPS> or <@U9> can confirm this" in told(fake_slack, "u7")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U6", message_ts=previewed.ts
        )
        await fake_zapier.wait_for("execute")
        [lookup] = fake_slack.of("usergroups.users.list")
        assert lookup.args["usergroup"] == "S0OPS" and lookup.args["team_id"] == "T1"


async def test_a_user_group_that_cannot_be_looked_up_refuses_with_the_reason(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """When Slack cannot list a group's members, the click is refused (never let through) and told why."""
    async with start_bot("channels:\n  C1:\n    confirm_by: [S0GONE]\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE)
        url = fake_slack.response_url("u5")
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U5", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(1)
        assert "could not look up who is in <!subteam^S0GONE>" in told(fake_slack, "u5")
        assert fake_zapier.of("execute") == []


async def test_two_approvals_count_distinct_people_and_show_progress(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """approvals 2: the first click is counted and shown on the preview; the same person again does not
    count; a second person's click runs it, once."""
    async with start_bot("channels:\n  C1:\n    approvals: 2\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE)
        assert "Needs 2 approvals from anyone" in text_of(previewed.call)
        for key in ("first", "again"):
            await bot.slack.block_action(
                "zap_confirm",
                previewed.confirm_value,
                user="U2",
                message_ts=previewed.ts,
                response_url=fake_slack.response_url(key),
            )
            await fake_slack.wait_for_response_posts(1 if key == "first" else 2)
        assert "Your approval is recorded (1 of 2)" in told(fake_slack, "first")
        assert "You have already approved this" in told(fake_slack, "again")
        [progress] = await fake_slack.wait_for("chat.update")
        assert "Needs 2 approvals from anyone, 1 so far: <@U2>" in text_of(progress)
        assert set(buttons(progress)) == {"zap_confirm", "zap_edit", "zap_cancel"}
        assert_valid_blocks(progress.args["blocks"])
        assert fake_zapier.of("execute") == []
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user="U3", message_ts=previewed.ts
        )
        await fake_zapier.wait_for("execute")
        updates = await fake_slack.wait_for("chat.update", 3)
        assert "Confirmed by <@U3> · approved by <@U2>, <@U3>" in text_of(updates[-1])


async def test_concurrent_approvals_on_two_replicas_run_the_action_exactly_once(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """approvals 3, two replicas, eight people clicking twice each at once: exactly three distinct people
    are counted, the click that reaches three runs it, once; every other click is answered privately."""
    policy = "default:\n  approvals: 3\n"
    async with start_bot(policy) as one, start_bot(policy) as two:
        previewed = await command_to_preview(one, fake_slack, WRITE)
        clicks = [
            (one if n % 2 else two).slack.block_action(
                "zap_confirm",
                previewed.confirm_value,
                user=f"U{10 + n // 2}",
                message_ts=previewed.ts,
                response_url=fake_slack.response_url(f"c{n}"),
            )
            for n in range(16)
        ]
        assert all(r.status == 200 for r in await asyncio.gather(*clicks))
        await fake_slack.wait_for_response_posts(15)
        await fake_slack.wait_for("chat.postMessage", 2)
        await idle(one)
        await idle(two)
        assert len(fake_zapier.of("execute")) == 1
        stored = await redis_client.hgetall(f"zapbot:preview:{previewed.preview_id}")
        approvers = stored["approved_by"].split()
        assert len(approvers) == 3 == len(set(approvers)) and stored["decided_by"] == approvers[-1]
        steps = [e["step"] for e in await audit_entries(redis_client)]
        assert steps.count("approved") == 3 and steps.count("confirmed") == 1 and steps.count("executed") == 1


async def test_expiry_comes_from_the_policy_per_channel(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """expires 1 in C1: the preview there expires after a second (marked in Slack, a click runs nothing,
    the audit trail says so); a preview in C2 keeps PREVIEW_TTL_SECONDS."""
    async with start_bot("channels:\n  C1:\n    expires: 1\n") as bot:
        elsewhere = await command_to_preview(bot, fake_slack, WRITE, channel="C2")
        stored = await redis_client.hgetall(f"zapbot:preview:{elsewhere.preview_id}")
        assert float(stored["expires_at"]) - float(stored["created_at"]) == 900
        previewed = await command_to_preview(bot, fake_slack, WRITE, channel="C1")
        [update] = await fake_slack.wait_for("chat.update")
        assert update.args["ts"] == previewed.ts and "Expired" in text_of(update) and buttons(update) == {}
        await bot.slack.block_action("zap_confirm", previewed.confirm_value, message_ts=previewed.ts)
        [answer] = await fake_slack.wait_for_response_posts(1)
        assert "expired" in text_of(answer.json)
    assert fake_zapier.of("execute") == []
    expired = [e for e in await audit_entries(redis_client) if e["step"] == "expired"]
    assert [e["preview_id"] for e in expired] == [previewed.preview_id] and expired[0]["channel"] == "C1"


async def test_auto_run_types_run_at_once_and_still_show_the_preview(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """auto_run [search] in C1: a search is previewed, the preview posted without buttons, and run at once
    with the previewed params locked; a write in C1 and a search in C2 still wait for a click."""
    async with start_bot("channels:\n  C1:\n    auto_run: [search]\n") as bot:
        await bot.slack.command("GmailV2API find_email:search Find the last email from Bob", channel="C1")
        [run] = await fake_zapier.wait_for("execute")
        assert run.json["action_type"] == "search" and run.query.get("skip_param_guessing") == "true"
        preview_post, result_post = await fake_slack.wait_for("chat.postMessage", 2)
        assert buttons(preview_post) == {} and "run without confirmation" in text_of(preview_post)
        assert "Find the last email from Bob" in text_of(preview_post)  # the preview is still shown
        assert result_post.args["thread_ts"] == preview_post.answer["ts"] and "success" in text_of(
            result_post
        )
        [done] = await fake_slack.wait_for("chat.update")
        assert "result in the thread" in text_of(done)
        write = await command_to_preview(bot, fake_slack, WRITE, channel="C1")
        assert "zap_confirm" in buttons(write.call)
        search = await command_to_preview(bot, fake_slack, "GmailV2API find_email:search Bob", channel="C2")
        assert "zap_confirm" in buttons(search.call)
        assert len(fake_zapier.of("execute")) == 1


async def test_allow_and_deny_refuse_clearly_and_call_nothing(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_client: redis.asyncio.Redis,
) -> None:
    """allow/deny: an app outside C1's allow list, an action C1 denies, and an action denied by default
    (in any spelling) get a clear private answer, no Zapier call, no post; the rest are previewed."""
    policy = """
        default:
          deny: [GmailV2API.delete_email]
        channels:
          C1:
            allow: [SlackAPI]
            deny: [SlackAPI.channel_message]
        """
    async with start_bot(policy) as bot:
        refused = {
            "app": ("GmailV2API send_email Say hi", "C1"),
            "action": ("SlackAPI channel_message Say hi", "C1"),
            "default": ("GmailV2API DELETE_EMAIL Delete the last one", "C2"),
        }
        for key, (text, channel) in refused.items():
            response = await bot.slack.command(
                text, channel=channel, response_url=fake_slack.response_url(key)
            )
            assert response.status == 200
        await fake_slack.wait_for_response_posts(3)
        await idle(bot)
        assert fake_zapier.requests == [] and fake_slack.of("chat.postMessage") == []
        assert "allows only `SlackAPI`" in told(fake_slack, "app") and "Nothing was run" in told(
            fake_slack, "app"
        )
        assert "denies `SlackAPI.channel_message`" in told(fake_slack, "action")
        assert "denies `GmailV2API.delete_email`" in told(fake_slack, "default")
        await command_to_preview(bot, fake_slack, "SlackAPI direct_message Say hi", channel="C1")
        await command_to_preview(bot, fake_slack, "GmailV2API send_email Say hi", channel="C2")
        assert len(fake_zapier.of("preview")) == 2
    denied = [e for e in await audit_entries(redis_client) if e["step"] == "denied"]
    assert sorted((e["app"], e["action"], e["channel"], e["who"]) for e in denied) == [
        ("GmailV2API", "DELETE_EMAIL", "C2", "U1"),
        ("GmailV2API", "send_email", "C1", "U1"),
        ("SlackAPI", "channel_message", "C1", "U1"),
    ]  # each request is handled by its own background task: the order of their entries is not fixed


async def test_only_the_requester_or_a_confirmer_may_cancel(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """confirm_by [U5]: a bystander's Cancel is refused privately; the requester's Cancel closes it."""
    async with start_bot("channels:\n  C1:\n    confirm_by: [U5]\n") as bot:
        previewed = await command_to_preview(bot, fake_slack, WRITE, user="U1")
        url = fake_slack.response_url("bystander")
        await bot.slack.block_action(
            "zap_cancel", previewed.preview_id, user="U2", message_ts=previewed.ts, response_url=url
        )
        await fake_slack.wait_for_response_posts(1)
        assert "Only <@U1> or someone who may confirm it (<@U5>) can cancel" in told(fake_slack, "bystander")
        await idle(bot)
        assert fake_slack.of("chat.update") == []
        await bot.slack.block_action("zap_cancel", previewed.preview_id, user="U1", message_ts=previewed.ts)
        [update] = await fake_slack.wait_for("chat.update")
        assert "Cancelled by <@U1>" in text_of(update) and buttons(update) == {}
    assert fake_zapier.of("execute") == []


async def test_plain_english_goes_through_the_same_policy_and_audit(
    start_bot: StartBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_client: redis.asyncio.Redis
) -> None:
    """A plain-English request whose best guess the channel denies is refused like a /zap line (a clear
    private answer, no preview call) and audited as requested and denied."""
    async with start_bot("channels:\n  C1:\n    deny: [GmailV2API]\n") as bot:
        response = await bot.slack.command("send an email to Bob about lunch", channel="C1")
        assert response.status == 200
        [answer] = await fake_slack.wait_for_response_posts(1)
        assert "may not be run in this channel" in text_of(answer.json)
        assert fake_zapier.of("preview") == [] and fake_slack.of("chat.postMessage") == []
    steps = [(e["step"], e["app"]) for e in await audit_entries(redis_client)]
    assert ("requested", "GmailV2API") in steps and ("denied", "GmailV2API") in steps
