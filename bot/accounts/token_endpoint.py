"""Zapier's OAuth token endpoint (`/oauth/token/` on `ZAPIER_BASE_URL`): exchange a code, refresh a token.

This is the OAuth wire beside the Zapier API client (bot/zapier/client.py), on the same shared httpx
client. The client authenticates with HTTP Basic (RFC 6749 section 2.3.1, the method every OAuth server
must accept) and names itself in the form too (`client_id`, as Zapier's documentation of the exchange
shows); the code exchange carries the PKCE verifier. Nothing here logs or formats a token.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from urllib.parse import quote_plus

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from bot.accounts.config import OAuthConfig
from bot.accounts.errors import GrantRejected
from bot.errors import ZapierConnectionError, ZapierResponseError
from bot.zapier.client import status_error

TOKEN_TIMEOUT = httpx.Timeout(10.0)  # a token answer is quick; the shared client's 90 s is for actions


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint granted. `expires_in` in seconds (None: Zapier did not say)."""

    access_token: SecretStr
    refresh_token: SecretStr | None
    expires_in: float | None
    scope: str | None


class _TokenAnswer(BaseModel):
    access_token: str
    token_type: str
    expires_in: float | None = None
    refresh_token: str | None = None
    scope: str | None = None


class _ErrorAnswer(BaseModel):
    error: str


class TokenEndpoint:
    """Calls the token endpoint with the bot's OAuth client credentials."""

    def __init__(self, http: httpx.AsyncClient, config: OAuthConfig) -> None:
        self._http = http
        self._config = config
        pair = f"{quote_plus(config.client_id)}:{quote_plus(config.client_secret.get_secret_value())}"
        self._basic = SecretStr("Basic " + base64.b64encode(pair.encode()).decode("ascii"))

    def __repr__(self) -> str:
        return f"TokenEndpoint(token_url={self._config.token_url!r})"

    async def exchange(self, code: str, verifier: str) -> TokenGrant:
        """Trade an authorization code (and its PKCE verifier) for tokens. GrantRejected if refused."""
        return await self._ask(
            {
                "grant_type": "authorization_code",
                "code": code,
                "redirect_uri": self._config.redirect_uri,
                "code_verifier": verifier,
            }
        )

    async def refresh(self, refresh_token: SecretStr) -> TokenGrant:
        """New tokens for a refresh token. GrantRejected if refused (e.g. `invalid_grant`: revoked)."""
        return await self._ask(
            {"grant_type": "refresh_token", "refresh_token": refresh_token.get_secret_value()}
        )

    async def _ask(self, form: dict[str, str]) -> TokenGrant:
        headers = {"authorization": self._basic.get_secret_value(), "accept": "application/json"}
        # The client id in the form as well: Zapier's documentation of the exchange lists it there.
        form = {**form, "client_id": self._config.client_id}
        try:
            response = await self._http.post(
                self._config.token_url, data=form, headers=headers, timeout=TOKEN_TIMEOUT
            )
        except httpx.TimeoutException as exc:
            raise ZapierConnectionError(
                "Zapier's token endpoint did not answer in time.", timed_out=True
            ) from exc
        except httpx.TransportError as exc:
            raise ZapierConnectionError(
                f"Could not reach Zapier's token endpoint ({type(exc).__name__}).", timed_out=False
            ) from exc
        if response.status_code in (400, 401):
            raise GrantRejected(response.status_code, _oauth_error(response))
        if response.status_code >= 300:
            raise status_error(response)
        try:
            answer = _TokenAnswer.model_validate_json(response.content)
        except ValidationError:
            # Not `from exc`: pydantic's error would quote the input, which holds the tokens.
            raise ZapierResponseError("Zapier's token answer is not a valid OAuth token response.") from None
        if answer.token_type.lower() != "bearer":
            raise ZapierResponseError(
                f"Zapier's token answer has token_type {answer.token_type!r}, not Bearer."
            )
        return TokenGrant(
            access_token=SecretStr(answer.access_token),
            refresh_token=SecretStr(answer.refresh_token) if answer.refresh_token else None,
            expires_in=answer.expires_in,
            scope=answer.scope,
        )


def _oauth_error(response: httpx.Response) -> str:
    """The OAuth error code (`invalid_grant`, `invalid_client`, ...), or the HTTP reason without one."""
    try:
        return _ErrorAnswer.model_validate(response.json()).error[:100]
    except (json.JSONDecodeError, UnicodeDecodeError, ValidationError):
        return response.reason_phrase or "refused"
