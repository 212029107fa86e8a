"""Settings: the only place the environment (and `.env`) is read."""

from __future__ import annotations

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["Settings", "ValidationError", "describe_settings_error"]


class Settings(BaseSettings):
    """Everything the bot needs to run, read from environment variables of the same name (upper case)."""

    model_config = SettingsConfigDict(env_file=".env", env_file_encoding="utf-8", extra="ignore")

    slack_bot_token: SecretStr
    slack_signing_secret: SecretStr
    slack_api_url: str = "https://slack.com/api/"
    zapier_api_key: SecretStr
    zapier_base_url: str = "https://actions.zapier.com"
    zapier_provider_id: str | None = None
    zapier_timeout_seconds: float = Field(default=90.0, gt=0, le=600)
    redis_url: str = "redis://localhost:6379/0"
    preview_ttl_seconds: int = Field(default=900, ge=1, le=7 * 24 * 3600)
    host: str = "0.0.0.0"  # noqa: S104 - a service listens on all interfaces by default; HOST narrows it
    port: int = Field(default=3000, ge=0, le=65535)
    workers: int = Field(default=1, ge=1, le=64)  # processes serving PORT together (bot/workers.py)

    @field_validator("slack_bot_token", "slack_signing_secret", "zapier_api_key")
    @classmethod
    def _not_blank(cls, value: SecretStr) -> SecretStr:
        # An empty signing secret makes Bolt answer every request with 500: refuse it at start-up instead.
        if not value.get_secret_value().strip():
            raise ValueError("must not be empty")
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


def describe_settings_error(error: ValidationError) -> str:
    """One line naming each bad setting by its environment variable, without echoing any value."""
    parts = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else "settings"
        reason = "is not set" if item["type"] == "missing" else item["msg"].removeprefix("Value error, ")
        parts.append(f"{name} {reason}")
    return "Configuration error: " + "; ".join(parts)
