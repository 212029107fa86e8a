"""Per-user Zapier accounts in tests: connecting a person through the real callback route, and reading
everything Redis holds (to prove no token is kept in clear)."""

from __future__ import annotations

import aiohttp
from cryptography.fernet import Fernet

from bot.accounts import Accounts
from bot.store import connect
from tests.support.bot_server import RunningBot
from tests.support.fakes.zapier_oauth import FakeZapierOAuth, follow_authorize

ACCOUNTS_KEY = (
    Fernet.generate_key().decode()
)  # TOKEN_ENCRYPTION_KEY of `accounts_settings` (tests/conftest.py)


async def connect_person(
    bot: RunningBot,
    accounts: Accounts,
    oauth: FakeZapierOAuth,
    http: aiohttp.ClientSession,
    user: str,
    *,
    team: str = "T1",
) -> None:
    """`user` opens the connect link and approves at Zapier as `user@example.com`."""
    oauth.account = f"{user}@example.com"
    callback = await follow_authorize(http, await accounts.connect_url(team, user))
    async with http.get(bot.url + callback) as response:
        assert response.status == 200, await response.text()


async def dump_redis(url: str) -> str:
    """Every key and value in the database, whatever its type, as one text (values raw: DUMP too)."""
    redis = connect(url)
    parts: list[str] = []
    try:
        async for key in redis.scan_iter("*"):
            kind = await redis.type(key)
            # DUMP is binary: NEVER_DECODE keeps it from this decoding client (execute_command has no types).
            raw = await redis.execute_command("DUMP", key, NEVER_DECODE=True)  # type: ignore[no-untyped-call]
            parts += [key, str(kind), repr(raw)]
            if kind == "string":
                parts.append(str(await redis.get(key)))
            elif kind == "hash":
                parts.append(repr(await redis.hgetall(key)))
    finally:
        await redis.aclose()
    return "\n".join(parts)
