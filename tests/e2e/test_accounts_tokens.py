"""People's Zapier tokens: refresh across replicas, 401 handling, key rotation, and no token in clear.

Two "replicas" are two account layers built from the same settings on one real Redis, each with its own
Redis and HTTP clients; the Zapier stand-in issues tokens that expire by its clock, rotates refresh
tokens (a second refresh with the same one fails), and counts token calls.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Protocol
from urllib.parse import parse_qs, urlsplit

import aiohttp
import httpx
import pytest
from cryptography.fernet import Fernet
from pydantic import SecretStr

from bot.accounts import Accounts, ReconnectNeeded, build_accounts
from bot.actions import ActionRequest, ActionType
from bot.errors import ZapierAuthError, ZapierServerError
from bot.settings import Settings
from bot.store import connect
from bot.zapier.client import ApiKey, BearerToken, ZapierClient, new_http_client
from tests.support.accounts import dump_redis
from tests.support.bot_server import running_bot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth, follow_authorize
from tests.support.fakes.zapier_server import FakeZapier

PUBLIC_URL = "https://zapbot.example.com"
KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
TEAM, USER = "T0TEAM", "U0ADA"
HOUR = 3600.0
READ = ActionRequest("GoogleSheetsV2API", "lookup_row", "find Ada's row", ActionType.SEARCH)
WRITE = ActionRequest("SlackAPI", "channel_message", "say hi")


class Clock:
    """The replicas' clock: time.time(), moved on by the test."""

    def __init__(self) -> None:
        self.offset = 0.0

    def __call__(self) -> float:
        return time.time() + self.offset


@pytest.fixture
def make_settings(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str
) -> Callable[[str], Settings]:
    """Settings with per-user accounts on, for a given TOKEN_ENCRYPTION_KEY."""

    def make(keys: str) -> Settings:
        return settings_for(
            fake_slack,
            fake_zapier,
            redis_url,
            zapier_oauth_client_id=oauth.client_id,
            zapier_oauth_client_secret=oauth.client_secret,
            public_url=PUBLIC_URL,
            token_encryption_key=keys,
        )

    return make


class Replicas(Protocol):
    async def __call__(self, settings: Settings, clock: Callable[[], float] = ...) -> Accounts: ...


@pytest.fixture
async def replicas() -> AsyncIterator[Replicas]:
    """Builds account layers ("replicas") that are closed after the test."""
    async with AsyncExitStack() as stack:

        async def replica(settings: Settings, clock: Callable[[], float] = time.time) -> Accounts:
            return await stack.enter_async_context(_replica(settings, clock))

        yield replica


@asynccontextmanager
async def _replica(settings: Settings, clock: Callable[[], float]) -> AsyncIterator[Accounts]:
    redis, http = connect(settings.redis_url), new_http_client()
    try:
        accounts = build_accounts(settings, redis, http, clock=clock)
        assert accounts is not None
        yield accounts
    finally:
        await http.aclose()
        await redis.aclose()


async def connect_person(accounts: Accounts, http: aiohttp.ClientSession) -> str:
    """Connect TEAM/USER the way the callback does (state and code from the stand-in); the access token."""
    callback = urlsplit(await follow_authorize(http, await accounts.connect_url(TEAM, USER)))
    query = {name: values[0] for name, values in parse_qs(callback.query).items()}
    await accounts.complete(query["state"], query["code"])
    return (await accounts.token_for(TEAM, USER)).token.get_secret_value()


