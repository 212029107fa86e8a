"""What the Slack stand-in knows of its workspace: channels, messages and threads, ephemerals, files,
trigger ids and response URLs. The rules here are Slack's (NOTES.md, "Slack payloads and limits" and
"Slack under load and at its edges"); the realistic FakeSlack applies them, the polite one only records.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from tests.support.fakes.slack_rates import SlackClock

TRIGGER_SECONDS = 3.0  # a trigger_id is valid 3 s, once
RESPONSE_URL_POSTS = 5  # a response_url takes at most 5 posts ...
RESPONSE_URL_SECONDS = 30 * 60  # ... within 30 minutes


class Membership(Enum):
    """Where the bot stands in a channel."""

    MEMBER = "member"
    NOT_MEMBER = "not_member"  # the channel exists; the bot was not invited or was removed
    ARCHIVED = "archived"
    UNKNOWN = "unknown"  # no such channel (or one the bot cannot see)


class Channels:
    """The channels the bot is in. Ids not set explicitly have ``default`` (a member, unless changed).

    Direct messages (ids ``D…``, or a user id ``U…``/``W…`` as ``chat.postMessage`` accepts) are always open.
    """

    def __init__(self, default: Membership = Membership.MEMBER) -> None:
        self.default = default
        self._states: dict[str, Membership] = {}

    def set(self, channel: str, state: Membership) -> None:
        self._states[channel] = state

    def add_bot(self, *channels: str) -> None:
        for channel in channels:
            self._states[channel] = Membership.MEMBER

    def remove_bot(self, *channels: str) -> None:
        for channel in channels:
            self._states[channel] = Membership.NOT_MEMBER

    def archive(self, *channels: str) -> None:
        for channel in channels:
            self._states[channel] = Membership.ARCHIVED

    def only(self, *channels: str) -> None:
        """The bot is in exactly these channels; any other id is unknown."""
        self.default = Membership.UNKNOWN
        self._states = {c: Membership.MEMBER for c in channels}

    def state(self, channel: str) -> Membership:
        if channel[:1] in {"D", "U", "W"}:
            return Membership.MEMBER
        return self._states.get(channel, self.default)

    def error_for_posting(self, channel: str) -> str | None:
        """Slack's error for posting (or ephemeral-posting) in ``channel``; None if it may."""
        return {
            Membership.MEMBER: None,
            Membership.NOT_MEMBER: "not_in_channel",
            Membership.ARCHIVED: "is_archived",
            Membership.UNKNOWN: "channel_not_found",
        }[self.state(channel)]

    def error_for_reading(self, channel: str) -> str | None:
        """Slack's error for reading ``channel``'s history; None if it may (an archived one may be read)."""
        error = self.error_for_posting(channel)
        return None if error == "is_archived" else error


@dataclass
class Message:
    """A message in a channel as it stands now (``versions`` counts chat.update calls it took)."""

    channel: str
    ts: str
    user: str
    text: str = ""
    blocks: list[Any] = field(default_factory=list)
    thread_ts: str | None = None
    files: list[str] = field(default_factory=list)  # file ids shared with this message
    versions: int = 1
    metadata: dict[str, Any] | None = None  # Slack message metadata: event_type and event_payload

    def as_reply(self, *, with_metadata: bool) -> dict[str, Any]:
        """The message as ``conversations.replies`` and ``conversations.history`` list it (``metadata``
        only when asked for)."""
        shown: dict[str, Any] = {"type": "message", "user": self.user, "text": self.text, "ts": self.ts}
        if self.blocks:
            shown["blocks"] = self.blocks
        if self.thread_ts:
            shown["thread_ts"] = self.thread_ts
        if self.user.startswith("UBOT"):
            shown["bot_id"] = "BBOT"
        if with_metadata and self.metadata is not None:
            shown["metadata"] = self.metadata
        return shown

    @property
    def is_reply(self) -> bool:
        return self.thread_ts is not None and self.thread_ts != self.ts


@dataclass
class Ephemeral:
    """A ``chat.postEphemeral``: ``shown`` is False where Slack would not display it (and why)."""

    channel: str
    user: str
    message_ts: str
    text: str
    blocks: list[Any]
    thread_ts: str | None
    shown: bool
    why_hidden: str = ""


@dataclass
class UploadedFile:
    """A file of the v2 upload flow; ``content`` arrives with the POST to its upload URL."""

    id: str
    filename: str
    length: int
    title: str = ""
    content: bytes | None = None
    channel: str | None = None
    thread_ts: str | None = None
    completed: bool = False

    def info(self) -> dict[str, Any]:
        """The file object as Slack's ``files.*`` methods return it (the fields slack-sdk reads)."""
        shares = {self.channel: [{"ts": self.thread_ts or "", "thread_ts": self.thread_ts}]}
        return {
            "id": self.id,
            "name": self.filename,
            "title": self.title or self.filename,
            "size": len(self.content or b""),
            "mimetype": "text/plain",
            "filetype": "text",
            "channels": [self.channel] if self.channel else [],
            "shares": {"public": shares} if self.channel else {},
        }


