"""Per-user Zapier accounts: the connect link, the OAuth callback served by the real bot, the settings.

The bot runs in-process as `python -m bot` builds it, serving HTTP on 127.0.0.1; Zapier (its API and its
OAuth endpoints, tests/support/fakes/zapier_oauth.py) is a local stand-in that checks PKCE; Redis is real. The
"browser" opens the connect link at the stand-in and brings the redirect back to the bot, as a person's
browser would (with the bot's public host replaced by its loopback address).
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from urllib.parse import parse_qs, urlencode, urlsplit

import aiohttp
import httpx
import pytest
from pydantic import SecretStr

from bot.accounts import (
    Accounts,
    AccountsMisconfigured,
    Connected,
    GrantRejected,
    NotConnected,
    account_setting_problems,
)
from bot.accounts.config import oauth_config
from bot.accounts.crypto import TokenCipher
from bot.accounts.states import ConnectStates
from bot.accounts.token_endpoint import TokenEndpoint
from bot.actions import ActionRequest
from bot.runtime import build_app
from bot.settings import Settings, ValidationError, describe_settings_error
from bot.store import connect
from bot.zapier.client import ZapierClient
from tests.support.accounts import ACCOUNTS_KEY as KEY
from tests.support.bot_server import PUBLIC_URL, RunningBot, running_bot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth, follow_authorize
from tests.support.fakes.zapier_server import FakeZapier

TEAM, USER = "T0TEAM", "U0ADA"


@dataclass
class Flow:
    """The running bot (accounts on), another replica's `Accounts`, the OAuth stand-in, a browser."""

    bot: RunningBot
    accounts: Accounts
    oauth: FakeZapierOAuth
    http: aiohttp.ClientSession
    told: list[Connected]  # whom the bot's notifier was told about

    async def callback(self) -> str:
        """A new connect link for TEAM/USER, opened: the callback address Zapier sends the browser to."""
        return await follow_authorize(self.http, await self.accounts.connect_url(TEAM, USER))

    async def open(self, path: str) -> tuple[int, str]:
        """GET `path` on the bot: its status and page."""
        return await get(self.http, self.bot.url + path)


@pytest.fixture
async def flow(
    accounts_settings: Settings,
    replica_accounts: Accounts,
    oauth: FakeZapierOAuth,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
) -> AsyncIterator[Flow]:
    """The real bot with per-user accounts on, and what a test needs to connect through it."""
    told: list[Connected] = []

    async def notify(connected: Connected) -> None:
        told.append(connected)

    async with running_bot(
        accounts_settings, http_session, fake_slack.response_url_base, account_connected=notify
    ) as running:
        yield Flow(running, replica_accounts, oauth, http_session, told)


async def get(http: aiohttp.ClientSession, url: str) -> tuple[int, str]:
    async with http.get(url, allow_redirects=False) as response:
        return response.status, await response.text()


def s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


async def test_connect_link_is_an_authorization_code_request_with_pkce_s256(
    replica_accounts: Accounts, accounts_settings: Settings, fake_zapier: FakeZapier, redis_url: str
) -> None:
    """The connect link goes to ZAPIER_BASE_URL/oauth/authorize/ with response_type=code, the client id,
    the redirect URI under PUBLIC_URL, both scopes, a random state that names no Slack id, and an S256
    challenge of the verifier stored (encrypted, for 10 minutes) under that state."""
    url = urlsplit(await replica_accounts.connect_url(TEAM, USER))
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake_zapier.url + "/oauth/authorize/"
    assert query["response_type"] == "code"
    assert query["client_id"] == accounts_settings.zapier_oauth_client_id
    assert query["redirect_uri"] == PUBLIC_URL + "/zapier/oauth/callback"
    assert query["scope"] == "openid nla:exposed_actions:execute"
    assert query["code_challenge_method"] == "S256"
    assert len(query["state"]) >= 43
    assert TEAM not in query["state"] and USER not in query["state"]
    assert all(TEAM not in value and USER not in value for value in query.values())

    redis = connect(redis_url)
    try:
        [key] = [key async for key in redis.scan_iter("zapbot:oauth:state:*")]
        assert 590 <= await redis.ttl(key) <= 600
        assert TEAM not in key and query["state"] not in key
        cipher = TokenCipher(SecretStr(KEY))
        pending = await ConnectStates(redis, cipher).take(query["state"])
        assert pending is not None and (pending.team, pending.user) == (TEAM, USER)
        assert s256(pending.verifier) == query["code_challenge"]
        assert 43 <= len(pending.verifier) <= 128
    finally:
        await redis.aclose()


