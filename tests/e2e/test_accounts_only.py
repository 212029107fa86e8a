"""Per-user Zapier accounts without a shared ZAPIER_API_KEY, through the real bot (signed Slack requests,
real Redis, the Zapier API and OAuth stand-ins recording each call's credentials): `run_as: shared` refused
with nothing sent, ratings sent with the token of the account that ran the execution (or kept when that
account is gone), the form's menus with the typing person's token, and /readyz ready without a key."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from cryptography.fernet import Fernet

from bot.accounts import Accounts, Connected, build_accounts
from bot.store import connect
from bot.zapier.client import new_http_client
from tests.support.accounts import connect_person, dump_redis
from tests.support.bot_server import RunningBot, settings_with_accounts
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import buttons, command_to_preview, text_of
from tests.support.metrics import scrape, value
from tests.support.rating_helpers import eventually, execution, rating_bot

TEAM, ADA, BOB, CAROL = "T1", "U0ADA", "U0BOB", "U0CAROL"
COMMAND = "SlackAPI channel_message channel=#general Say hi"

BotAndAccounts = tuple[RunningBot, Accounts]
StartBot = Callable[..., AbstractAsyncContextManager[BotAndAccounts]]


async def _not_told(connected: Connected) -> None:
    """A notifier that tells nobody (these tests count the channel's posts)."""


@pytest.fixture
def start_bot(
    *,
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str,
    http_session: aiohttp.ClientSession,
) -> StartBot:  # fmt: skip
    """Starts the bot with per-user accounts on, no ZAPIER_API_KEY, and `policy` (YAML) as its policy file;
    also an `Accounts` on the same Redis, to make connect links as a person would get them."""

    @asynccontextmanager
    async def start(policy: str = "default:\n  confirm_by: anyone\n") -> AsyncIterator[BotAndAccounts]:
        policy_file = tmp_path / "policy.yml"
        policy_file.write_text(policy)
        settings = settings_with_accounts(
            fake_slack, fake_zapier, oauth, redis_url,
            key=Fernet.generate_key().decode(), policy_file=policy_file, zapier_api_key=None,
        )  # fmt: skip
        assert settings.zapier_api_key is None
        redis, client = connect(redis_url), new_http_client()
        accounts = build_accounts(settings, redis, client)
        assert accounts is not None
        try:
            async with rating_bot(settings, http_session, fake_slack, account_connected=_not_told) as bot:
                yield bot, accounts
        finally:
            await client.aclose()
            await redis.aclose()

    return start


async def run_and_show(
    bot: RunningBot, slack: FakeSlack, redis_client: redis.asyncio.Redis, user: str
) -> str:
    """`user` asks and confirms in C1; the ts of the result's message, once reactions on it count."""
    previewed = await command_to_preview(bot, slack, COMMAND, user=user)
    before = len(slack.of("chat.postMessage"))
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, user=user, message_ts=previewed.ts)
    result = (await slack.wait_for("chat.postMessage", before + 1))[before]
    ts = str(result.answer["ts"])
    assert buttons(result)["zap_feedback"]
    await eventually(lambda: redis_client.get(f"zapbot:message:C1:{ts}"))
    return ts


def bearer_account(oauth: FakeZapierOAuth, headers: dict[str, str]) -> str:
    """Whose account a request's `Authorization: Bearer` token is (and it carries no API key)."""
    assert "x-api-key" not in headers
    return oauth.account_of(headers["authorization"].removeprefix("Bearer "))


