"""PKCE (RFC 7636) with the S256 method: a random verifier, and the challenge derived from it."""

from __future__ import annotations

import base64
import hashlib
import secrets


def new_verifier() -> str:
    """A fresh code verifier: 86 characters from the unreserved set (RFC 7636 allows 43 to 128)."""
    return secrets.token_urlsafe(64)


def s256_challenge(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(verifier))), without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