async def test_the_callback_connects_the_person_and_tells_the_notifier(
    flow: Flow, fake_zapier: FakeZapier
) -> None:
    """Through the bot's real HTTP server: Zapier's redirect to the callback exchanges the code (once,
    with the verifier), stores the person's tokens, answers a "connected" page and tells the notifier; the
    stored token then runs actions as that person's Zapier account."""
    status, page = await flow.open(await flow.callback())
    assert status == 200, page
    assert "Connected" in page and "close this tab" in page
    assert flow.told == [Connected(TEAM, USER)]
    assert [(c.grant_type, c.status) for c in flow.oauth.token_calls] == [("authorization_code", 200)]

    token = await flow.accounts.token_for(TEAM, USER)
    assert flow.oauth.account_of(token.token.get_secret_value()) == "ada@example.com"
    async with httpx.AsyncClient() as http:
        client = ZapierClient(http, api_key=SecretStr("unused-key"), base_url=fake_zapier.url)
        await client.preview(ActionRequest("SlackAPI", "channel_message", "say hi"), auth=token)
    assert flow.oauth.tokens_used("preview") == [token.token.get_secret_value()]
    assert "x-api-key" not in fake_zapier.of("preview")[0].headers


async def test_a_replayed_callback_is_refused(flow: Flow) -> None:
    """The same redirect a second time (a replay, or a reload) gets a 400 "expired or already used"
    page; the code is not exchanged again and nobody is told twice."""
    callback = await flow.callback()
    assert (await flow.open(callback))[0] == 200
    status, page = await flow.open(callback)
    assert status == 400
    assert "expired or was already used" in page and "/zap connect" in page
    assert len(flow.oauth.token_calls) == 1
    assert flow.told == [Connected(TEAM, USER)]


async def test_a_forged_state_is_refused_and_stores_nothing(flow: Flow) -> None:
    """A callback with a state the bot never issued (with a real code, from someone's flow), or with no
    state, is refused before any token call: nothing is stored, nobody is told."""
    code = parse_qs(urlsplit(await flow.callback()).query)["code"][0]
    status, page = await flow.open(f"/zapier/oauth/callback?code={code}&state=" + "A" * 43)
    assert status == 400 and "expired or was already used" in page
    assert (await flow.open("/zapier/oauth/callback?code=" + code))[0] == 400
    assert flow.oauth.token_calls == []
    assert flow.told == []
    assert not await flow.accounts.connected(TEAM, USER)


async def test_an_expired_state_is_refused(flow: Flow, redis_url: str) -> None:
    """A state past its 10 minutes (its Redis key expired) is refused like an unknown one."""
    callback = await flow.callback()
    redis = connect(redis_url)
    try:
        [key] = [key async for key in redis.scan_iter("zapbot:oauth:state:*")]
        await redis.pexpire(key, 1)
        while await redis.exists(key):  # the condition: Redis has expired it
            await redis.ping()
    finally:
        await redis.aclose()
    status, page = await flow.open(callback)
    assert status == 400 and "expired" in page
    assert flow.oauth.token_calls == []


async def test_a_code_from_another_flow_fails_the_pkce_check(flow: Flow) -> None:
    """A valid state paired with a code issued for another link (another challenge) is exchanged with
    the wrong verifier: Zapier refuses it (invalid_grant) and the page says so; nothing is stored."""
    code = parse_qs(urlsplit(await flow.callback()).query)["code"][0]
    state = parse_qs(urlsplit(await flow.callback()).query)["state"][0]
    status, page = await flow.open(f"/zapier/oauth/callback?code={code}&state={state}")
    assert status == 400 and "invalid_grant" in page
    calls = [(c.grant_type, c.error) for c in flow.oauth.token_calls]
    assert calls == [("authorization_code", "invalid_grant")]
    assert flow.told == []
    assert not await flow.accounts.connected(TEAM, USER)


async def test_the_token_endpoint_checks_the_verifier_and_the_redirect_uri(
    accounts_settings: Settings, oauth: FakeZapierOAuth, http_session: aiohttp.ClientSession
) -> None:
    """The stand-in holds the exchange to PKCE: the right verifier gets tokens, a wrong verifier or a
    different redirect_uri gets invalid_grant (GrantRejected), and a code works once only."""
    config = oauth_config(accounts_settings)
    assert config is not None
    async with httpx.AsyncClient() as http:
        endpoint = TokenEndpoint(http, config)
        elsewhere = TokenEndpoint(http, dataclasses.replace(config, redirect_uri=PUBLIC_URL + "/elsewhere"))

        async def code_for(verifier: str) -> str:
            query = {
                "response_type": "code",
                "client_id": config.client_id,
                "redirect_uri": config.redirect_uri,
                "scope": config.scope,
                "state": "s",
                "code_challenge": s256(verifier),
                "code_challenge_method": "S256",
            }
            url = f"{config.authorize_url}?{urlencode(query)}"
            return parse_qs(urlsplit(await follow_authorize(http_session, url)).query)["code"][0]

        right = "v" * 50
        with pytest.raises(GrantRejected) as wrong:
            await endpoint.exchange(await code_for(right), "w" * 50)
        assert wrong.value.error == "invalid_grant"
        with pytest.raises(GrantRejected):
            await elsewhere.exchange(await code_for(right), right)
        code = await code_for(right)
        grant = await endpoint.exchange(code, right)
        assert oauth.valid(grant.access_token.get_secret_value())
        with pytest.raises(GrantRejected):
            await endpoint.exchange(code, right)


