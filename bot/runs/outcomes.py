"""How a confirmed run ended, as the bot knows it (`Ended`), and the words and messages that say so."""

from __future__ import annotations

import logging
from collections.abc import Coroutine, Sequence
from dataclasses import dataclass
from typing import Any

from bot.accounts.errors import AccountError
from bot.actions import ActionResult, RunStatus
from bot.errors import BotError, SharedKeyMissing, ZapierAuthError, ZapierRejected
from bot.render.messages import (
    describe_failure,
    failure_message,
    fitted_result_message,
    outcome_unknown_message,
    short_outcome_message,
    user,
)
from bot.runs.outbox import Item
from bot.runs.ports import Message
from bot.runs.records import Preview, PreviewState
from bot.runs.service import RunOutcome

log = logging.getLogger(__name__)

CANDIDATES_FIELD = "candidates"  # the preview hash field holding a guessed preview's `Candidates` as JSON
EXPIRED = "This preview has expired, so nothing was run. Send the command again for a new preview."
UNKNOWN = "I don't know this preview (it may be too old or from elsewhere), so nothing was run."
# A click on a preview the bot recorded as never posted (its post failed and it was not found): a copy
# that landed after all is not acted on, because its requester was told it was not posted.
NOT_POSTED = (
    "Slack did not confirm that this preview was posted, so its requester was told it was not, and it "
    "cannot be used: nothing was run. Send the command again for a new preview."
)
STOPPED = "zapbot stopped while this ran, so it never heard Zapier's answer."
INTERNAL = "zapbot hit an internal error while this ran."
NOTHING_TO_EDIT = "This preview shows no params that can be edited here."
MAX_PRIVATE_MESSAGES = 4  # a response_url takes 5 posts in 30 minutes: one is kept for a later answer
SWITCH_REFUSED = {
    "running": "{who} already confirmed this preview, so it can no longer change.",
    "cancelled": "{who} already cancelled or changed this preview.",
    "expired": "This preview has expired. Send the command again for a new one.",
    "expired_now": "This preview has expired. Send the command again for a new one.",
    "unposted": NOT_POSTED,
}


@dataclass(frozen=True)
class Ended:
    """How a confirmed run ended, as far as the bot knows."""

    state: PreviewState
    result: ActionResult | None = None
    error: BotError | None = None
    why: str = ""  # for `unknown`: why the bot cannot know
    reason: str = ""  # the metric label of an unknown outcome
    fallback_reason: str | None = None

    @classmethod
    def from_outcome(cls, outcome: RunOutcome) -> Ended:
        state = {
            RunStatus.SUCCESS: PreviewState.SUCCEEDED,
            RunStatus.EMPTY: PreviewState.EMPTY,
        }.get(outcome.result.status, PreviewState.FAILED)
        return cls(state, outcome.result, fallback_reason=outcome.fallback_reason)

    @classmethod
    def from_error(cls, exc: BotError) -> Ended:
        if isinstance(exc, ZapierAuthError | ZapierRejected | AccountError | SharedKeyMissing):  # nothing ran
            return cls(PreviewState.FAILED, error=exc)
        return cls(PreviewState.UNKNOWN, error=exc, why=describe_failure(exc, "run"), reason="zapier")

    @classmethod
    def unknown(cls, why: str, reason: str) -> Ended:
        return cls(PreviewState.UNKNOWN, why=why, reason=reason)

    def note_elsewhere(self, told: Sequence[str]) -> str:
        """The end of the closing line when the channel refused the outcome: where it went instead."""
        who = " and ".join(user(u) for u in told) or "nobody"
        return f"{self.state.value}: I could not post the outcome here, so I sent it to {who} privately"

    def note(self) -> str:
        """The end of the preview's closing line."""
        if self.state is PreviewState.UNKNOWN:
            return "outcome unknown, see the thread"
        if self.state is PreviewState.FAILED:
            return "it failed, see the thread"
        return "result in the thread"


@dataclass(frozen=True)
class Unrecorded:
    """An outcome delivered while Redis was away, to record (and close the preview again) once it is back."""

    preview: Preview
    ended: Ended
    confirmed_by: str
    closing: Item


@dataclass(frozen=True)
class OutcomeMessages:
    """The thread message of how a run ended; its short form if Slack refuses it as too big anyway; the
    execution_log_id it shows ("" when Zapier gave none); `cut`: part of the result did not fit Slack's
    total, so the whole of it goes into the thread as a file with the message."""

    message: Message
    fallback: Message | None = None
    log_id: str = ""
    cut: bool = False


def outcome_messages(preview: Preview, ended: Ended) -> OutcomeMessages:
    if ended.result is not None:
        result = ended.result
        full, cut = fitted_result_message(preview, result, fallback_reason=ended.fallback_reason)
        return OutcomeMessages(full, short_outcome_message(preview, result), result.execution_log_id, cut)
    if ended.state is PreviewState.UNKNOWN:
        return OutcomeMessages(outcome_unknown_message(preview, ended.why))
    title = preview.result.action_used or f"{preview.request.app} {preview.request.action}"
    assert ended.error is not None
    return OutcomeMessages(failure_message(title, ended.error, "run"))


async def quietly(work: Coroutine[Any, Any, None]) -> None:
    """For work beside a run: a failure is logged, and the run's result and last update still follow."""
    try:
        await work
    except Exception:
        log.exception("work beside a run failed")
