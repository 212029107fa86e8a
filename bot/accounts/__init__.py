"""Per-user Zapier accounts (issue 18): each person connects their own Zapier account over OAuth.

config.py          which settings turn it on; what is missing when half configured
pkce.py            PKCE S256 verifier and challenge
crypto.py          Fernet/MultiFernet encryption at rest, with key rotation
states.py          single-use OAuth states in Redis (10 minutes)
token_endpoint.py  Zapier's /oauth/token/: code exchange and refresh
tokens.py          people's tokens in Redis: encrypted, refreshed once, one refresh at a time
accounts.py        `Accounts`, the interface the rest of the bot uses, and `build_accounts`
callback.py        the redirect URI's aiohttp route
errors.py          the errors it raises
"""

from bot.accounts.accounts import Accounts, Connected, build_accounts
from bot.accounts.callback import ConnectedNotifier, callback_route
from bot.accounts.config import CALLBACK_PATH, account_setting_problems
from bot.accounts.errors import (
    AccountError,
    AccountsMisconfigured,
    GrantRejected,
    NotConnected,
    ReconnectNeeded,
    StateInvalid,
)

__all__ = [
    "CALLBACK_PATH",
    "AccountError",
    "Accounts",
    "AccountsMisconfigured",
    "Connected",
    "ConnectedNotifier",
    "GrantRejected",
    "NotConnected",
    "ReconnectNeeded",
    "StateInvalid",
    "account_setting_problems",
    "build_accounts",
    "callback_route",
]
