"""FakeZapierOAuth: Zapier's OAuth endpoints (the spec's `AccessPointOAuth`) on a running FakeZapier.

The spec describes an authorization-code flow at `/oauth/authorize/` and `/oauth/token/` on the API's
own host, scopes `openid nla:exposed_actions:execute`. This stand-in follows it with PKCE (S256) and the
usual OAuth 2 rules (RFC 6749, RFC 7636):

- `GET /oauth/authorize/` checks the request and, with no real person to ask, answers at once with a
  redirect to the `redirect_uri` carrying a fresh `code` and the `state` (or `error=access_denied` when
  told to `deny`). The person who "logs in" is `account`.
- `POST /oauth/token/` authenticates the client (HTTP Basic, or the id and secret in the form), then
  `grant_type=authorization_code`: the code once only, the same `redirect_uri`, and a `code_verifier`
  whose S256 is the challenge (anything else: `invalid_grant`); `grant_type=refresh_token`: rotates the
  refresh token (the old one stops working).
- Access tokens expire after `expires_in` seconds of the stand-in's clock (`advance` moves it on); the
  FakeZapier API then accepts a token as `Authorization: Bearer` only while it is valid.

Requests that break the protocol in a way the bot must never (no PKCE, a wrong scope) are added to the
FakeZapier's `violations`, which the `fake_zapier` fixture fails on.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import secrets
import time
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote_plus, urlencode, urlsplit

import aiohttp
from aiohttp import web

from tests.support.fakes._http import wait_until
from tests.support.fakes.zapier_server import FakeZapier

CLIENT_ID = "zapbot-oauth-client"
CLIENT_SECRET = "zapbot-oauth-client-secret"
REQUIRED_SCOPES = {"openid", "nla:exposed_actions:execute"}
CODE_SECONDS = 600


@dataclass
class TokenCall:
    """One request to the token endpoint, as received and as answered."""

    grant_type: str
    status: int
    error: str | None


@dataclass
class _Code:
    client_id: str
    redirect_uri: str
    challenge: str
    scope: str
    account: str
    expires_at: float


@dataclass
class _Grant:
    account: str
    scope: str
    expires_at: float


class FakeZapierOAuth:
    """Installs the OAuth endpoints on `zapier` and makes its API accept the tokens issued here."""

    def __init__(
        self,
        zapier: FakeZapier,
        *,
        client_id: str = CLIENT_ID,
        client_secret: str = CLIENT_SECRET,
        expires_in: int = 3600,
    ) -> None:
        self.zapier = zapier
        self.client_id = client_id
        self.client_secret = client_secret
        self.expires_in = expires_in
        self.account = "ada@example.com"  # who approves at the authorize page
        self.deny = False  # the person clicks "Deny"
        self.token_delay = 0.0  # seconds the token endpoint takes to answer
        self.fail_with: int | None = None  # the token endpoint answers this status (e.g. 503) instead
        self.token_calls: list[TokenCall] = []
        self.issued: list[str] = []  # every access and refresh token handed out, for leak checks
        self.offset = 0.0
        self._codes: dict[str, _Code] = {}
        self._access: dict[str, _Grant] = {}
        self._refresh: dict[str, _Grant] = {}
        zapier.extra_routes["/oauth/authorize/"] = self._authorize
        zapier.extra_routes["/oauth/token/"] = self._token
        zapier.accepts_bearer = self.valid

    # ---- what tests look at -----------------------------------------------------------------------------

    def now(self) -> float:
        return time.time() + self.offset

    def advance(self, seconds: float) -> None:
        """Move the stand-in's clock on (tokens expire by it)."""
        self.offset += seconds

    def valid(self, token: str) -> bool:
        """True while `token` is an unexpired access token issued here."""
        grant = self._access.get(token)
        return grant is not None and self.now() < grant.expires_at

    def account_of(self, token: str) -> str:
        return self._access[token].account

    def revoke_refresh_tokens(self) -> None:
        """The person removed the app at Zapier: every refresh token stops working."""
        self._refresh.clear()

    def refreshes(self) -> list[TokenCall]:
        return [c for c in self.token_calls if c.grant_type == "refresh_token"]

    def tokens_used(self, operation: str | None = None) -> list[str]:
        """The bearer token of each API call received (of `operation`, if given), in order."""
        requests = self.zapier.requests if operation is None else self.zapier.of(operation)
        return [r.headers.get("authorization", "").removeprefix("Bearer ") for r in requests]

    async def wait_for_token_calls(self, count: int, timeout: float = 5.0) -> list[TokenCall]:  # noqa: ASYNC109
        return await wait_until(lambda: self.token_calls, count, timeout, lambda: repr(self.token_calls))

    # ---- /oauth/authorize/ -----------------------------------------------------------------------------

    async def _authorize(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        problems = []
        if request.method != "GET":
            problems.append(f"authorize takes GET, not {request.method}")
        if query.get("response_type") != "code":
            problems.append("response_type must be code")
        if query.get("client_id") != self.client_id:
            problems.append("unknown client_id")
        redirect_uri = query.get("redirect_uri", "")
        if not redirect_uri.startswith(("https://", "http://")):
            problems.append("redirect_uri must be an absolute http(s) URL")
        missing = REQUIRED_SCOPES - set(query.get("scope", "").split(" "))
        if missing:
            problems.append(f"scope lacks {sorted(missing)}")
        if not query.get("state"):
            problems.append("no state (CSRF protection)")
        if query.get("code_challenge_method") != "S256" or len(query.get("code_challenge", "")) != 43:
            problems.append("PKCE: code_challenge (43 chars) with code_challenge_method=S256 required")
        if problems:
            self.zapier.violations += [f"GET /oauth/authorize/: {p}" for p in problems]
            return web.Response(status=400, text="; ".join(problems))
        answer: dict[str, str] = {"state": query["state"]}
        if self.deny:
            answer["error"] = "access_denied"
        else:
            code = secrets.token_urlsafe(24)
            self._codes[code] = _Code(
                self.client_id,
                redirect_uri,
                query["code_challenge"],
                query["scope"],
                self.account,
                self.now() + CODE_SECONDS,
            )
            answer["code"] = code
        joiner = "&" if "?" in redirect_uri else "?"
        raise web.HTTPFound(redirect_uri + joiner + urlencode(answer))

    # ---- /oauth/token/ ---------------------------------------------------------------------------------

    async def _token(self, request: web.Request) -> web.StreamResponse:
        form = dict(parse_qsl(await request.text()))
        grant_type = form.get("grant_type", "")
        if self.token_delay:
            await asyncio.sleep(self.token_delay)
        if self.fail_with is not None:
            return self._refuse(grant_type, self.fail_with, "server_error")
        if request.method != "POST" or request.content_type != "application/x-www-form-urlencoded":
            self.zapier.violations.append("/oauth/token/ takes a form-encoded POST")
            return self._refuse(grant_type, 400, "invalid_request")
        if not self._client_ok(request, form):
            return self._refuse(grant_type, 401, "invalid_client")
        if grant_type == "authorization_code":
            return self._exchange(form)
        if grant_type == "refresh_token":
            return self._rotate(form)
        return self._refuse(grant_type, 400, "unsupported_grant_type")

    def _client_ok(self, request: web.Request, form: dict[str, str]) -> bool:
        header = request.headers.get("Authorization", "")
        if header.startswith("Basic "):
            try:
                pair = base64.b64decode(header.removeprefix("Basic ")).decode()
            except ValueError:
                return False
            client_id, _, secret = pair.partition(":")
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
            if form.get("client_id", client_id) != client_id:
                return False  # two different clients named in one request
        else:
            client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
        return client_id == self.client_id and secrets.compare_digest(secret, self.client_secret)

    def _exchange(self, form: dict[str, str]) -> web.Response:
        grant_type = "authorization_code"
        verifier = form.get("code_verifier", "")
        if not verifier:
            self.zapier.violations.append("POST /oauth/token/: a PKCE code exchange needs code_verifier")
        code = self._codes.pop(form.get("code", ""), None)  # single-use, even when the rest is wrong
        if code is None or self.now() >= code.expires_at:
            return self._refuse(grant_type, 400, "invalid_grant")
        if form.get("redirect_uri") != code.redirect_uri:
            return self._refuse(grant_type, 400, "invalid_grant")
        digest = hashlib.sha256(verifier.encode()).digest()
        if base64.urlsafe_b64encode(digest).rstrip(b"=").decode() != code.challenge:
            return self._refuse(grant_type, 400, "invalid_grant")
        return self._issue(grant_type, code.account, code.scope)

    def _rotate(self, form: dict[str, str]) -> web.Response:
        grant = self._refresh.pop(form.get("refresh_token", ""), None)  # single-use: rotated each time
        if grant is None:
            return self._refuse("refresh_token", 400, "invalid_grant")
        return self._issue("refresh_token", grant.account, grant.scope)

    def _issue(self, grant_type: str, account: str, scope: str) -> web.Response:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        self._access[access] = _Grant(account, scope, self.now() + self.expires_in)
        self._refresh[refresh] = _Grant(account, scope, float("inf"))
        self.issued += [access, refresh]
        self.token_calls.append(TokenCall(grant_type, 200, None))
        body = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": self.expires_in,
            "refresh_token": refresh,
            "scope": scope,
        }
        return web.json_response(body, headers={"Cache-Control": "no-store"})

    def _refuse(self, grant_type: str, status: int, error: str) -> web.Response:
        self.token_calls.append(TokenCall(grant_type, status, error))
        return web.json_response({"error": error}, status=status, headers={"Cache-Control": "no-store"})


async def follow_authorize(http: aiohttp.ClientSession, authorize_url: str) -> str:
    """What the person's browser does with the connect link: open it and read where Zapier sends them.
    Returns the redirect's path and query (the bot's callback address, without its public host)."""
    async with http.get(authorize_url, allow_redirects=False) as response:
        assert response.status == 302, f"authorize answered {response.status}: {await response.text()}"
        location = urlsplit(response.headers["Location"])
    return f"{location.path}?{location.query}"