async def test_shared_is_refused_without_a_key_and_nothing_is_sent(
    start_bot: StartBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """`run_as: shared` for SlackAPI while no ZAPIER_API_KEY is set: start-up warns, naming where the policy
    asks for it; the person hears privately that the shared account has no key (and what an admin must do),
    and not one request reaches Zapier."""
    policy = "default:\n  confirm_by: anyone\n  rules:\n    - app: SlackAPI\n      run_as: shared\n"
    async with start_bot(policy) as (bot, _):
        [warned] = [r for r in caplog.records if "asks for run_as: shared" in r.getMessage()]
        assert warned.levelno == logging.WARNING and "(default.rules.0)" in warned.getMessage()
        response = await bot.slack.command(COMMAND, user=ADA)
        assert response.status == 200
        [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
    said = text_of(told.json)
    assert "shared Zapier account" in said and "`ZAPIER_API_KEY`" in said
    assert "Nothing was sent to Zapier" in said
    assert fake_zapier.requests == []
    assert fake_slack.of("chat.postMessage") == []  # no preview was posted


async def test_ratings_go_with_the_token_of_the_account_that_ran_it(  # noqa: PLR0917 - fixtures
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
    redis_client: redis.asyncio.Redis,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Ada's run is rated by Bob: the rate call carries Ada's bearer token (the account that ran it), no API
    key. When Zapier has meanwhile expired Ada's token, the worker refreshes it once and sends the next
    rating with the new token. No token appears in the logs or in clear in Redis."""
    caplog.set_level(logging.DEBUG)
    async with start_bot() as (bot, accounts):
        for person in (ADA, BOB):
            await connect_person(bot, accounts, oauth, http_session, person)
        ts = await run_and_show(bot, fake_slack, redis_client, ADA)
        await bot.slack.reaction("+1", user=BOB, ts=ts)
        [rated] = await fake_zapier.wait_for("rate", 1, timeout=10)
        assert rated.query["rating"] == "1"
        assert bearer_account(oauth, rated.headers) == f"{ADA}@example.com"

        oauth.advance(oauth.expires_in + 1)  # Zapier now refuses the token the bot holds for Ada
        refreshes = len(oauth.refreshes())
        await bot.slack.reaction("+1", user=BOB, ts=ts, added=False)
        calls = await fake_zapier.wait_for("rate", 3, timeout=10)  # refused (401), then sent again
    first, expired, fresh = oauth.tokens_used("rate")
    assert expired == first and fresh != first  # the same call with the refreshed token
    assert [c.query["rating"] for c in calls] == ["1", "0", "0"]
    assert len(oauth.refreshes()) == refreshes + 1
    assert bearer_account(oauth, calls[2].headers) == f"{ADA}@example.com"
    logs = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    dump = await dump_redis(redis_url)
    for secret in oauth.issued:
        assert secret not in logs and secret not in dump


async def test_a_rating_of_a_disconnected_persons_run_is_kept_and_not_sent(  # noqa: PLR0917 - fixtures
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
    redis_client: redis.asyncio.Redis,
) -> None:
    """Ada ran it, then disconnected: Bob's 👍 is counted and kept in Redis, its delivery recorded as
    skipped (not retried, nothing sent), and zapbot_rating_deliveries_skipped_total says why."""
    async with start_bot() as (bot, accounts):
        await connect_person(bot, accounts, oauth, http_session, ADA)
        ts = await run_and_show(bot, fake_slack, redis_client, ADA)
        log_id = str(await redis_client.get(f"zapbot:message:C1:{ts}"))
        assert await accounts.disconnect(TEAM, ADA)
        await bot.slack.reaction("+1", user=BOB, ts=ts)

        async def skipped() -> dict[str, str] | None:
            fields = await execution(redis_client, log_id)
            return fields if fields.get("delivery") == "skipped" else None

        fields = await eventually(skipped)
        samples = await scrape(bot)
    assert fields["rating"] == "1" and fields["zapier_account"] == ADA
    assert fields["delivery_error"] == "disconnected"
    assert await redis_client.zscore("zapbot:ratings:pending", log_id) is None  # not retried
    assert value(samples, "zapbot_rating_deliveries_skipped_total", reason="disconnected") == 1
    assert fake_zapier.of("rate") == []


async def test_the_forms_menus_use_the_typing_persons_own_token(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """Ada's app and action menus are filled from Zapier with Ada's bearer token (no API key); Carol, who
    never connected, gets empty menus and no request is made for her; her `/zap form` answers with the
    connect button instead of opening a form whose menus would stay empty."""
    async with start_bot() as (bot, accounts):
        await connect_person(bot, accounts, oauth, http_session, ADA)
        apps = await bot.slack.block_suggestion("zap_form_app", "sla", block_id="app", user=ADA)
        assert [o["value"] for o in apps.json()["options"]] == ["SlackAPI"]
        actions = await bot.slack.block_suggestion(
            "zap_form_action", "direct", block_id="action:SlackAPI", user=ADA
        )
        assert [o["value"] for o in actions.json()["options"]] == ["direct_message:write"]
        carol = await bot.slack.block_suggestion("zap_form_app", "gma", block_id="app", user=CAROL)
        assert carol.json() == {"options": []}
        await bot.slack.command("form", user=CAROL)
        [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
    assert "Connect your Zapier account first" in text_of(told.json)
    assert fake_slack.of("views.open") == []
    [app_search] = fake_zapier.of("apps")
    [action_list] = fake_zapier.of("actions")
    for request in (app_search, action_list):
        assert bearer_account(oauth, request.headers) == f"{ADA}@example.com"


async def test_readyz_is_ready_with_accounts_only_and_never_checks_a_key(
    start_bot: StartBot, fake_zapier: FakeZapier, http_session: aiohttp.ClientSession
) -> None:
    """With per-user accounts and no ZAPIER_API_KEY, /readyz answers 200 (Zapier's part: the OAuth client is
    configured) without any call to Zapier's auth check."""
    async with start_bot() as (bot, _), http_session.get(bot.url + "/readyz") as response:
        status, body = response.status, await response.json()
    assert (status, body) == (200, {"status": "ready", "redis": "ok", "zapier": "ok", "slack": "ok"})
    assert fake_zapier.of("auth_check") == []


async def test_a_run_whose_token_zapier_refuses_is_not_retried_and_asks_to_reconnect(
    start_bot: StartBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """Zapier refuses Ada's token when she confirms: the token is refreshed once but the confirmed write is
    not sent again, and the thread says her account was refused (not "zapbot's API key", which this zapbot
    does not have) and that nothing was run."""
    async with start_bot() as (bot, accounts):
        await connect_person(bot, accounts, oauth, http_session, ADA)
        previewed = await command_to_preview(bot, fake_slack, COMMAND, user=ADA)
        oauth.advance(oauth.expires_in + 1)
        before = len(fake_slack.of("chat.postMessage"))
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user=ADA, message_ts=previewed.ts
        )
        result = (await fake_slack.wait_for("chat.postMessage", before + 1, timeout=10))[before]
    said = text_of(result)
    assert "Zapier refused the Zapier account this runs with" in said and "Nothing was run" in said
    assert "API key" not in said
    assert len(fake_zapier.of("execute")) == 1 and len(oauth.refreshes()) == 1
