"""Settings: the only place the environment (and `.env`) is read."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, ClassVar, Literal

from cryptography.fernet import Fernet
from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_core import PydanticCustomError
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from bot.ratings.emoji import parse_rating_emoji

PLACEHOLDER_MESSAGE = "is a placeholder (as in .env.example), not a real value"

__all__ = [
    "FAST_PATHS",
    "ConsoleSettings",
    "Settings",
    "ValidationError",
    "describe_settings_error",
    "is_placeholder",
]

# What ZAPBOT_FAST_PATHS switches: every behaviour that exists only for bursts (bench/README.md has each
# one's figure, on and off). Off, the bot is plain Bolt behind aiohttp.
FAST_PATHS = frozenset({"acks", "reactions", "give_way", "gc_pause", "transport"})


class Settings(BaseSettings):
    """Everything the bot needs to run, read from environment variables of the same name (upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr
    # Socket Mode (an app-level `xapp-` token) receives everything over a WebSocket the bot opens, so it
    # needs no signing secret and no public URL; HTTP mode checks every request with the signing secret.
    # (The app token comes first: the signing secret's check reads it.)
    slack_app_token: SecretStr | None = None
    slack_signing_secret: SecretStr | None = Field(
        default=None, validate_default=True, description="required unless SLACK_APP_TOKEN is set"
    )
    slack_api_url: str = "https://slack.com/api/"
    # Per-user Zapier accounts (docs/accounts.md): on when the OAuth client's id and secret are both set.
    # (Before ZAPIER_API_KEY: its check reads them.)
    zapier_oauth_client_id: str | None = None
    zapier_oauth_client_secret: SecretStr | None = None
    # The shared account's AI Actions key: what every run uses without per-user accounts; with them, only
    # what the policy runs `run_as: shared` (refused when unset).
    zapier_api_key: SecretStr | None = Field(
        default=None,
        validate_default=True,
        description="required unless ZAPIER_OAUTH_CLIENT_ID and ZAPIER_OAUTH_CLIENT_SECRET are set",
    )
    zapier_base_url: str = "https://actions.zapier.com"
    zapier_provider_id: str | None = None
    # Also how long a shutdown waits for the runs in flight (bot/slack/app.py).
    zapier_timeout_seconds: float = Field(default=90.0, gt=0, le=600)
    # Zapier calls in flight at once (its connection pool): past it a call waits for a connection. As many as
    # the background tasks, so that a burst the bot accepts is not spread into waves of Zapier's latency.
    zapier_max_connections: int = Field(default=1000, ge=1, le=100_000)
    slack_timeout_seconds: float = Field(default=15.0, gt=0, le=120)  # any one Slack Web API call
    # How fast the bot posts in one channel: Slack takes about 1 message a second, in short bursts.
    slack_channel_posts_per_second: float = Field(default=1.0, gt=0, le=100)
    slack_channel_post_burst: int = Field(default=3, ge=1, le=100)
    public_url: str | None = None  # the bot's public base URL; the OAuth redirect URI is a path under it
    token_encryption_key: SecretStr | None = None  # Fernet keys, comma-separated: the first encrypts
    redis_url: str = "redis://localhost:6379/0"
    preview_ttl_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    max_background_tasks: int = Field(default=1000, ge=1, le=100_000)
    # Previews and runs one person (and one channel) may ask for a minute, in bursts up to that; 0: no limit.
    limit_person_per_minute: int = Field(default=10, ge=0, le=100_000)
    limit_channel_per_minute: int = Field(default=30, ge=0, le=100_000)
    # A running run's lease: renewed by its process; when it lapses, any replica ends the run as unknown.
    run_lease_seconds: float = Field(default=30.0, ge=1, le=600)
    # The outbox's heartbeat: when a process's lapses (killed), another replica takes over what it was
    # sending after this long, instead of after the 20 s a send may take.
    outbox_lease_seconds: float = Field(default=3.0, ge=0.5, le=60)
    # Finding actions (plain English, look-ups, the form)
    guess_count: int = Field(default=5, ge=1, le=25)  # candidates asked of guess-actions
    lookup_cache_seconds: int = Field(default=300, ge=1, le=24 * 3600)  # app and action searches
    options_wait_seconds: float = Field(default=2.0, gt=0, le=2.5)  # a menu's look-up, within Slack's 3 s
    host: str = "0.0.0.0"  # noqa: S104 - a service listens on all interfaces by default; HOST narrows it
    port: int = Field(default=3000, ge=0, le=65535)
    # Team confirmation (docs/policy.md): rules file, audit stream cap, user group cache.
    policy_file: Path | None = None
    audit_max_entries: int = Field(default=100_000, ge=100, le=10_000_000)
    usergroup_cache_seconds: int = Field(default=300, ge=0, le=24 * 3600)
    # The App Home shows a preview that anyone in its channel may confirm to the people seen acting with
    # zapbot in that channel within this many days (bot/home/presence.py).
    home_seen_days: float = Field(default=7.0, gt=0, le=90)
    log_format: Literal["text", "json"] = "text"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    readiness_cache_seconds: float = Field(default=30.0, ge=0, le=3600)
    # Ratings (README "Ratings"): which emoji count, and how ratings travel to Zapier.
    # "+1 heart | -1 x": 👍 names, `|`, 👎 names; empty = the default mapping
    rating_emoji: str = Field(default="", description="'👍 names | 👎 names'; empty: the default mapping")
    rating_delay_seconds: float = Field(default=2.0, ge=0, le=3600)  # change -> delivery; coalesces bursts
    rating_retry_seconds: float = Field(default=5.0, gt=0, le=3600)  # first backoff; doubles per failure
    rating_retry_max_seconds: float = Field(default=600.0, gt=0, le=86400)
    rating_timeout_seconds: float = Field(default=10.0, gt=0, le=120)  # one rate call
    workers: int = Field(default=1, ge=1, le=64)  # processes serving PORT together (bot/ops/workers.py)

    # The console and the demo talk to Zapier and Redis only: they neither need nor check Slack's settings.
    slack_settings_checked: ClassVar[bool] = True

    @field_validator(
        "slack_bot_token", "slack_app_token", "slack_signing_secret", "zapier_api_key", mode="before"
    )
    @classmethod
    def _not_a_placeholder(cls, value: object, info: ValidationInfo) -> object:
        # e.g. `xoxb-...` left from .env.example: it would fail at the first call, far from the cause.
        raw = value.get_secret_value() if isinstance(value, SecretStr) else value
        checked = cls.slack_settings_checked or not str(info.field_name).startswith("slack_")
        if checked and isinstance(raw, str) and is_placeholder(raw):
            raise PydanticCustomError("placeholder", PLACEHOLDER_MESSAGE)
        return value

    # Burst behaviours (bench/README.md): "on" (all), "off" (plain Bolt), or the names of those to keep.
    zapbot_fast_paths: Annotated[frozenset[str], NoDecode] = FAST_PATHS  # a word list, not JSON

    @field_validator("zapbot_fast_paths", mode="before")
    @classmethod
    def _fast_paths(cls, value: object) -> object:
        if not isinstance(value, str):
            return value
        words = {word.strip().lower() for word in value.split(",")} - {""}
        if words in ({"on"}, {"true"}, {"1"}):
            return FAST_PATHS
        if words in ({"off"}, {"false"}, {"0"}):
            return frozenset()
        if unknown := words - FAST_PATHS:
            raise ValueError(f"must be on, off or some of {', '.join(sorted(FAST_PATHS))}, not {unknown}")
        return frozenset(words)

    @field_validator("slack_bot_token")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
        return value

    @field_validator("zapier_api_key")
    @classmethod
    def _key_unless_per_user_accounts(cls, value: SecretStr | None, info: ValidationInfo) -> SecretStr | None:
        # Blank counts as unset. Without a key, per-user accounts (both OAuth client settings) must be on:
        # otherwise nothing could ever be sent to Zapier. Reported as a missing setting, saying both ways.
        if value is not None and value.get_secret_value().strip():
            return value
        if info.data.get("zapier_oauth_client_id") and info.data.get("zapier_oauth_client_secret"):
            return None
        raise PydanticCustomError(
            "missing",
            "Field required (or, for per-user Zapier accounts instead, set ZAPIER_OAUTH_CLIENT_ID and "
            "ZAPIER_OAUTH_CLIENT_SECRET: docs/accounts.md)",
        )

    @property
    def shared_key(self) -> bool:
        """Whether the shared Zapier account's key (ZAPIER_API_KEY) is set."""
        return self.zapier_api_key is not None

    @field_validator("slack_app_token")
    @classmethod
    def _app_token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None  # `SLACK_APP_TOKEN=` (e.g. left blank in .env) means HTTP mode
        if not value.get_secret_value().strip().startswith("xapp-"):
            raise ValueError(
                "must be an app-level token starting with xapp- "
                "(Slack app settings > Basic Information > App-Level Tokens, scope connections:write)"
            )
        return value

    @field_validator("slack_signing_secret")
    @classmethod
    def _signing_secret_unless_socket_mode(
        cls, value: SecretStr | None, info: ValidationInfo
    ) -> SecretStr | None:
        # An empty signing secret makes Bolt answer every request with 500: refuse to start without one,
        # unless Socket Mode (a valid app token, validated just before) makes it unnecessary.
        if value is not None and value.get_secret_value().strip():
            return value
        if info.data.get("slack_app_token") is None:
            # Reported as a missing setting, like any other required one (type "missing").
            raise PydanticCustomError(
                "missing", "Field required for HTTP mode (or set SLACK_APP_TOKEN for Socket Mode)"
            )
        return None

    @property
    def socket_mode(self) -> bool:
        """True when the bot connects to Slack over Socket Mode instead of receiving HTTP requests."""
        return self.slack_app_token is not None

    @field_validator("log_format", "log_level", mode="before")
    @classmethod
    def _case_insensitive(cls, value: object, info: ValidationInfo) -> object:
        if not isinstance(value, str):
            return value
        return value.strip().upper() if info.field_name == "log_level" else value.strip().lower()

    @field_validator("rating_emoji")
    @classmethod
    def _rating_emoji_parses(cls, value: str) -> str:
        parse_rating_emoji(value)  # raises ValueError saying what is wrong
        return value

    @field_validator("slack_api_url")
    @classmethod
    def _api_url_ends_with_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value if value.endswith("/") else value + "/"

    @field_validator("zapier_base_url")
    @classmethod
    def _base_url_is_http(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL")
        return value.rstrip("/")

    @field_validator(
        "zapier_oauth_client_id",
        "zapier_oauth_client_secret",
        "public_url",
        "token_encryption_key",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("public_url")
    @classmethod
    def _public_url_is_http(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError("must be an http(s) URL (https in production)")
        return value.rstrip("/") if value else value

    @field_validator("token_encryption_key")
    @classmethod
    def _fernet_keys(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        keys = [key.strip() for key in value.get_secret_value().split(",")]
        for position, key in enumerate(keys, start=1):
            try:
                Fernet(key)
            except ValueError:
                # Never the key itself in the message: only where it sits in the list.
                raise ValueError(
                    f"key {position} of {len(keys)} is not a Fernet key (32 url-safe base64-encoded bytes; "
                    'make one with: python -c "from cryptography.fernet import Fernet; '
                    'print(Fernet.generate_key().decode())")'
                ) from None
        return value

    @field_validator("policy_file", mode="before")
    @classmethod
    def _blank_policy_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("redis_url")
    @classmethod
    def _redis_url_scheme(cls, value: str) -> str:
        if not value.startswith(("redis://", "rediss://", "unix://")):
            raise ValueError("must start with redis://, rediss:// or unix://")
        return value

    @field_validator("workers")
    @classmethod
    def _workers_share_a_fixed_port(cls, value: int, info: ValidationInfo) -> int:
        # With port 0 each worker would get a port of its own, and nothing would reach most of them.
        if value > 1 and info.data.get("port") == 0:
            raise ValueError("above 1 needs a fixed PORT (not 0)")
        return value


class ConsoleSettings(Settings):
    """`python -m bot console` talks to Zapier and Redis only: the Slack settings may be left unset."""

    # pydantic-settings validates defaults; these placeholders must not meet the not-blank check. A blank
    # value (`SLACK_SIGNING_SECRET=` as in .env.example) counts as unset.
    model_config = SettingsConfigDict(validate_default=False, env_ignore_empty=True)
    slack_settings_checked: ClassVar[bool] = False
    slack_bot_token: SecretStr = SecretStr("")
    slack_signing_secret: SecretStr = SecretStr("")


_PLACEHOLDER = re.compile(
    r"\.\.\.|…|^<.*>$|\byour[-_ ]|change[-_ ]?me|replace[-_ ]?me|placeholder"
    r"|^(xox[abp]|xapp|sk(-ak)?)-(x+-?)*$",  # a bare prefix, or one followed by x's only
    re.IGNORECASE,
)


def is_placeholder(value: str) -> bool:
    """True for a value that stands for a secret instead of being one: `xoxb-...`, `xoxb-your-bot-token`,
    `<signing secret>`, `changeme`, a bare prefix such as `xapp-`."""
    return bool(_PLACEHOLDER.search(value.strip()))


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad setting by its environment variable, without echoing any value."""
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        reason = item["msg"].removeprefix("Value error, ")
        if item["type"] == "missing":
            # "Field required (or ...)" keeps what it says after the words: the other way to set it up.
            rest = reason.removeprefix("Field required")
            reason = "is not set" + (rest if rest.startswith(" (") else "")
        parts.append(f"{name} {reason}")
    return "Configuration error: " + "; ".join(parts)
