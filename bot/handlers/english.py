"""Plain English after `/zap` or an @mention: run a saved shortcut, or guess the action and preview it.

The best guess is previewed at once (still only a preview: the same Confirm/Cancel path follows) with the next
few candidates as buttons. The candidates are kept with the preview in Redis, so a click on any replica can
switch: it previews the chosen action with the same instructions, closes the old preview (exactly one click
wins, as with Confirm), and replaces the message with the new preview.
"""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.actions import ActionRequest
from bot.discovery import MAX_ALTERNATIVES, Candidates, Finder, candidates_from_json, candidates_to_json
from bot.discovery_messages import (
    SWITCH,
    alternatives_lines,
    guessed_preview_message,
    no_match_message,
    switched_note,
)
from bot.errors import BotError
from bot.handlers.deps import CommandContext, Deps, SubcommandHandler
from bot.handlers.flow import make_preview, preview_and_post, show_preview
from bot.handlers.replies import Privately, update
from bot.messages import describe_failure, escape, expired_note, failure_message, preview_message, user
from bot.parsing import is_shortcut_name
from bot.records import Preview, PreviewState
from bot.service import PreviewRefused, Where
from bot.shortcuts import ShortcutBook, expand
from bot.tasks import TooBusy

log = logging.getLogger(__name__)

CANDIDATES_FIELD = "candidates"  # the preview hash field holding `Candidates` as JSON
UNKNOWN = "I don't know this preview (it may be too old or from elsewhere), so nothing changed."


def plain_text_handler(finder: Finder, shortcuts: ShortcutBook) -> SubcommandHandler:
    async def handle(deps: Deps, text: str, context: CommandContext) -> None:
        await plain_text(deps, finder, shortcuts, text, context)

    return handle


async def plain_text(
    deps: Deps, finder: Finder, shortcuts: ShortcutBook, text: str, context: CommandContext
) -> None:
    """A saved shortcut when the first word names one; otherwise the best guess, previewed."""
    thread_ts = context.privately.thread_ts  # a mention's thread (a /zap preview starts a new one)
    word, more = [*text.strip().split(maxsplit=1), ""][:2]
    if is_shortcut_name(word.lower()):
        try:
            shortcut = await shortcuts.get(context.where.team, word.lower())
        except BotError as exc:
            await context.privately.send(deps, failure_message("Shortcut", exc, "preview"))
            return
        if shortcut is not None:
            request = expand(shortcut, more)
            if not request.instructions:
                await context.privately.say(
                    deps,
                    f"The shortcut `{shortcut.name}` needs instructions: `/zap {shortcut.name} what to do`.",
                )
                return
            await preview_and_post(
                deps, request, context.where, thread_ts=thread_ts, privately=context.privately
            )
            return
    try:
        guesses = await finder.guess(text)
    except BotError as exc:
        log.warning("guessing an action failed: %s", type(exc).__name__)
        await context.privately.send(deps, failure_message("Finding an action", exc, "preview"))
        return
    if not guesses:
        await context.privately.send(deps, no_match_message(text))
        return
    candidates = Candidates(guesses[: 1 + MAX_ALTERNATIVES])
    await _preview_best(
        deps, candidates, text, context.where, thread_ts=thread_ts, privately=context.privately
    )


async def _preview_best(
    deps: Deps,
    candidates: Candidates,
    instructions: str,
    where: Where,
    *,
    thread_ts: str | None,
    privately: Privately,
) -> None:
    best = candidates.items[candidates.current]
    request = ActionRequest(best.app, best.action, instructions, best.action_type)
    others = [choice for _, choice in candidates.others()]
    hint = f"\nOther actions that might fit:\n{alternatives_lines(others, instructions)}" if others else ""
    # The same path as any /zap: the policy, the audit trail, Zapier's preview, auto_run.
    preview = await make_preview(deps, request, where, privately, title=best.name, hint=hint)
    if preview is None:
        return
    try:
        # Saved before the message exists, so that a click on any replica finds the candidates.
        await deps.store.update_preview(preview.id, **{CANDIDATES_FIELD: candidates_to_json(candidates)})
    except BotError as exc:
        log.warning("could not keep the candidates of preview %s: %s", preview.id, type(exc).__name__)
        candidates = Candidates([best])
    message = guessed_preview_message(preview, candidates)
    await show_preview(deps, preview, where, thread_ts=thread_ts, privately=privately, message=message)


