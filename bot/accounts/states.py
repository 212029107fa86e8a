"""Pending connections: the OAuth `state` of each authorize link, single-use, for 10 minutes.

Keys (under the bot's prefix `{p}`, `zapbot` by default):
    {p}:oauth:state:{sha256(state)}   the Slack team and user, and the PKCE verifier: encrypted; expires

The state itself is random (no Slack id in it) and only its hash names the key, so neither Redis nor the
link reveals who is connecting, and a look at Redis gives nothing that would complete someone's link.
`take` reads and deletes in one command (GETDEL): a state completes one callback at most.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import dataclass
from typing import cast

from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.accounts.crypto import TokenCipher, Unreadable
from bot.accounts.pkce import new_verifier
from bot.errors import StoreError

STATE_TTL_SECONDS = 600
MAX_STATE_CHARS = 128  # ours are 43; anything much longer did not come from us


@dataclass(frozen=True)
class PendingConnect:
    """Who asked for an authorize link, and the PKCE verifier that goes with it."""

    team: str
    user: str
    verifier: str

    def __repr__(self) -> str:
        return f"PendingConnect(team={self.team!r}, user={self.user!r})"


class ConnectStates:
    """Issues and takes back single-use OAuth states in Redis (a client with `decode_responses=True`)."""

    def __init__(
        self, redis: Redis, cipher: TokenCipher, *, prefix: str = "zapbot", ttl: int = STATE_TTL_SECONDS
    ) -> None:
        self._redis = redis
        self._cipher = cipher
        self._prefix = prefix
        self._ttl = ttl

    def __repr__(self) -> str:
        return f"ConnectStates(prefix={self._prefix!r}, ttl={self._ttl})"

    async def issue(self, team: str, user: str) -> tuple[str, PendingConnect]:
        """A new state bound to (team, user) with a fresh verifier; it expires after `ttl` seconds."""
        state = secrets.token_urlsafe(32)
        pending = PendingConnect(team, user, new_verifier())
        sealed = self._cipher.encrypt(
            json.dumps({"team": team, "user": user, "verifier": pending.verifier}).encode()
        )
        try:
            await self._redis.set(self._key(state), sealed, ex=self._ttl)
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc
        return state, pending

    async def take(self, state: str) -> PendingConnect | None:
        """The pending connection for `state`, removed at once; None when unknown, used or expired."""
        if not state or len(state) > MAX_STATE_CHARS:
            return None
        try:
            sealed = cast(str | None, await self._redis.getdel(self._key(state)))
        except RedisError as exc:
            raise StoreError(f"Redis did not answer ({type(exc).__name__}).") from exc
        if sealed is None:
            return None
        try:
            plain, _ = self._cipher.decrypt(sealed)
        except Unreadable:
            return None  # sealed with a key since removed: as good as expired
        fields = json.loads(plain)
        return PendingConnect(str(fields["team"]), str(fields["user"]), str(fields["verifier"]))

    def _key(self, state: str) -> str:
        digest = hashlib.sha256(state.encode("utf-8", "surrogateescape")).hexdigest()
        return f"{self._prefix}:oauth:state:{digest}"
