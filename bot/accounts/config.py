"""Per-user accounts' configuration: which settings turn them on, and what is missing when half set."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import SecretStr

from bot.accounts.errors import AccountsMisconfigured
from bot.settings import Settings

CALLBACK_PATH = "/zapier/oauth/callback"  # served by the bot; the redirect URI is PUBLIC_URL + this
AUTHORIZE_PATH = "/oauth/authorize/"  # on ZAPIER_BASE_URL (the spec's AccessPointOAuth)
TOKEN_PATH = "/oauth/token/"  # noqa: S105 - a URL path, not a password
SCOPE = "openid nla:exposed_actions:execute"


@dataclass(frozen=True)
class OAuthConfig:
    """The bot's OAuth client at Zapier. The secret is a SecretStr: a repr shows `**********`."""

    client_id: str
    client_secret: SecretStr
    redirect_uri: str
    authorize_url: str
    token_url: str
    encryption_keys: SecretStr  # TOKEN_ENCRYPTION_KEY: Fernet keys, comma-separated, the first encrypts
    scope: str = SCOPE


def account_setting_problems(settings: Settings) -> list[str]:
    """Each missing piece when per-user accounts are half configured; empty when fully on or fully off.

    Per-user accounts are on when ZAPIER_OAUTH_CLIENT_ID and ZAPIER_OAUTH_CLIENT_SECRET are both set.
    Setting any of the four account settings without the rest is reported too (it is surely a mistake).
    """
    given = {
        "ZAPIER_OAUTH_CLIENT_ID": settings.zapier_oauth_client_id is not None,
        "ZAPIER_OAUTH_CLIENT_SECRET": settings.zapier_oauth_client_secret is not None,
        "PUBLIC_URL": settings.public_url is not None,
        "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key is not None,
    }
    client = ("ZAPIER_OAUTH_CLIENT_ID", "ZAPIER_OAUTH_CLIENT_SECRET")
    if not any(given[name] for name in client):
        # Off. PUBLIC_URL may serve other features; a lone encryption key is a leftover worth naming.
        if given["TOKEN_ENCRYPTION_KEY"]:
            return [
                "TOKEN_ENCRYPTION_KEY is set but per-user accounts are off "
                "(set ZAPIER_OAUTH_CLIENT_ID and ZAPIER_OAUTH_CLIENT_SECRET, or unset it)"
            ]
        return []
    why = {
        "ZAPIER_OAUTH_CLIENT_ID": "the OAuth client's id, from Zapier's developer platform",
        "ZAPIER_OAUTH_CLIENT_SECRET": "the OAuth client's secret, from Zapier's developer platform",
        "PUBLIC_URL": f"the bot's public base URL; Zapier sends people back to PUBLIC_URL{CALLBACK_PATH}",
        "TOKEN_ENCRYPTION_KEY": "a Fernet key that encrypts people's tokens in Redis",
    }
    return [
        f"{name} is not set ({why[name]}); per-user accounts need it" for name, ok in given.items() if not ok
    ]


def oauth_config(settings: Settings) -> OAuthConfig | None:
    """The OAuth client's configuration; None when per-user accounts are off.

    Raises `AccountsMisconfigured` naming every missing setting when they are half configured."""
    if problems := account_setting_problems(settings):
        raise AccountsMisconfigured(problems)
    if settings.zapier_oauth_client_id is None:
        return None
    # Checked above: with the client set, every other account setting is too.
    assert settings.zapier_oauth_client_secret is not None
    assert settings.public_url is not None
    assert settings.token_encryption_key is not None
    return OAuthConfig(
        client_id=settings.zapier_oauth_client_id,
        client_secret=settings.zapier_oauth_client_secret,
        redirect_uri=settings.public_url + CALLBACK_PATH,
        authorize_url=settings.zapier_base_url + AUTHORIZE_PATH,
        token_url=settings.zapier_base_url + TOKEN_PATH,
        encryption_keys=settings.token_encryption_key,
    )