async def test_declining_at_zapier_uses_up_the_link(flow: Flow) -> None:
    """When the person clicks Deny, Zapier's error comes back to the callback: the page says they are not
    connected (the error text escaped), and that link's state cannot be used afterwards."""
    flow.oauth.deny = True
    callback = await flow.callback()
    status, page = await flow.open(callback)
    assert status == 400 and "access_denied" in page and "/zap connect" in page
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert (await flow.open(f"/zapier/oauth/callback?code=x&state={state}"))[0] == 400
    status, page = await flow.open("/zapier/oauth/callback?error=%3Cscript%3Ealert(1)%3C/script%3E")
    assert status == 400 and "<script>" not in page and "&lt;script&gt;" in page
    assert flow.oauth.token_calls == [] and flow.told == []


async def test_disconnect_deletes_the_tokens(flow: Flow) -> None:
    """Disconnecting forgets the person's tokens (the spec has no revoke endpoint): afterwards they are not
    connected and asking for their token says NotConnected; a second disconnect finds nothing."""
    assert (await flow.open(await flow.callback()))[0] == 200
    assert await flow.accounts.connected(TEAM, USER)
    assert await flow.accounts.disconnect(TEAM, USER) is True
    assert not await flow.accounts.connected(TEAM, USER)
    with pytest.raises(NotConnected):
        await flow.accounts.token_for(TEAM, USER)
    assert await flow.accounts.disconnect(TEAM, USER) is False


async def test_the_callback_is_not_served_when_accounts_are_off(
    bot: RunningBot, http_session: aiohttp.ClientSession
) -> None:
    """Without the OAuth client settings there is no callback route (404), and the settings are complete."""
    status, _ = await get(http_session, bot.url + "/zapier/oauth/callback?code=x&state=y")
    assert status == 404
    assert account_setting_problems(bot.settings) == []


async def test_half_configured_accounts_name_every_missing_setting(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str
) -> None:
    """With the client id alone, the problems name the secret, PUBLIC_URL and TOKEN_ENCRYPTION_KEY, and
    the bot refuses to build (AccountsMisconfigured); a lone encryption key is named too."""
    half = settings_for(fake_slack, fake_zapier, redis_url, zapier_oauth_client_id="client")
    problems = account_setting_problems(half)
    assert [p.split()[0] for p in problems] == [
        "ZAPIER_OAUTH_CLIENT_SECRET",
        "PUBLIC_URL",
        "TOKEN_ENCRYPTION_KEY",
    ]
    with pytest.raises(AccountsMisconfigured) as refused:
        await build_app(half)
    assert refused.value.problems == problems
    lone_key = settings_for(fake_slack, fake_zapier, redis_url, token_encryption_key=KEY)
    assert [p.split()[0] for p in account_setting_problems(lone_key)] == ["TOKEN_ENCRYPTION_KEY"]


def test_a_malformed_encryption_key_is_named_without_its_value(
    fake_slack: FakeSlack, fake_zapier: FakeZapier
) -> None:
    """TOKEN_ENCRYPTION_KEY must be Fernet keys: a bad second key is reported by position, never echoed."""
    bad = "not-a-fernet-key-but-a-secret"
    with pytest.raises(ValidationError) as error:
        settings_for(fake_slack, fake_zapier, "redis://127.0.0.1:1/0", token_encryption_key=f"{KEY},{bad}")
    line = describe_settings_error(error.value)
    assert "TOKEN_ENCRYPTION_KEY key 2 of 2 is not a Fernet key" in line
    assert bad not in line and KEY not in line


async def test_two_simultaneous_callbacks_with_one_state_connect_once(flow: Flow) -> None:
    """The same redirect sent twice at once (a double click, a replica each): exactly one is exchanged
    and answered "connected"; the other gets the 400 page."""
    callback = await flow.callback()
    answers = await asyncio.gather(flow.open(callback), flow.open(callback))
    assert sorted(status for status, _ in answers) == [200, 400]
    assert len(flow.oauth.token_calls) == 1
    assert flow.told == [Connected(TEAM, USER)]


async def test_a_failing_notifier_does_not_spoil_the_connection(
    accounts_settings: Settings,
    replica_accounts: Accounts,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """If telling the person in Slack fails, the tokens are still stored, the page still says connected,
    and the failure is logged."""

    async def notify(connected: Connected) -> None:
        raise RuntimeError("slack is down")

    async with running_bot(
        accounts_settings, http_session, fake_slack.response_url_base, account_connected=notify
    ) as bot:
        callback = await follow_authorize(http_session, await replica_accounts.connect_url(TEAM, USER))
        status, page = await get(http_session, bot.url + callback)
    assert status == 200 and "Connected" in page
    assert await replica_accounts.connected(TEAM, USER)
    assert any("they connected failed" in r.getMessage() for r in caplog.records)
