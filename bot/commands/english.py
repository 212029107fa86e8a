"""Plain English after `/zap` or an @mention: run a saved shortcut, or guess the action and preview it.

The best guess is previewed at once (still only a preview: the same Confirm/Cancel path follows) with the
next few candidates as buttons. The candidates are kept with the preview in Redis, so a click on any replica
can switch (bot/runs/changes.py `switch`).
"""

from __future__ import annotations

import logging

from bot.actions import ActionRequest
from bot.commands.context import Asked, Services, as_asker
from bot.discovery.finder import MAX_ALTERNATIVES, Candidates, candidates_to_json
from bot.discovery.grammar import is_shortcut_name
from bot.discovery.messages import alternatives_lines, guessed_preview_message, no_match_message
from bot.discovery.shortcuts import ShortcutBook, expand
from bot.errors import BotError
from bot.render.messages import failure_message
from bot.runs.outcomes import CANDIDATES_FIELD
from bot.runs.records import Preview

log = logging.getLogger(__name__)


async def plain_text(services: Services, text: str, context: Asked) -> Preview | None:
    """A saved shortcut when the first word names one; otherwise the best guess, previewed. Returns the
    preview made, if any."""
    word, more = [*text.strip().split(maxsplit=1), ""][:2]
    if services.shortcuts is not None and is_shortcut_name(word.lower()):
        found, preview = await _shortcut(services, services.shortcuts, word.lower(), more, context)
        if found:
            return preview
    if services.finder is None:
        await context.person.say("Start with an app key, like `SlackAPI`.")
        return None
    try:
        finder = services.finder
        guesses = await as_asker(services, context, lambda auth, _: finder.guess(text, auth=auth))
    except BotError as exc:
        log.warning("guessing an action failed: %s", type(exc).__name__)
        await context.person.send(failure_message("Finding an action", exc, "preview"))
        return None
    if guesses is None:  # they were asked to connect their account
        return None
    if not guesses:
        await context.person.send(no_match_message(text))
        return None
    return await _preview_best(services, Candidates(guesses[: 1 + MAX_ALTERNATIVES]), text, context)


async def _shortcut(
    services: Services, book: ShortcutBook, name: str, more: str, context: Asked
) -> tuple[bool, Preview | None]:
    """Run the shortcut `name` if the workspace has one: (whether it had, the preview made)."""
    try:
        shortcut = await book.get(context.where.team, name)
    except BotError as exc:
        await context.person.send(failure_message("Shortcut", exc, "preview"))
        return True, None
    if shortcut is None:
        return False, None
    request = expand(shortcut, more)
    if not request.instructions:
        text = f"The shortcut `{shortcut.name}` needs instructions: `/zap {shortcut.name} what to do`."
        await context.person.say(text)
        return True, None
    return True, await services.runs.request(
        request, context.where, context.person, thread_ts=context.thread_ts
    )


async def _preview_best(
    services: Services, candidates: Candidates, instructions: str, context: Asked
) -> Preview | None:
    best = candidates.items[candidates.current]
    request = ActionRequest(best.app, best.action, instructions, best.action_type)
    others = [choice for _, choice in candidates.others()]
    hint = f"\nOther actions that might fit:\n{alternatives_lines(others, instructions)}" if others else ""
    # The same path as any /zap: the policy, the audit trail, Zapier's preview, auto_run.
    runs = services.runs
    preview = await runs.preview(request, context.where, context.person, title=best.name, hint=hint)
    if preview is None:
        return None
    try:
        # Saved before the message exists, so that a click on any replica finds the candidates.
        await runs.store.update_preview(preview.id, **{CANDIDATES_FIELD: candidates_to_json(candidates)})
    except BotError as exc:
        log.warning("could not keep the candidates of preview %s: %s", preview.id, type(exc).__name__)
        candidates = Candidates([best])
    message = guessed_preview_message(preview, candidates)
    await runs.show(
        preview, context.where, thread_ts=context.thread_ts, person=context.person, message=message
    )
    return preview
