"""Encryption at rest for what the account layer keeps in Redis (tokens, PKCE verifiers).

Fernet (AES-128-CBC with HMAC-SHA256) through MultiFernet: TOKEN_ENCRYPTION_KEY is a comma-separated list
of keys; the first encrypts, every one decrypts. To rotate: put a new key first and keep the old one after
it; each record is re-encrypted with the new key when next read (see `TokenStore`), after which the old
key may be removed.
"""

from __future__ import annotations

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from pydantic import SecretStr


class Unreadable(Exception):
    """No configured key decrypts this value (its key was removed, or it was altered)."""


class TokenCipher:
    """Encrypts and decrypts small values with the configured Fernet keys. Its repr shows no key."""

    def __init__(self, keys: SecretStr) -> None:
        fernets = [Fernet(key.strip()) for key in keys.get_secret_value().split(",") if key.strip()]
        if not fernets:
            raise ValueError("TOKEN_ENCRYPTION_KEY holds no key")
        self._primary = fernets[0]
        self._all = MultiFernet(fernets)
        self._count = len(fernets)

    def __repr__(self) -> str:
        return f"TokenCipher(keys={self._count})"

    def encrypt(self, plain: bytes) -> str:
        return self._primary.encrypt(plain).decode("ascii")

    def decrypt(self, sealed: str) -> tuple[bytes, bool]:
        """The plain bytes, and whether they were sealed with an older key (then re-encrypt them)."""
        data = sealed.encode("ascii")
        try:
            return self._primary.decrypt(data), False
        except InvalidToken:
            pass
        try:
            return self._all.decrypt(data), True
        except InvalidToken:
            raise Unreadable from None