@dataclass
class _Trigger:
    minted: float
    used: bool = False


@dataclass
class _ResponseUrl:
    issued: float | None = None
    posts: int = 0
    user: str | None = None


class Workspace:
    """The stand-in's memory: messages by channel, ephemerals, files, triggers and response URLs."""

    def __init__(self, clock: SlackClock) -> None:
        self.clock = clock
        self.channels = Channels()
        self.messages: list[Message] = []
        self.ephemerals: list[Ephemeral] = []
        self.files: dict[str, UploadedFile] = {}
        self._triggers: dict[str, _Trigger] = {}
        self._trigger_numbers = itertools.count(1)
        self._file_numbers = itertools.count(1)
        self._response_urls: dict[str, _ResponseUrl] = {}

    # ---- messages and threads ---------------------------------------------------------------------

    def find(self, channel: str, ts: str) -> Message | None:
        return next((m for m in self.messages if m.channel == channel and m.ts == ts), None)

    def add_user_message(
        self, channel: str, ts: str, user: str = "U1", text: str = "", thread_ts: str = ""
    ) -> None:
        """Tell the stand-in about a person's message (e.g. a mention, or a reply in a thread)."""
        self.messages.append(Message(channel, ts, user, text, thread_ts=thread_ts or None))

    def replies(self, channel: str, thread_ts: str) -> list[Message]:
        return [m for m in self.messages if m.channel == channel and m.thread_ts == thread_ts and m.is_reply]

    def thread_of(self, channel: str, thread_ts: str) -> list[Message]:
        """The thread's root (if known) and its replies, oldest first."""
        root = self.find(channel, thread_ts)
        return ([root] if root else []) + self.replies(channel, thread_ts)

    def add_ephemeral(self, channel: str, user: str, ts: str, args: dict[str, Any]) -> Ephemeral:
        thread_ts = args.get("thread_ts") or None
        hidden = ""
        if thread_ts and not self.replies(channel, thread_ts):
            hidden = "thread_ts names a thread without replies: Slack does not show it"
        given = args.get("blocks")
        blocks = given if isinstance(given, list) else []
        ephemeral = Ephemeral(
            channel, user, ts, str(args.get("text", "")), blocks, thread_ts, not hidden, hidden
        )
        self.ephemerals.append(ephemeral)
        return ephemeral

    def seen_by(self, user: str, channel: str) -> list[Message | Ephemeral]:
        """What ``user`` would see in ``channel``: its messages (as updated) and their shown ephemerals."""
        seen: list[Message | Ephemeral] = [m for m in self.messages if m.channel == channel]
        seen += [e for e in self.ephemerals if e.channel == channel and e.user == user and e.shown]
        return sorted(seen, key=lambda item: float(item.ts if isinstance(item, Message) else item.message_ts))

    # ---- trigger ids ----------------------------------------------------------------------------------

    def mint_trigger(self, trigger_id: str | None = None) -> str:
        """Register a trigger id as handed out now (as Slack does with each interaction payload)."""
        trigger_id = trigger_id or f"{next(self._trigger_numbers)}.1.trigger"
        self._triggers[trigger_id] = _Trigger(self.clock.now())
        return trigger_id

    def exchange_trigger(self, trigger_id: str) -> str | None:
        """Use a trigger for ``views.open``/``views.push``: None if valid, else Slack's error."""
        trigger = self._triggers.get(trigger_id)
        if trigger is None:
            return "invalid_trigger_id"
        if trigger.used:
            return "exchanged_trigger_id"
        if self.clock.now() - trigger.minted > TRIGGER_SECONDS:
            return "expired_trigger_id"
        trigger.used = True
        return None

    # ---- response URLs --------------------------------------------------------------------------------

    def issue_response_url(self, key: str, user: str | None) -> None:
        """Slack hands out this URL now (its 30 minutes start), for ``user``'s interaction."""
        self._response_urls[key] = _ResponseUrl(self.clock.now(), 0, user)

    def response_url_owner(self, key: str) -> str | None:
        return self._response_urls[key].user if key in self._response_urls else None

    def use_response_url(self, key: str) -> str | None:
        """Count one post to this URL: None if Slack takes it, else ``used_url`` / ``expired_url``.

        A URL the test did not issue counts its 30 minutes from its first post.
        """
        now = self.clock.now()
        url = self._response_urls.setdefault(key, _ResponseUrl(now))
        if now - (url.issued or now) > RESPONSE_URL_SECONDS:
            return "expired_url"
        if url.posts >= RESPONSE_URL_POSTS:
            return "used_url"
        url.posts += 1
        return None

    # ---- files ----------------------------------------------------------------------------------------

    def new_file(self, filename: str, length: int) -> UploadedFile:
        file = UploadedFile(f"F{next(self._file_numbers):04d}", filename, length)
        self.files[file.id] = file
        return file
