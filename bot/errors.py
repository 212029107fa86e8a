"""The error tree. Every error the bot raises on purpose derives from `BotError`.

    BotError
    ├── UsageError                 the command text does not fit the grammar (shown with the help text)
    ├── ZapierError                talking to Zapier went wrong
    │   ├── ZapierConnectionError  no answer: refused, reset, or timed out (`timed_out` tells which)
    │   ├── ZapierStatusError      an HTTP error status (`status_code`, Zapier's `error` and `detail`)
    │   │   ├── ZapierAuthError        401/403: the API key (or a person's token) was rejected
    │   │   ├── ZapierRateLimited      429 (`retry_after` seconds, when given)
    │   │   ├── ZapierServerError      5xx
    │   │   └── ZapierRejected         400/412/422 and other 4xx: Zapier refused the request
    │   └── ZapierResponseError    a 2xx whose body is not JSON or breaks the API contract
    ├── SharedKeyMissing           the shared Zapier account is asked for, but ZAPIER_API_KEY is not set
    └── StoreError                 Redis did not answer

Messages never contain secrets: the API key travels only in a header and is never formatted.
"""

from __future__ import annotations


class BotError(Exception):
    """Root of every error the bot raises deliberately."""


class UsageError(BotError):
    """The command text could not be understood; `problem` says what is wrong, in the user's terms."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


class ZapierError(BotError):
    """Talking to Zapier failed."""


class ZapierConnectionError(ZapierError):
    """No HTTP answer from Zapier: the connection failed or the request timed out."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class ZapierStatusError(ZapierError):
    """Zapier answered with an HTTP error status."""

    def __init__(self, status_code: int, error: str, detail: str | None = None) -> None:
        super().__init__(f"Zapier answered HTTP {status_code}: {error}" + (f" ({detail})" if detail else ""))
        self.status_code = status_code
        self.error = error
        self.detail = detail


class ZapierAuthError(ZapierStatusError):
    """Zapier rejected the credentials (401 or 403): the API key, or a person's token when `personal`."""

    personal: bool = False  # set by the client when the call carried a person's OAuth token


class ZapierRateLimited(ZapierStatusError):
    """Zapier asked us to slow down (429)."""

    def __init__(self, status_code: int, error: str, detail: str | None = None, *, retry_after: float | None):
        super().__init__(status_code, error, detail)
        self.retry_after = retry_after


class ZapierServerError(ZapierStatusError):
    """Zapier failed on its side (5xx)."""


class ZapierRejected(ZapierStatusError):
    """Zapier refused the request as given (400, 412, 422 or another 4xx)."""


class ZapierResponseError(ZapierError):
    """A success status whose body is not JSON or does not fit the API contract."""


class SharedKeyMissing(BotError):
    """Something asked for zapbot's shared Zapier account (the policy's `run_as: shared`, or a call made
    without a person's token) while ZAPIER_API_KEY is not set (per-user accounts only): nothing was sent."""

    def __init__(self) -> None:
        super().__init__(
            "This runs with zapbot's shared Zapier account (run_as: shared), but no ZAPIER_API_KEY is set."
        )


class StoreError(BotError):
    """Redis could not be reached or failed to answer."""
