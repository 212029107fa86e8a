"""A Slack Web API client that times every call and counts the failed ones into the app's metrics.

Every Web API method of slack-sdk's client (`chat_postMessage`, `chat_update`, ...) goes through `api_call`,
so overriding it measures them all, retries by the retry handlers included in one observation.
"""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.ops.metrics import Metrics
from bot.slack.access import SlackAccess


class MeteredWebClient(AsyncWebClient):
    """`access`, when given, hears of every refusal, so that a revoked token pauses background work
    whichever call met it first (bot/slack/access.py)."""

    def __init__(self, metrics: Metrics, *, access: SlackAccess | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.metrics = metrics
        self.access = access

    async def api_call(self, api_method: str, **kwargs: Any) -> AsyncSlackResponse:
        with self.metrics.slack_call(api_method):
            try:
                return await super().api_call(api_method, **kwargs)
            except SlackApiError as exc:
                error = str(exc.response.get("error", "unknown_error"))
                self.metrics.slack_error(api_method, error)
                if self.access is not None:
                    self.access.noticed(api_method, error)
                raise
            except Exception as exc:
                self.metrics.slack_error(api_method, type(exc).__name__)
                raise