def _why(exc: BotError) -> str:
    if isinstance(exc, PreviewRefused):
        said = escape(exc.result.error or exc.result.status.value)
        return f"Zapier could not preview it: {said}. Nothing was run."
    return "the preview failed: " + describe_failure(exc, "preview")


# switching to another candidate ----------------------------------------------------------------------
_REFUSED = {
    PreviewState.RUNNING.value: "{who} already confirmed this preview, so it can no longer change.",
    PreviewState.DONE.value: "{who} already confirmed this preview and it has run.",
    PreviewState.CANCELLED.value: "{who} already cancelled or changed this preview.",
    PreviewState.EXPIRED.value: "This preview has expired. Send the command again for a new one.",
    "expired_now": "This preview has expired. Send the command again for a new one.",
}


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(re.compile(rf"^{SWITCH}\d+$"))
    async def on_switch(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = _where(body)
        actions = body.get("actions") or [{}]
        value = str(actions[0].get("value", ""))[:2000]
        try:
            deps.tasks.spawn(switch(deps, value, where, privately), name="switch")
        except TooBusy:
            log.warning("dropped a switch click: too many tasks in flight")


async def switch(deps: Deps, value: str, where: Where, privately: Privately) -> None:
    """Replace a guessed preview by a preview of another candidate, if it is still pending."""
    preview_id, _, index_text = value.rpartition(":")
    try:
        old = await deps.store.get_preview(preview_id) if preview_id else None
        saved = await deps.store.preview_field(preview_id, CANDIDATES_FIELD) if old else None
    except BotError as exc:
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    candidates = candidates_from_json(saved) if saved else None
    index = int(index_text) if index_text.isdigit() else -1
    if (
        old is None
        or candidates is None
        or (old.team, old.channel) != (where.team, where.channel)
        or not 0 <= index < len(candidates.items)
    ):
        await privately.say(deps, UNKNOWN)
        return
    if old.state is not PreviewState.PENDING or old.expires_at <= time.time():
        await _refused(deps, old.state.value, old.decided_by, privately)
        return
    if index == candidates.current:
        await privately.say(deps, "That is the action this preview shows already.")
        return
    await _switch(deps, old, Candidates(candidates.items, index), where, privately)


async def _switch(deps: Deps, old: Preview, switched: Candidates, where: Where, privately: Privately) -> None:
    choice = switched.items[switched.current]
    request = replace(old.request, app=choice.app, action=choice.action, action_type=choice.action_type)
    asked_by = Where(old.team, old.channel, old.requested_by)  # it stays the requester's preview
    try:
        new = await deps.service.preview(request, asked_by)
    except BotError as exc:
        # The old preview is untouched and can still be confirmed.
        await privately.say(deps, f":warning: I couldn't switch to *{escape(choice.name)}*: {_why(exc)}")
        return
    try:
        claim = await deps.service.decide(old.id, where, confirm=False)
        if claim.outcome != "claimed":
            await deps.service.decide(new.id, asked_by, confirm=False)  # never shown: close it at once
            if claim.outcome == "expired_now" and claim.preview is not None:
                closed = preview_message(claim.preview, closed=expired_note())
                await update(deps, old.channel, old.message_ts, closed)
            await _refused(deps, claim.outcome, claim.decided_by, privately)
            return
        await deps.store.update_preview(new.id, **{CANDIDATES_FIELD: candidates_to_json(switched)})
        await deps.service.shown(new, message_ts=old.message_ts, thread_ts=old.thread_ts)
    except BotError as exc:
        log.warning("switching preview %s failed: %s", old.id, type(exc).__name__)
        await privately.say(deps, describe_failure(exc, "preview"))
        return
    message = guessed_preview_message(new, switched, note=switched_note(where.user, choice))
    await update(deps, old.channel, old.message_ts, message)


async def _refused(deps: Deps, outcome: str, decided_by: str, privately: Privately) -> None:
    who = user(decided_by) if decided_by else "Someone"
    await privately.say(deps, _REFUSED.get(outcome, UNKNOWN).format(who=who))


def _where(body: dict[str, Any]) -> tuple[Where, Privately]:
    person = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    where = Where(team=team, channel=channel, user=person.get("id", ""))
    return where, Privately(user=where.user, channel=channel, response_url=body.get("response_url"))
