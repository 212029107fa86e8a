"""Whether Slack still accepts the bot token: lost on uninstall or revocation, found again by `auth.test`.

Slack says so in three ways: the `app_uninstalled` and `tokens_revoked` events (subscribed in manifest.yml),
and `invalid_auth` / `token_revoked` / `account_inactive` answered to any Web API call (the bot's clients
report each refusal here, bot/slack/metered.py). From then on:

- background work that calls Slack waits: the outbox's delivery claims nothing (what is queued stays
  queued) and the run keeper leaves expiry and orphans for later (bot/runs/delivery.py, keeper.py);
- one ERROR is logged, `/readyz` answers 503 naming `slack`, and `zapbot_slack_token_revoked` is 1;
- every `recheck_seconds` an `auth.test` asks whether the token works again (reinstalled, reactivated);
  when it does, all of that resumes and one line says so.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.ops.metrics import Metrics
from bot.ops.stopping import AFTER_CANCEL_SECONDS, wait_stopped

log = logging.getLogger(__name__)

# Slack's answers that mean the token itself no longer works (not this one call).
REVOKED_ERRORS = frozenset({"invalid_auth", "token_revoked", "account_inactive"})
# Methods called with another token than the bot's (the app-level token of Socket Mode).
OTHER_TOKEN_METHODS = frozenset({"apps.connections.open"})
RECHECK_SECONDS = 30.0


class SlackAccess:
    """The bot token's standing with Slack, shared by everything that calls Slack."""

    def __init__(self, metrics: Metrics, *, recheck_seconds: float = RECHECK_SECONDS) -> None:
        self._metrics = metrics
        self._recheck_seconds = recheck_seconds
        self._check: Callable[[], Awaitable[Any]] | None = None
        self._why: str | None = None
        self._task: asyncio.Task[None] | None = None
        metrics.slack_token_revoked(False)

    def use_check(self, check: Callable[[], Awaitable[Any]]) -> None:
        """The call that proves the token works (the bot client's `auth_test`); it raises when it does not."""
        self._check = check

    @property
    def usable(self) -> bool:
        return self._why is None

    def problem(self) -> str | None:
        """None while Slack accepts the token, else why not (for `/readyz`; never the token)."""
        if self._why is None:
            return None
        why = self._why
        return f"Slack no longer accepts the bot token ({why}): reinstall the app or check SLACK_BOT_TOKEN"

    def noticed(self, method: str, error: str) -> None:
        """A Web API call was refused with `error`: the token is lost if that is what it means."""
        if error in REVOKED_ERRORS and method not in OTHER_TOKEN_METHODS:
            self.lost(error)

    def lost(self, why: str) -> None:
        """Slack no longer accepts the token: pause, say so once, and start checking for its return."""
        if self._why is not None:
            return
        self._why = why
        self._metrics.slack_token_revoked(True)
        log.error(
            "Slack no longer accepts the bot token (%s): background work that calls Slack is paused; "
            "rechecking every %.0f s",
            why,
            self._recheck_seconds,
        )
        if self._check is not None and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self._recheck(), name="slack-access-recheck")

    def restored(self) -> None:
        if self._why is None:
            return
        self._why = None
        self._metrics.slack_token_revoked(False)
        log.warning("Slack accepts the bot token again: background work resumes")

    async def close(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            await wait_stopped("the Slack token recheck", task, AFTER_CANCEL_SECONDS)

    async def _recheck(self) -> None:
        assert self._check is not None
        while self._why is not None:
            await asyncio.sleep(self._recheck_seconds)
            try:
                await self._check()
            except Exception as exc:
                log.info("Slack still refuses the bot token (%s)", type(exc).__name__)
                continue
            self.restored()


def register(app: AsyncApp, access: SlackAccess) -> None:
    """Listen for Slack's own word that the token is gone (both events must be subscribed to arrive)."""

    @app.event("app_uninstalled")
    async def on_uninstalled(event: dict[str, Any]) -> None:
        access.lost("app_uninstalled")

    @app.event("tokens_revoked")
    async def on_tokens_revoked(event: dict[str, Any]) -> None:
        # `tokens.bot` lists bot users whose tokens were revoked; `tokens.oauth` user tokens (we hold none).
        tokens = event.get("tokens")
        if isinstance(tokens, dict) and tokens.get("bot"):
            access.lost("tokens_revoked")
