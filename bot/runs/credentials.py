"""Whose Zapier account a preview or a run uses (the policy's `run_as`), and calling Zapier with it.

- `requester`: the requester's own account previews and runs it, whoever confirms (the default when
  per-user accounts are on, bot/accounts/);
- `confirmer`: the requester's account previews it, the confirming person's account runs it;
- `shared`: the bot's ZAPIER_API_KEY (the default when per-user accounts are off); refused, with nothing
  sent to Zapier, when per-user accounts are on and no key is set (`SharedKeyMissing`).
A person without a connected account is told so (with the connect link) and nothing is sent to Zapier.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.accounts import Accounts, AccountsMisconfigured
from bot.approvals.policy import RunAs
from bot.errors import SharedKeyMissing
from bot.zapier.client import Auth

T = TypeVar("T")
SHARED = ""  # the account of `shared` runs: no person's


class Credentials:
    def __init__(self, accounts: Accounts | None, *, shared_key: bool = True) -> None:
        self.accounts = accounts
        self.shared_key = shared_key  # whether ZAPIER_API_KEY is set: `shared` is refused without it

    def mode(self, run_as: RunAs | None) -> RunAs:
        if run_as is not None:
            return run_as
        return "requester" if self.accounts is not None else "shared"

    @staticmethod
    def preview_account(mode: str, requester: str) -> str:
        """Whose account asks for the preview: the requester's, unless the shared one runs it."""
        return SHARED if mode == "shared" else requester

    @staticmethod
    def run_account(mode: str, requester: str, confirmer: str) -> str:
        return {"requester": requester, "confirmer": confirmer}.get(mode, SHARED)

    async def ready(self, team: str, user: str) -> bool:
        """Whether `user`'s account (or the shared one, for SHARED) can be used now."""
        if user == SHARED:
            return self.shared_key
        return self.accounts is not None and await self.accounts.connected(team, user)

    async def call(
        self, team: str, user: str, call: Callable[[Auth | None], Awaitable[T]], *, write: bool
    ) -> T:
        """`call(auth)` as `user` (SHARED: the API key). A rejected token is refreshed once; a write is never
        sent twice. Raises NotConnected / ReconnectNeeded (bot/accounts/) when the person must connect, and
        SharedKeyMissing for SHARED without a key: in each case nothing was sent."""
        if user == SHARED:
            if not self.shared_key:
                raise SharedKeyMissing
            return await call(None)
        if self.accounts is None:
            # The policy asks for people's own accounts, which this zapbot was not set up with.
            raise AccountsMisconfigured(
                ["ZAPIER_OAUTH_CLIENT_ID and ZAPIER_OAUTH_CLIENT_SECRET (docs/accounts.md)"]
            )
        return await self.accounts.call_as(team, user, call, retry_if_rejected=not write)

    async def connect_url(self, team: str, user: str) -> str | None:
        return await self.accounts.connect_url(team, user) if self.accounts is not None else None
