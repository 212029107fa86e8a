"""The run lifecycle's view of Slack (bot/runs/ports.py): posts, updates, ephemerals and DMs through the
Web API, every failure translated into a `DeliveryError` that says whether to retry, wait, or give up."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.render.budget import fit, fits
from bot.runs.ports import DeliveryError, Message

if TYPE_CHECKING:
    from bot.slack.deps import Deps
    from bot.slack.replies import Privately

# Slack's answers that no retry can change: the bot is not in the channel, or the channel is gone.
PERMANENT = frozenset(
    {"not_in_channel", "channel_not_found", "is_archived", "restricted_action", "user_not_found",
     "cannot_dm_bot", "message_not_found", "cant_update_message", "no_permission", "team_access_not_granted"}
)  # fmt: skip
TOO_BIG = frozenset({"msg_blocks_too_long", "invalid_blocks", "msg_too_long", "too_many_attachments"})
# Answers of conversations.replies that mean the bot can never look (an install without the history
# scopes, a token type without them).
CANNOT_LOOK = frozenset({"missing_scope", "not_allowed_token_type", "no_permission"})
DELIVERY_EVENT = "zapbot_delivery"  # the metadata event_type of a post that may need looking for
# Its payload's key: the id of what was posted (an outbox item's id, or `preview:` and a preview's id).
MARKER_KEY = "delivery_id"
MAX_PAGES = 10  # of 200 messages: a thread (or a channel's last minute) longer than 2,000 is not searched
CLOCK_SLACK = 60.0  # seconds before a top-level post was sent that its search starts (clocks differ)
log = logging.getLogger(__name__)


def within_total(message: Message) -> Message:
    """The last check before Slack: a message over Slack's total (bot/render/budget.py) is shortened here,
    visibly, rather than refused. Renderers keep within it; this logs the one that did not."""
    if fits(message):
        return message
    log.warning("a message over Slack's total size was shortened before sending: %.80s", message.get("text"))
    return fit(message)


class SlackSurface:
    """Slack as a `Surface`. Its client must not retry on its own: the outbox decides when to retry, so
    that a rate-limited send waits in the queue instead of holding a task asleep."""

    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client

    async def post(
        self, channel: str, message: Message, *, thread_ts: str | None = None, marker: str = ""
    ) -> str:
        message = within_total(message)
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        if marker:  # Slack message metadata: not shown to people, read back by `find_post`
            kwargs["metadata"] = {"event_type": DELIVERY_EVENT, "event_payload": {MARKER_KEY: marker}}
        response = await self._call(
            self._client.chat_postMessage(
                channel=channel,
                text=message.get("text", ""),
                blocks=message.get("blocks"),
                unfurl_links=False,
                unfurl_media=False,
                **kwargs,
            )
        )
        return str(response["ts"])

    async def find_post(self, channel: str, thread_ts: str, marker: str, *, since: float = 0.0) -> str | None:
        # The bot's own post carries the marker in its metadata. A thread reply: conversations.replies of
        # that thread; a top-level message: conversations.history from a little before `since` (Slack's
        # clock may differ from ours). Both page by cursor; scopes channels:history, groups:history.
        oldest = f"{max(0.0, since - CLOCK_SLACK):.6f}"
        cursor = ""
        for _ in range(MAX_PAGES):
            c, after = self._client, cursor or None
            try:
                page = await self._call(
                    c.conversations_replies(
                        channel=channel, ts=thread_ts, include_all_metadata=True, limit=200, cursor=after
                    )
                    if thread_ts
                    else c.conversations_history(
                        channel=channel, oldest=oldest, include_all_metadata=True, limit=200, cursor=after
                    )
                )
            except DeliveryError as exc:
                if exc.code == "thread_not_found":
                    return None  # no thread, so nothing was posted in it
                if exc.code in CANNOT_LOOK:
                    raise DeliveryError(exc.code, permanent=True) from exc
                raise
            for message in page.get("messages") or []:
                metadata = message.get("metadata") or {}
                payload = metadata.get("event_payload") or {}
                if metadata.get("event_type") == DELIVERY_EVENT and payload.get(MARKER_KEY) == marker:
                    return str(message["ts"])
            cursor = str((page.get("response_metadata") or {}).get("next_cursor") or "")
            if not cursor:
                return None
        return None

    async def update(self, channel: str, ts: str, message: Message) -> None:
        message = within_total(message)
        await self._call(
            self._client.chat_update(
                channel=channel, ts=ts, text=message.get("text", ""), blocks=message.get("blocks")
            )
        )

    async def whisper(self, channel: str, user: str, message: Message) -> None:
        message = within_total(message)
        await self._call(
            self._client.chat_postEphemeral(
                channel=channel, user=user, text=message.get("text", ""), blocks=message.get("blocks")
            )
        )

    async def upload(
        self, channel: str, content: str, *, filename: str, title: str, thread_ts: str | None
    ) -> None:
        # slack-sdk's files v2 upload (files.getUploadURLExternal, the bytes, files.completeUploadExternal);
        # scope files:write.
        kwargs: dict[str, Any] = {"thread_ts": thread_ts} if thread_ts else {}
        await self._call(
            self._client.files_upload_v2(
                channel=channel, content=content, filename=filename, title=title, **kwargs
            )
        )

    async def direct(self, user: str, message: Message) -> None:
        # Posting to a user ID writes in the app's DM with that person (the Messages tab).
        await self.post(user, message)

    async def _call(self, call: Any) -> Any:
        try:
            return await call
        except SlackApiError as exc:
            raise delivery_error(exc) from exc
        except TimeoutError as exc:
            raise DeliveryError("timeout", maybe_sent=True) from exc
        except aiohttp.ServerDisconnectedError as exc:
            raise DeliveryError("disconnected", maybe_sent=True) from exc
        except (aiohttp.ClientConnectionError, OSError) as exc:
            raise DeliveryError(type(exc).__name__) from exc
        except aiohttp.ClientError as exc:
            raise DeliveryError(type(exc).__name__, maybe_sent=True) from exc


def delivery_error(exc: SlackApiError) -> DeliveryError:
    code = str(exc.response.get("error", "unknown_error"))
    if exc.response.status_code == 429 or code == "ratelimited":
        try:
            wait = float(
                exc.response.headers.get("Retry-After", exc.response.headers.get("retry-after", "1"))
            )
        except (TypeError, ValueError):
            wait = 1.0
        return DeliveryError(code, retry_after=max(0.0, wait))
    return DeliveryError(code, permanent=code in PERMANENT, too_big=code in TOO_BIG)


@dataclass(frozen=True)
class SlackPerson:
    """One person to answer in Slack (bot/runs/ports.py `Person`): their click's response_url, or an
    ephemeral in the channel."""

    deps: Deps
    privately: Privately

    @property
    def user(self) -> str:
        return self.privately.user

    async def send(self, message: Message) -> None:
        await self.privately.send(self.deps, message)

    async def say(self, text: str) -> None:
        await self.privately.say(self.deps, text)


__all__ = ["SlackPerson", "SlackSurface"]
