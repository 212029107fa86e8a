"""Slack's rate limits, as the realistic FakeSlack applies them: token buckets on a clock tests can move.

Slack (NOTES.md, "Slack under load and at its edges"): limits are per method, per app, per workspace, in
tiers of 1+, 20+, 50+ and 100+ calls a minute; ``chat.postMessage`` is special: about 1 a second per
channel with short bursts. Over a limit Slack answers HTTP 429, ``Retry-After: <seconds>`` and
``{"ok": false, "error": "ratelimited"}``.

Each limit is a token bucket (``Rate``: ``per_second`` refill, ``burst`` capacity). A test that wants the
same shape faster sets higher rates (``SlackLimits.scaled(10)``), or moves the clock (``SlackClock.advance``)
instead of sleeping.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field, replace


class SlackClock:
    """Monotonic seconds plus an offset a test may add to (``advance``) instead of sleeping.

    ``freeze()`` stops it (only ``advance`` moves it then), so a test can count a burst exactly on a slow
    machine; ``thaw()`` lets it run again from where it stands.
    """

    def __init__(self) -> None:
        self._offset = 0.0
        self._frozen_at: float | None = None

    def now(self) -> float:
        return self._frozen_at if self._frozen_at is not None else time.monotonic() + self._offset

    def advance(self, seconds: float) -> None:
        """Make ``seconds`` pass at once for every time-based rule of the stand-in."""
        if self._frozen_at is not None:
            self._frozen_at += seconds
        else:
            self._offset += seconds

    def freeze(self) -> None:
        self._frozen_at = self.now()

    def thaw(self) -> None:
        if self._frozen_at is not None:
            self._offset = self._frozen_at - time.monotonic()
            self._frozen_at = None


@dataclass(frozen=True)
class Rate:
    """A token bucket: ``burst`` calls at once, then ``per_second`` calls a second."""

    per_second: float
    burst: int

    @classmethod
    def per_minute(cls, calls: int, burst: int | None = None) -> Rate:
        """Slack's tiers are stated per minute; by default the whole minute's allowance may come at once."""
        return cls(calls / 60, burst if burst is not None else calls)


TIER_1 = Rate.per_minute(1, burst=3)  # "a small amount of burst behavior is tolerated"
TIER_2 = Rate.per_minute(20)
TIER_3 = Rate.per_minute(50)
TIER_4 = Rate.per_minute(100)

# The tier of each Web API method zapbot calls or may call (Slack's method reference lists the tier).
METHOD_TIERS: dict[str, Rate] = {
    "auth.test": TIER_4,
    "apps.connections.open": TIER_1,
    "chat.update": TIER_3,
    "chat.delete": TIER_3,
    "chat.postEphemeral": TIER_4,
    "chat.getPermalink": TIER_4,
    "views.open": TIER_4,
    "views.update": TIER_4,
    "views.push": TIER_4,
    "views.publish": TIER_4,
    "usergroups.users.list": TIER_2,
    "users.info": TIER_4,
    "conversations.info": TIER_3,
    "conversations.replies": TIER_3,
    "conversations.history": TIER_3,
    "files.getUploadURLExternal": TIER_4,
    "files.completeUploadExternal": TIER_4,
    "files.info": TIER_4,
}


@dataclass
class SlackLimits:
    """Every rate the realistic stand-in enforces; a test may replace any of them before or during a run."""

    post_message_per_channel: Rate = Rate(per_second=1.0, burst=3)
    methods: dict[str, Rate] = field(default_factory=lambda: dict(METHOD_TIERS))

    def scaled(self, factor: float) -> SlackLimits:
        """The same limits with every refill ``factor`` times faster (bursts unchanged)."""
        return SlackLimits(
            replace(
                self.post_message_per_channel, per_second=self.post_message_per_channel.per_second * factor
            ),
            {m: replace(r, per_second=r.per_second * factor) for m, r in self.methods.items()},
        )


@dataclass
class RateLimited:
    """One 429 the stand-in gave: the method, the bucket (a channel or ``workspace``), when, and the wait."""

    method: str
    scope: str
    at: float
    retry_after: int


@dataclass
class _Bucket:
    tokens: float
    updated: float


class RateLimiter:
    """Decides, call by call, whether Slack would take it now; remembers every refusal in ``refused``."""

    def __init__(self, limits: SlackLimits, clock: SlackClock) -> None:
        self.limits = limits
        self.clock = clock
        self.refused: list[RateLimited] = []
        self._buckets: dict[tuple[str, str], _Bucket] = {}

    def check(self, method: str, channel: str | None) -> int | None:
        """Take a token for this call; None if allowed, else the ``Retry-After`` seconds to answer."""
        if method == "chat.postMessage":
            rate, scope = self.limits.post_message_per_channel, channel or "?"
        elif method in self.limits.methods:
            rate, scope = self.limits.methods[method], "workspace"
        else:
            return None
        now = self.clock.now()
        bucket = self._buckets.setdefault((method, scope), _Bucket(float(rate.burst), now))
        bucket.tokens = min(float(rate.burst), bucket.tokens + (now - bucket.updated) * rate.per_second)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            return None
        wait = max(1, math.ceil((1.0 - bucket.tokens) / rate.per_second)) if rate.per_second > 0 else 60
        self.refused.append(RateLimited(method, scope, now, wait))
        return wait
