"""What the run lifecycle needs of the surface a run is shown on. Slack and the console implement these;
nothing in bot/runs/ knows which one it talks to."""

from __future__ import annotations

from typing import Any, Protocol

from bot.errors import BotError

Message = dict[str, Any]  # text + Block Kit blocks (bot/render/messages.py); the console prints their text


class DeliveryError(BotError):
    """The surface did not take a message. `code` is its reason (Slack's error code, `timeout`, ...).

    `permanent`: sending it again cannot work (the bot is not in the channel, the channel is gone).
    `retry_after`: seconds the surface asked us to wait (a rate limit), when it said.
    `maybe_sent`: the request may have been delivered before the failure (a timeout, a reset connection)."""

    def __init__(
        self,
        code: str,
        *,
        permanent: bool = False,
        retry_after: float | None = None,
        maybe_sent: bool = False,
        too_big: bool = False,
    ) -> None:
        super().__init__(f"the message was not delivered ({code})")
        self.code = code
        self.permanent = permanent
        self.retry_after = retry_after
        self.maybe_sent = maybe_sent
        self.too_big = too_big


class Surface(Protocol):
    """Where runs are shown. Every method raises `DeliveryError` when the message was not taken."""

    async def post(
        self, channel: str, message: Message, *, thread_ts: str | None = None, marker: str = ""
    ) -> str:
        """Post a visible message; returns its id (Slack's ts). `marker` (an outbox item's id) travels with
        the message, so that `find_post` can tell whether a post that may have landed did."""
        ...

    async def find_post(self, channel: str, thread_ts: str, marker: str, *, since: float = 0.0) -> str | None:
        """The id of the message posted with `marker` in the thread `thread_ts` (with no `thread_ts`: at the
        top of `channel`, posted after `since`, a Unix time), or None if there is none. Raises
        `DeliveryError` when the surface cannot tell (then `permanent` if it never will)."""
        ...

    async def update(self, channel: str, ts: str, message: Message) -> None:
        """Replace a message posted before."""
        ...

    async def whisper(self, channel: str, user: str, message: Message) -> None:
        """A message only `user` sees, in `channel` (an ephemeral)."""
        ...

    async def direct(self, user: str, message: Message) -> None:
        """A message to `user` alone, outside the channel (a DM)."""
        ...

    async def upload(
        self, channel: str, content: str, *, filename: str, title: str, thread_ts: str | None
    ) -> None:
        """A text file in `channel` (in the thread `thread_ts`): for what is too long for a message."""
        ...


class Person(Protocol):
    """One person to answer directly (the one who typed or clicked): best effort, never raises."""

    @property
    def user(self) -> str: ...

    async def send(self, message: Message) -> None: ...

    async def say(self, text: str) -> None: ...


class Availability(Protocol):
    """Whether the surface takes messages at all now (e.g. Slack still accepts the bot's token): while it
    does not, the outbox and the sweepers wait instead of failing every send."""

    @property
    def usable(self) -> bool: ...
