"""The account layer's one interface: connect, complete, use, refresh and forget a person's Zapier account.

Built by `build_accounts` from the settings (None when per-user accounts are off). A person is a Slack
(team, user) pair. The rest of the bot needs only this class, its errors (bot.accounts.errors) and the
callback route (bot.accounts.callback).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TypeVar
from urllib.parse import quote, urlencode

import httpx
from redis.asyncio import Redis

from bot.accounts.config import OAuthConfig, oauth_config
from bot.accounts.crypto import TokenCipher
from bot.accounts.errors import StateInvalid
from bot.accounts.pkce import s256_challenge
from bot.accounts.states import ConnectStates
from bot.accounts.token_endpoint import TokenEndpoint
from bot.accounts.tokens import TokenStore
from bot.errors import ZapierAuthError
from bot.settings import Settings
from bot.zapier.client import BearerToken

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True)
class Connected:
    """A person who has just connected their Zapier account."""

    team: str
    user: str


class Accounts:
    """Per-user Zapier accounts."""

    def __init__(
        self, config: OAuthConfig, states: ConnectStates, tokens: TokenStore, endpoint: TokenEndpoint
    ) -> None:
        self._config = config
        self._states = states
        self._tokens = tokens
        self._endpoint = endpoint

    def __repr__(self) -> str:
        return f"Accounts(client_id={self._config.client_id!r}, redirect_uri={self._config.redirect_uri!r})"

    def missing_config(self) -> list[str]:
        """What the OAuth client's configuration lacks for the authorize link and the token endpoint
        (empty: complete). Readiness reports it when no ZAPIER_API_KEY is set (bot/ops/readiness.py)."""
        config = self._config
        needed = {
            "ZAPIER_OAUTH_CLIENT_ID": config.client_id,
            "ZAPIER_OAUTH_CLIENT_SECRET": config.client_secret.get_secret_value(),
            "PUBLIC_URL (the redirect URI)": config.redirect_uri,
            "ZAPIER_BASE_URL (the token endpoint)": config.token_url,
            "TOKEN_ENCRYPTION_KEY": config.encryption_keys.get_secret_value(),
        }
        return [name for name, value in needed.items() if not value.strip()]

    async def connect_url(self, team: str, user: str) -> str:
        """A link to Zapier's authorize page for this person: PKCE S256, a single-use state that expires
        in 10 minutes. Show it to that person only (a private message, a button)."""
        state, pending = await self._states.issue(team, user)
        query = {
            "response_type": "code",
            "client_id": self._config.client_id,
            "redirect_uri": self._config.redirect_uri,
            "scope": self._config.scope,
            "state": state,
            "code_challenge": s256_challenge(pending.verifier),
            "code_challenge_method": "S256",
        }
        return f"{self._config.authorize_url}?{urlencode(query, quote_via=quote)}"

    async def complete(self, state: str, code: str) -> Connected:
        """Finish a connection (the callback): use up the state, exchange the code with its verifier,
        store the tokens. StateInvalid for an unknown, used or expired state; GrantRejected when Zapier
        refuses the code; a Zapier connection/status error when it could not be asked."""
        pending = await self._states.take(state)
        if pending is None:
            raise StateInvalid("This connect link has expired or was already used.")
        grant = await self._endpoint.exchange(code, pending.verifier)
        await self._tokens.save(pending.team, pending.user, grant)
        log.info("Zapier account connected for %s/%s", pending.team, pending.user)
        return Connected(pending.team, pending.user)

    async def abandon(self, state: str) -> Connected | None:
        """The person declined at Zapier (the callback carries `error`): use up the state. Whose it was."""
        pending = await self._states.take(state)
        return Connected(pending.team, pending.user) if pending else None

    async def token_for(self, team: str, user: str) -> BearerToken:
        """A valid access token (refreshed once if expired). NotConnected, ReconnectNeeded: see TokenStore."""
        return await self._tokens.token_for(team, user)

    async def on_rejected(self, team: str, user: str, rejected: BearerToken) -> bool:
        """Zapier said 401 to `rejected`: refresh once; True when a retry with `token_for` may succeed."""
        return await self._tokens.on_rejected(team, user, rejected)

    async def call_as(
        self, team: str, user: str, call: Callable[[BearerToken], Awaitable[T]], *, retry_if_rejected: bool
    ) -> T:
        """`call(token)` with this person's token. On a 401 the token is refreshed once; the call is made
        again only if `retry_if_rejected` (previews and reads: yes; a confirmed write: never), else the
        ZapierAuthError goes up, and the next call gets the new token."""
        token = await self.token_for(team, user)
        try:
            return await call(token)
        except ZapierAuthError as exc:
            if exc.status_code != 401 or not await self.on_rejected(team, user, token):
                raise
            if not retry_if_rejected:
                raise
        return await call(await self.token_for(team, user))

    async def disconnect(self, team: str, user: str) -> bool:
        """Forget this person's tokens; True if there were any.

        Zapier's AI Actions API (the vendored spec) has no token revocation endpoint, so the tokens are
        only deleted here; the person can also remove the app from their Zapier account's settings."""
        removed = await self._tokens.delete(team, user)
        if removed:
            log.info("Zapier account disconnected for %s/%s", team, user)
        return removed

    async def connected(self, team: str, user: str) -> bool:
        """True when this person has tokens stored."""
        return await self._tokens.connected(team, user)


def build_accounts(
    settings: Settings,
    redis: Redis,
    http: httpx.AsyncClient,
    *,
    prefix: str = "zapbot",
    clock: Callable[[], float] = time.time,
) -> Accounts | None:
    """The account layer for these settings, on the bot's Redis and its one Zapier HTTP client; None when
    per-user accounts are off. Raises AccountsMisconfigured (naming each missing setting) when half on."""
    config = oauth_config(settings)
    if config is None:
        return None
    cipher = TokenCipher(config.encryption_keys)
    endpoint = TokenEndpoint(http, config)
    return Accounts(
        config,
        ConnectStates(redis, cipher, prefix=prefix),
        TokenStore(redis, cipher, endpoint, prefix=prefix, clock=clock),
        endpoint,
    )