async def test_an_expired_token_is_refreshed_once_across_two_replicas(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """When the token has expired, ten concurrent asks on each of two replicas cost one refresh call:
    one replica refreshes under the Redis lock, the other waits for its result; all twenty get the same
    new token, which Zapier accepts (the old one it no longer does)."""
    clock = Clock()
    first = await replicas(make_settings(KEY_A), clock)
    second = await replicas(make_settings(KEY_A), clock)
    old = await connect_person(first, http_session)
    clock.offset += HOUR
    oauth.advance(HOUR)
    oauth.token_delay = 0.3  # the refresh takes a while: the other replica finds the lock taken
    tokens = await asyncio.gather(
        *(replica.token_for(TEAM, USER) for replica in (first, second) for _ in range(10))
    )
    assert [(c.grant_type, c.status) for c in oauth.refreshes()] == [("refresh_token", 200)]
    new = {t.token.get_secret_value() for t in tokens}
    assert len(new) == 1 and old not in new
    assert oauth.valid(new.pop()) and not oauth.valid(old)


async def test_a_refused_refresh_asks_every_replica_for_a_reconnect(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """When Zapier refuses the refresh token (the person removed the app), the one refresh fails with
    ReconnectNeeded on both replicas, and the useless tokens are deleted."""
    clock = Clock()
    first = await replicas(make_settings(KEY_A), clock)
    second = await replicas(make_settings(KEY_A), clock)
    await connect_person(first, http_session)
    oauth.revoke_refresh_tokens()
    clock.offset += HOUR
    oauth.token_delay = 0.3
    results = await asyncio.gather(
        first.token_for(TEAM, USER), second.token_for(TEAM, USER), return_exceptions=True
    )
    assert all(isinstance(r, ReconnectNeeded) for r in results), results
    assert [(c.grant_type, c.error) for c in oauth.refreshes()] == [("refresh_token", "invalid_grant")]
    assert not await first.connected(TEAM, USER)


async def test_a_token_endpoint_outage_keeps_the_tokens(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """A 503 from the token endpoint is Zapier's trouble, not the person's: the error says so
    (ZapierServerError), the tokens stay, and the next ask refreshes normally."""
    clock = Clock()
    accounts = await replicas(make_settings(KEY_A), clock)
    old = await connect_person(accounts, http_session)
    clock.offset += HOUR
    oauth.fail_with = 503
    with pytest.raises(ZapierServerError):
        await accounts.token_for(TEAM, USER)
    assert await accounts.connected(TEAM, USER)
    oauth.fail_with = None
    assert (await accounts.token_for(TEAM, USER)).token.get_secret_value() != old


async def test_a_rejected_token_is_refreshed_and_only_a_read_is_retried(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    fake_zapier: FakeZapier,
    http_session: aiohttp.ClientSession,
) -> None:
    """Zapier answers 401 to a token the bot still thinks valid: `call_as` refreshes once and retries a
    read with the new token; a write is not retried (the 401 goes up) but the token is refreshed for the
    next call, without a second refresh."""
    accounts = await replicas(make_settings(KEY_A))
    old = await connect_person(accounts, http_session)
    oauth.advance(HOUR)  # expired at Zapier, not yet by the bot's clock
    async with httpx.AsyncClient() as http:
        zapier = ZapierClient(http, api_key=SecretStr("unused"), base_url=fake_zapier.url, retries=0)
        result = await accounts.call_as(
            TEAM, USER, lambda token: zapier.preview(READ, auth=token), retry_if_rejected=True
        )
        assert result.status == "preview"
        used = oauth.tokens_used("preview")
        assert used[0] == old and used[1] != old and len(used) == 2

        oauth.advance(HOUR)
        with pytest.raises(ZapierAuthError):
            await accounts.call_as(
                TEAM,
                USER,
                lambda token: zapier.execute(WRITE, skip_param_guessing=False, auth=token),
                retry_if_rejected=False,
            )
        assert len(fake_zapier.of("execute")) == 1
        assert len(oauth.refreshes()) == 2
        fresh = await accounts.token_for(TEAM, USER)
        assert oauth.valid(fresh.token.get_secret_value())
        assert len(oauth.refreshes()) == 2


async def test_on_rejected_after_another_replica_refreshed_does_not_refresh_again(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
) -> None:
    """Two replicas get a 401 for the same token: the first refreshes, the second learns a new token is
    already stored (True: retry) without a refresh of its own."""
    first = await replicas(make_settings(KEY_A))
    second = await replicas(make_settings(KEY_A))
    old = BearerToken(SecretStr(await connect_person(first, http_session)))
    assert await first.on_rejected(TEAM, USER, old) is True
    assert await second.on_rejected(TEAM, USER, old) is True
    assert len(oauth.refreshes()) == 1
    assert (await second.token_for(TEAM, USER)).token != old.token


async def test_rotating_the_encryption_key_re_encrypts_on_read(
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    http_session: aiohttp.ClientSession,
) -> None:
    """Tokens sealed with key A are read with "B,A" (B first) and re-sealed with B, so that B alone reads
    them afterwards; with an unrelated key alone they cannot be read and the person must reconnect."""
    with_a = await replicas(make_settings(KEY_A))
    token = await connect_person(with_a, http_session)
    rotated = await replicas(make_settings(f"{KEY_B},{KEY_A}"))
    assert (await rotated.token_for(TEAM, USER)).token.get_secret_value() == token
    only_b = await replicas(make_settings(KEY_B))
    assert (await only_b.token_for(TEAM, USER)).token.get_secret_value() == token
    other = await replicas(make_settings(Fernet.generate_key().decode()))
    with pytest.raises(ReconnectNeeded) as unreadable:
        await other.token_for(TEAM, USER)
    assert unreadable.value.reason == "unreadable"


async def test_the_zapier_client_sends_the_credentials_each_call_is_given(fake_zapier: FakeZapier) -> None:
    """`auth=` per call: a BearerToken goes as `Authorization: Bearer` without the API key, an ApiKey as
    `x-api-key`; without `auth` the client's own key is sent, as before."""
    async with httpx.AsyncClient() as http:
        client = ZapierClient(http, api_key=SecretStr(fake_zapier.api_key), base_url=fake_zapier.url)
        await client.preview(READ)
        await client.preview(READ, auth=ApiKey(SecretStr(fake_zapier.api_key)))
        with pytest.raises(ZapierAuthError):
            await client.preview(READ, auth=BearerToken(SecretStr("not-a-token-zapier-issued")))
    headers = [r.headers for r in fake_zapier.of("preview")]
    assert [h.get("x-api-key") for h in headers] == [fake_zapier.api_key, fake_zapier.api_key, None]
    assert headers[2]["authorization"] == "Bearer not-a-token-zapier-issued"


async def test_no_token_appears_in_clear_in_redis_logs_pages_or_reprs(  # noqa: PLR0917 - fixtures
    make_settings: Callable[[str], Settings],
    replicas: Replicas,
    oauth: FakeZapierOAuth,
    fake_slack: FakeSlack,
    http_session: aiohttp.ClientSession,
    redis_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Through a connect via the bot's callback, a refresh, a 401 and a rotation, with every log at
    DEBUG captured: no access token, refresh token, code or PKCE verifier appears in any Redis key or
    value, in any log line, in the pages or in the account layer's reprs."""
    caplog.set_level(logging.DEBUG)
    clock = Clock()
    settings = make_settings(KEY_A)
    accounts = await replicas(settings, clock)
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        callback = await follow_authorize(http_session, await accounts.connect_url(TEAM, USER))
        async with http_session.get(bot.url + callback) as response:
            assert response.status == 200
            page = await response.text()
    code = parse_qs(urlsplit(callback).query)["code"][0]
    clock.offset += HOUR
    token = await accounts.token_for(TEAM, USER)
    await accounts.on_rejected(TEAM, USER, token)
    rotated = await replicas(make_settings(f"{KEY_B},{KEY_A}"), clock)
    await rotated.token_for(TEAM, USER)
    pending_link = await accounts.connect_url(TEAM, USER)  # a state (and its verifier) left in Redis

    secrets = [*oauth.issued, code]
    assert len(oauth.issued) == 6  # the exchange and two refreshes, an access and a refresh token each
    dump = await dump_redis(redis_url)
    assert "zapbot:account:" in dump and "zapbot:oauth:state:" in dump
    logs = "\n".join(
        [r.getMessage() + (r.exc_text or "") for r in caplog.records]
        + [repr(accounts), repr(rotated), repr(token)]
    )
    for secret in secrets:
        assert secret not in dump, "a token or code is stored in clear"
        assert secret not in logs, "a token or code was logged or shown in a repr"
        assert secret not in page and secret not in pending_link
    state = parse_qs(urlsplit(pending_link).query)["state"][0]
    assert state not in dump  # only its hash names the key
