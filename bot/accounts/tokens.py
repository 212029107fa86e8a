"""People's Zapier tokens in Redis: encrypted at rest, refreshed when expired, one refresh at a time.

Keys (under the bot's prefix `{p}`, `zapbot` by default; none expires):
    {p}:account:{team}:{user}          access and refresh token, expiry, scope: one Fernet-sealed JSON value
    {p}:account-refresh:{team}:{user}  held (SET NX PX, a random owner) by the replica refreshing them

A refresh happens under the lock only. Whoever finds the lock taken waits until it goes, then reads what
the holder stored: across any number of replicas, an expired token costs one call to the token endpoint.
Refresh tokens may be single-use (rotated with each refresh), which is why two refreshes must never race.
"""

from __future__ import annotations

import asyncio
import json
import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar, cast

from pydantic import SecretStr
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.accounts.crypto import TokenCipher, Unreadable
from bot.accounts.errors import GrantRejected, NotConnected, ReconnectNeeded
from bot.accounts.token_endpoint import TokenEndpoint, TokenGrant
from bot.errors import StoreError, ZapierConnectionError
from bot.zapier.client import BearerToken

log = logging.getLogger(__name__)

T = TypeVar("T")

EXPIRY_MARGIN_SECONDS = 60.0  # refresh this long before Zapier's expiry: a call in flight must not outlive it
LOCK_SECONDS = 30.0  # at least the token endpoint's timeout (10 s) plus Redis's; a crashed holder's lock ends

# Delete the lock only if we still hold it (it may have expired and passed to another replica).
_RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"
# Re-seal with the current key only if nobody changed the value since we read it.
_RESEAL = (
    "if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('SET', KEYS[1], ARGV[2]) return 1 end return 0"
)


@dataclass(frozen=True)
class Tokens:
    """One person's tokens. `expires_at` is a Unix time (None: Zapier gave no expiry)."""

    access: SecretStr
    refresh: SecretStr | None
    expires_at: float | None
    scope: str | None
    connected_at: float

    def fresh(self, now: float, margin: float) -> bool:
        return self.expires_at is None or now < self.expires_at - margin


