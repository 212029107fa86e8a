"""Plain English after `/zap` or an @mention: run a saved shortcut, or guess the action and preview it.

The best guess is previewed at once (still only a preview: the same Confirm/Cancel path follows) with the next
few candidates as buttons. The candidates are kept with the preview in Redis, so a click on any replica can
switch: it previews the chosen action with the same instructions, closes the old preview (exactly one click
wins, as with Confirm), and replaces the message with the new preview.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.actions import ActionRequest
from bot.discovery import MAX_ALTERNATIVES, Candidates, Finder, candidates_to_json
from bot.discovery_messages import (
    SWITCH,
    alternatives_lines,
    guessed_preview_message,
    no_match_message,
)
from bot.errors import BotError
from bot.handlers.buttons import clicked, clicked_value, start_click
from bot.handlers.deps import CommandContext, Deps, SubcommandHandler
from bot.handlers.replies import Privately
from bot.handlers.surface import SlackPerson
from bot.messages import failure_message
from bot.parsing import is_shortcut_name
from bot.runs.lifecycle import CANDIDATES_FIELD
from bot.runs.service import Where
from bot.shortcuts import ShortcutBook, expand

log = logging.getLogger(__name__)


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
            person = SlackPerson(deps, context.privately)
            await deps.runs.request(request, context.where, person, thread_ts=thread_ts)
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
    person = SlackPerson(deps, privately)
    preview = await deps.runs.preview(request, where, person, title=best.name, hint=hint)
    if preview is None:
        return
    try:
        # Saved before the message exists, so that a click on any replica finds the candidates.
        await deps.store.update_preview(preview.id, **{CANDIDATES_FIELD: candidates_to_json(candidates)})
    except BotError as exc:
        log.warning("could not keep the candidates of preview %s: %s", preview.id, type(exc).__name__)
        candidates = Candidates([best])
    message = guessed_preview_message(preview, candidates)
    await deps.runs.show(preview, where, thread_ts=thread_ts, person=person, message=message)


# switching to another candidate: the run lifecycle's (bot/runs/lifecycle.py `switch`) -------------------
def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(re.compile(rf"^{SWITCH}\d+$"))
    async def on_switch(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = clicked(body)
        job = deps.runs.switch(clicked_value(body), where, SlackPerson(deps, privately))
        start_click(deps, privately, job, "switch")
