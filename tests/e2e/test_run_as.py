"""Run as the person: with per-user Zapier accounts on, whose account previews and runs an action is the
policy's `run_as` (requester by default, confirmer, or shared). The bot runs in-process behind its real HTTP
endpoint; Zapier's API and OAuth endpoints are the local stand-ins, which record each call's credentials."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from cryptography.fernet import Fernet

from bot.accounts import Accounts, Connected, build_accounts
from bot.store import connect
from bot.zapier.client import new_http_client
from tests.support.accounts import connect_person
from tests.support.bot_server import RunningBot, running_bot, settings_with_accounts
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import command_to_preview, text_of
from tests.support.redis_reads import stream_entries

TEAM, ADA, BOB, CAROL = "T1", "U0ADA", "U0BOB", "U0CAROL"
COMMAND = "SlackAPI channel_message channel=#general Say hi"


async def bot_with(
    policy: str, *, tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth,
    redis_url: str, http: aiohttp.ClientSession,
) -> AsyncIterator[tuple[RunningBot, Accounts]]:  # fmt: skip
    policy_file = tmp_path / "policy.yml"
    policy_file.write_text(policy)
    key = Fernet.generate_key().decode()
    settings = settings_with_accounts(
        fake_slack, fake_zapier, oauth, redis_url, key=key, policy_file=policy_file
    )
    redis, client = connect(redis_url), new_http_client()
    accounts = build_accounts(settings, redis, client)
    assert accounts is not None
    try:
        # No "connected" DMs (tests/e2e/test_connect.py covers them): these tests count the channel's posts.
        async with running_bot(
            settings, http, fake_slack.response_url_base, account_connected=_not_told
        ) as bot:
            yield bot, accounts
    finally:
        await client.aclose()
        await redis.aclose()


async def _not_told(connected: Connected) -> None:
    """A notifier that tells nobody."""


def accounts_used(oauth: FakeZapierOAuth, operation: str) -> list[str]:
    return [oauth.account_of(token) if token else "api key" for token in oauth.tokens_used(operation)]


@pytest.fixture
async def default_bot(
    *,
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str,
    http_session: aiohttp.ClientSession,
) -> AsyncIterator[tuple[RunningBot, Accounts]]:  # fmt: skip
    async for pair in bot_with(
        "default:\n  confirm_by: anyone\n", tmp_path=tmp_path, fake_slack=fake_slack, fake_zapier=fake_zapier,
        oauth=oauth, redis_url=redis_url, http=http_session,
    ):  # fmt: skip
        yield pair


async def test_by_default_the_requesters_account_previews_and_runs_whoever_confirms(
    *,
    redis_client: redis.asyncio.Redis,
    default_bot: tuple[RunningBot, Accounts], oauth: FakeZapierOAuth, http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
) -> None:  # fmt: skip
    """Per-user accounts on, no run_as in the policy: Ada's preview and, when Bob confirms, the run both use
    Ada's own account (never the shared key); the preview says so and the audit trail records it."""
    bot, accounts = default_bot
    for person in (ADA, BOB):
        await connect_person(bot, accounts, oauth, http_session, person)
    previewed = await command_to_preview(bot, fake_slack, COMMAND, user=ADA)
    assert f"<@{ADA}>'s own Zapier account" in text_of(previewed.call)
    await bot.slack.block_action("zap_confirm", previewed.confirm_value, user=BOB, message_ts=previewed.ts)
    posts = await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
    assert "success" in text_of(posts[1])
    assert accounts_used(oauth, "preview") == [f"{ADA}@example.com"]
    assert accounts_used(oauth, "execute") == [f"{ADA}@example.com"]
    audit = await stream_entries(redis_client, "zapbot:audit")
    [confirmed] = [entry for _, entry in audit if entry["step"] == "confirmed"]
    assert confirmed["who"] == BOB and confirmed["detail"].endswith(f"runs with the Zapier account of {ADA}")