class TokenStore:
    """Saves, reads, refreshes and deletes people's tokens (Redis with `decode_responses=True`)."""

    def __init__(
        self,
        redis: Redis,
        cipher: TokenCipher,
        endpoint: TokenEndpoint,
        *,
        prefix: str = "zapbot",
        clock: Callable[[], float] = time.time,
        margin: float = EXPIRY_MARGIN_SECONDS,
        lock_seconds: float = LOCK_SECONDS,
        poll_seconds: float = 0.05,
    ) -> None:
        self._redis = redis
        self._cipher = cipher
        self._endpoint = endpoint
        self._prefix = prefix
        self._clock = clock
        self._margin = margin
        self._lock_seconds = lock_seconds
        self._poll = poll_seconds
        self._release = redis.register_script(_RELEASE)
        self._reseal = redis.register_script(_RESEAL)

    def __repr__(self) -> str:
        return f"TokenStore(prefix={self._prefix!r})"

    # ---- the interface --------------------------------------------------------------------------------

    async def save(self, team: str, user: str, grant: TokenGrant) -> Tokens:
        """Store a fresh grant (from a code exchange) as this person's tokens, replacing any others."""
        tokens = self._from_grant(grant, previous=None)
        await self._store(team, user, tokens)
        return tokens

    async def load(self, team: str, user: str) -> Tokens | None:
        """This person's tokens, or None. ReconnectNeeded when no configured key can read them."""
        key = self._key(team, user)
        sealed = await self._call(cast(Awaitable[str | None], self._redis.get(key)))
        if sealed is None:
            return None
        try:
            plain, old_key = self._cipher.decrypt(sealed)
        except Unreadable:
            log.warning(
                "the Zapier tokens of %s/%s cannot be decrypted with TOKEN_ENCRYPTION_KEY", team, user
            )
            raise ReconnectNeeded(team, user, "unreadable") from None
        tokens = _parse(plain)
        if old_key:  # key rotation: re-seal with the first key, unless a refresh got there first
            await self._call(self._reseal(keys=[key], args=[sealed, self._seal(tokens)]))
        return tokens

    async def token_for(self, team: str, user: str) -> BearerToken:
        """A valid access token for this person, refreshed first if it has expired.

        Raises NotConnected (no account), ReconnectNeeded (the refresh was refused: tokens deleted), or a
        Zapier connection/status error when the token endpoint could not be reached (nothing deleted)."""
        tokens = await self.load(team, user)
        if tokens is None:
            raise NotConnected(team, user)
        if not tokens.fresh(self._clock(), self._margin):
            tokens = await self._refresh(team, user, stale=tokens.access.get_secret_value())
        return BearerToken(tokens.access)

    async def on_rejected(self, team: str, user: str, rejected: BearerToken) -> bool:
        """Zapier answered 401 to `rejected`: refresh once (unless someone already has). True when a
        different token is now stored, so that a retry with `token_for` may succeed; the caller decides
        whether its call may be retried at all (a confirmed write must not be)."""
        stale = rejected.token.get_secret_value()
        tokens = await self.load(team, user)
        if tokens is None:
            raise NotConnected(team, user)
        if tokens.access.get_secret_value() == stale or not tokens.fresh(self._clock(), self._margin):
            tokens = await self._refresh(team, user, stale=stale)
        return tokens.access.get_secret_value() != stale

    async def delete(self, team: str, user: str) -> bool:
        """Forget this person's tokens. True if there were any."""
        return bool(await self._call(self._redis.delete(self._key(team, user))))

    async def connected(self, team: str, user: str) -> bool:
        """True when tokens are stored for this person (they may still need a refresh)."""
        return bool(await self._call(self._redis.exists(self._key(team, user))))

    # ---- refreshing -----------------------------------------------------------------------------------

    async def _refresh(self, team: str, user: str, *, stale: str) -> Tokens:
        """Replace the access token `stale` with a new one: ours to fetch if we get the lock, else the
        result of whoever holds it."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._lock_seconds + 1.0
        lock = f"{self._prefix}:account-refresh:{team}:{user}"
        while True:
            current = await self.load(team, user)
            if current is None:  # deleted meanwhile: disconnected, or another replica's refresh was refused
                raise ReconnectNeeded(team, user, "disconnected")
            if current.access.get_secret_value() != stale and current.fresh(self._clock(), self._margin):
                return current
            owner = secrets.token_hex(16)
            px = int(self._lock_seconds * 1000)
            if await self._call(self._redis.set(lock, owner, nx=True, px=px)):
                try:
                    return await self._refresh_holding_lock(team, user, stale)
                finally:
                    await self._call(self._release(keys=[lock], args=[owner]))
            # Another replica is refreshing: wait for it to finish, then read what it stored.
            while await self._call(self._redis.exists(lock)):
                if loop.time() >= deadline:
                    raise ZapierConnectionError("Refreshing the Zapier token took too long.", timed_out=True)
                await asyncio.sleep(self._poll)

    async def _refresh_holding_lock(self, team: str, user: str, stale: str) -> Tokens:
        current = await self.load(team, user)  # again: the last holder may have finished just now
        if current is None:
            raise ReconnectNeeded(team, user, "disconnected")
        if current.access.get_secret_value() != stale and current.fresh(self._clock(), self._margin):
            return current
        if current.refresh is None:
            await self.delete(team, user)
            raise ReconnectNeeded(team, user, "no refresh token")
        try:
            grant = await self._endpoint.refresh(current.refresh)
        except GrantRejected as exc:
            if exc.error != "invalid_grant":
                # Our client's credentials or request, not the person's grant: reconnecting would not help.
                log.error("Zapier refused a token refresh for our OAuth client (%s): check its settings", exc)
                raise
            await self.delete(team, user)
            log.warning("Zapier refused to refresh the token of %s/%s: they must connect again", team, user)
            raise ReconnectNeeded(team, user, exc.error) from exc
        tokens = self._from_grant(grant, previous=current)
        await self._store(team, user, tokens)
        log.info("refreshed the Zapier token of %s/%s", team, user)
        return tokens

    # ---- storage --------------------------------------------------------------------------------------

    def _from_grant(self, grant: TokenGrant, previous: Tokens | None) -> Tokens:
        now = self._clock()
        return Tokens(
            access=grant.access_token,
            # A refresh answer may leave the refresh token out: the old one stays valid then.
            refresh=grant.refresh_token or (previous.refresh if previous else None),
            expires_at=now + grant.expires_in if grant.expires_in is not None else None,
            scope=grant.scope or (previous.scope if previous else None),
            connected_at=previous.connected_at if previous else now,
        )

    async def _store(self, team: str, user: str, tokens: Tokens) -> None:
        await self._call(self._redis.set(self._key(team, user), self._seal(tokens)))

    def _seal(self, tokens: Tokens) -> str:
        fields = {
            "access": tokens.access.get_secret_value(),
            "refresh": tokens.refresh.get_secret_value() if tokens.refresh else None,
            "expires_at": tokens.expires_at,
            "scope": tokens.scope,
            "connected_at": tokens.connected_at,
        }
        return self._cipher.encrypt(json.dumps(fields).encode())

    def _key(self, team: str, user: str) -> str:
        return f"{self._prefix}:account:{team}:{user}"

    async def _call(self, awaitable: Awaitable[T]) -> T:
        try:
            return await awaitable
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc


def _parse(plain: bytes) -> Tokens:
    fields: dict[str, Any] = json.loads(plain)
    return Tokens(
        access=SecretStr(fields["access"]),
        refresh=SecretStr(fields["refresh"]) if fields.get("refresh") else None,
        expires_at=fields.get("expires_at"),
        scope=fields.get("scope"),
        connected_at=float(fields["connected_at"]),
    )
