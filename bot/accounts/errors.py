"""The account layer's errors, under the bot's root `BotError`.

    BotError
    └── AccountError               a person's Zapier account could not be used or connected
        ├── AccountsMisconfigured  per-user accounts are half configured (`problems` names each piece)
        ├── NotConnected           this person has not connected a Zapier account
        ├── ReconnectNeeded        the stored tokens no longer work: the person must connect again
        ├── StateInvalid           a callback's `state` is unknown, already used, or expired
        └── GrantRejected          Zapier's token endpoint refused a code or a refresh token

Talking to the token endpoint can also raise the Zapier client's own errors (`ZapierConnectionError`,
`ZapierServerError`, ...): those are temporary, and nothing is deleted for them.
Messages never contain a token, a code, a verifier or a state.
"""

from __future__ import annotations

from bot.errors import BotError


class AccountError(BotError):
    """A person's Zapier account could not be used or connected."""


class AccountsMisconfigured(AccountError):
    """Per-user accounts are on (or half on) but a setting they need is missing."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("Per-user Zapier accounts are not fully configured: " + "; ".join(problems))
        self.problems = problems


class NotConnected(AccountError):
    """The person (`team`, `user`) has no Zapier account connected."""

    def __init__(self, team: str, user: str) -> None:
        super().__init__("No Zapier account is connected for this person.")
        self.team = team
        self.user = user


class ReconnectNeeded(AccountError):
    """The person's tokens were refused (or can no longer be read): they must connect again.

    `reason` is for logs (an OAuth error code such as `invalid_grant`, or `unreadable`), never a secret."""

    def __init__(self, team: str, user: str, reason: str) -> None:
        super().__init__(f"The Zapier account must be connected again ({reason}).")
        self.team = team
        self.user = user
        self.reason = reason


class StateInvalid(AccountError):
    """The `state` of an OAuth callback is unknown, was already used, or has expired."""


class GrantRejected(AccountError):
    """Zapier's token endpoint refused the grant: `error` is the OAuth error code (RFC 6749 section 5.2)."""

    def __init__(self, status_code: int, error: str) -> None:
        super().__init__(f"Zapier's token endpoint answered HTTP {status_code}: {error}")
        self.status_code = status_code
        self.error = error