async def test_a_person_without_an_account_is_asked_to_connect_and_nothing_is_sent(
    default_bot: tuple[RunningBot, Accounts], fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """Carol never connected: her /zap is answered privately with a button to Zapier's authorize page, and
    no request reaches Zapier's API for her."""
    bot, _ = default_bot
    await bot.slack.command(COMMAND, user=CAROL)
    [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
    assert "Connect your Zapier account" in text_of(told.json) and "Nothing was sent to Zapier" in text_of(
        told.json
    )
    [link] = [e for b in told.json["blocks"] if b["type"] == "actions" for e in b["elements"]]
    assert "/oauth/authorize/" in link["url"] and "code_challenge_method=S256" in link["url"]
    assert fake_zapier.of("preview") == [] and fake_zapier.of("execute") == []


async def test_confirmer_runs_with_the_confirming_persons_account(
    *,
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str,
    http_session: aiohttp.ClientSession,
) -> None:  # fmt: skip
    """`run_as: confirmer`: Ada's account previews; an unconnected confirmer is asked to connect and nothing
    runs; Bob's confirm runs it with Bob's account."""
    policy = "default:\n  confirm_by: anyone\n  run_as: confirmer\n"
    async for bot, accounts in bot_with(
        policy, tmp_path=tmp_path, fake_slack=fake_slack, fake_zapier=fake_zapier, oauth=oauth,
        redis_url=redis_url, http=http_session,
    ):  # fmt: skip
        for person in (ADA, BOB):
            await connect_person(bot, accounts, oauth, http_session, person)
        previewed = await command_to_preview(bot, fake_slack, COMMAND, user=ADA)
        assert "the person who confirms it" in text_of(previewed.call)
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user=CAROL, message_ts=previewed.ts
        )
        [told] = await fake_slack.wait_for_response_posts(1, timeout=10)
        assert "Connect your Zapier account" in text_of(told.json)
        assert fake_zapier.of("execute") == []
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user=BOB, message_ts=previewed.ts
        )
        await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        assert accounts_used(oauth, "preview") == [f"{ADA}@example.com"]
        assert accounts_used(oauth, "execute") == [f"{BOB}@example.com"]


async def test_shared_runs_with_the_bots_api_key(
    *,
    tmp_path: Path, fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str,
    http_session: aiohttp.ClientSession,
) -> None:  # fmt: skip
    """`run_as: shared` on one app: its preview and run use ZAPIER_API_KEY, even for an unconnected person."""
    policy = "default:\n  rules:\n    - app: SlackAPI\n      run_as: shared\n"
    async for bot, _ in bot_with(
        policy,
        tmp_path=tmp_path,
        fake_slack=fake_slack,
        fake_zapier=fake_zapier,
        oauth=oauth,
        redis_url=redis_url,
        http=http_session,
    ):
        previewed = await command_to_preview(bot, fake_slack, COMMAND, user=CAROL)
        assert "own Zapier account" not in text_of(previewed.call)
        await bot.slack.block_action(
            "zap_confirm", previewed.confirm_value, user=CAROL, message_ts=previewed.ts
        )
        await fake_slack.wait_for("chat.postMessage", 2, timeout=10)
        assert accounts_used(oauth, "preview") == ["api key"] and accounts_used(oauth, "execute") == [
            "api key"
        ]
        assert all(r.headers.get("x-api-key") for r in fake_zapier.of("execute"))


async def test_look_ups_and_plain_english_use_the_asking_persons_own_account(
    *,
    default_bot: tuple[RunningBot, Accounts],
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
) -> None:
    """With per-user accounts on, `/zap apps`, `/zap actions` and plain English ask Zapier with the
    person's own token (what their account exposes); someone unconnected is asked to connect instead, and
    nothing is sent for them."""
    bot, accounts = default_bot
    await connect_person(bot, accounts, oauth, http_session, ADA)
    for text in ("apps gmail", "actions SlackAPI", "send a slack message saying hi"):
        await bot.slack.command(text, user=ADA)
    await fake_zapier.wait_for("guess", timeout=10)
    await fake_slack.wait_for_response_posts(2, timeout=10)
    for operation in ("apps", "actions", "guess"):
        assert accounts_used(oauth, operation) == [f"{ADA}@example.com"], operation
    searches = len(fake_zapier.of("apps"))
    await bot.slack.command("apps gmail", user=CAROL)
    told = await fake_slack.wait_for_response_posts(3, timeout=10)
    assert any("Connect your Zapier account first" in text_of(t.json) for t in told)
    assert len(fake_zapier.of("apps")) == searches  # nothing was asked of Zapier for Carol
