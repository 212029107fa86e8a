"""Talking back to Slack from background work: posts, updates, and messages only one person sees."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.webhook.async_client import AsyncWebhookClient

if TYPE_CHECKING:
    from bot.slack.deps import Deps
from bot.render.messages import Message, delivery_problem, notice_message

log = logging.getLogger(__name__)


# What a Slack call can fail with: Slack's refusal, or no answer at all (the session's timeout,
# SLACK_TIMEOUT_SECONDS, or a refused or reset connection). Catch all three wherever one is caught.
SLACK_FAILURES = (SlackApiError, aiohttp.ClientError, TimeoutError)
SlackFailure = SlackApiError | aiohttp.ClientError | TimeoutError


def slack_error_text(error: SlackFailure) -> str:
    if no_answer(error):
        code = slack_error_code(error)
        return f"Slack did not answer (`{code}`): the message may or may not have been posted."
    return delivery_problem(slack_error_code(error))


def slack_error_code(error: SlackFailure) -> str:
    """Slack's error code, or `timeout` / the connection error's name when Slack did not answer."""
    if isinstance(error, SlackApiError):
        return str(error.response.get("error", "unknown_error"))
    if isinstance(error, TimeoutError):
        return "timeout"
    return type(error).__name__


def no_answer(error: SlackFailure) -> bool:
    """True when Slack never answered (a timeout or a connection error): the call may have taken effect."""
    return not isinstance(error, SlackApiError)


@dataclass(frozen=True)
class Privately:
    """How to reach one person: a command's or click's response_url, or an ephemeral message in a channel."""

    user: str
    channel: str
    response_url: str | None = None
    thread_ts: str | None = None  # the conversation's thread (where previews for it go)
    # Whether an ephemeral may go into `thread_ts`: Slack shows an ephemeral in a thread only when that
    # thread already has replies, so a top-level mention's answers go to the channel instead.
    whisper_in_thread: bool = True

    async def send(self, deps: Deps, message: Message) -> None:
        try:
            if self.response_url:
                webhook = AsyncWebhookClient(self.response_url, session=deps.slack_http)
                with deps.metrics.slack_call("response_url"):
                    sent = await webhook.send(
                        text=message["text"],
                        blocks=message["blocks"],
                        response_type="ephemeral",
                        replace_original=False,
                    )
                if sent.status_code >= 400:
                    deps.metrics.slack_error("response_url", f"http_{sent.status_code}")
                    log.warning("Slack refused a response_url reply: HTTP %d", sent.status_code)
                return
            in_thread = self.thread_ts and self.whisper_in_thread
            kwargs: dict[str, Any] = {"thread_ts": self.thread_ts} if in_thread else {}
            await deps.slack.chat_postEphemeral(
                channel=self.channel, user=self.user, text=message["text"], blocks=message["blocks"], **kwargs
            )
        except Exception:
            # The person cannot be told; the log is the last place this can go.
            log.exception("could not send a private message to %s", self.user)

    async def say(self, deps: Deps, text: str) -> None:
        await self.send(deps, notice_message(text))


async def post(deps: Deps, channel: str, message: Message, *, thread_ts: str | None = None) -> str:
    """Post a visible message; returns its ts. Raises SlackApiError for the caller to explain."""
    kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
    response = await deps.slack.chat_postMessage(
        channel=channel,
        text=message["text"],
        blocks=message["blocks"],
        unfurl_links=False,
        unfurl_media=False,
        **kwargs,
    )
    return str(response["ts"])


async def update(deps: Deps, channel: str, ts: str, message: Message) -> bool:
    """Replace a posted message. Returns False (and logs) when Slack refuses: the state is already right."""
    try:
        await deps.slack.chat_update(channel=channel, ts=ts, text=message["text"], blocks=message["blocks"])
    except SLACK_FAILURES as exc:
        log.warning("could not update message %s in %s: %s", ts, channel, slack_error_code(exc))
        return False
    return True
