"""`/zap ratings [APP]` and `/zap audit [N]`: how actions have been rated, and the channel's recent steps,
shown only to the person who asked."""

from __future__ import annotations

import logging
import re

from bot.approvals.messages import AUDIT_USAGE, audit_count, audit_message
from bot.commands.context import Asked, Services
from bot.errors import BotError
from bot.ratings.render import summary_message

log = logging.getLogger(__name__)

USAGE = "Usage: `/zap ratings` for every app, or `/zap ratings APP` (an app key, like `SlackAPI`)."
UNAVAILABLE = "zapbot could not read the ratings right now (its database did not answer). Try again later."

_APP_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


async def show_ratings(services: Services, args: str, context: Asked) -> None:
    words = args.split()
    if len(words) > 1 or (words and not _APP_KEY.match(words[0])):
        await context.person.say(USAGE)
        return
    if services.ratings is None:
        await context.person.say("Ratings are not enabled in this zapbot.")
        return
    try:
        summary = await services.ratings.summary(words[0] if words else None)
    except BotError as exc:
        log.warning("could not read the ratings: %s", exc)
        await context.person.say(UNAVAILABLE)
        return
    await context.person.send(summary_message(summary))


AUDIT_UNAVAILABLE = "The audit trail is unavailable right now (zapbot's database did not answer). Try later."


async def show_audit(services: Services, args: str, context: Asked) -> None:
    """`/zap audit [N]`: the last N steps in this channel, to the caller only."""
    count = audit_count(args)
    if count is None:
        await context.person.say(AUDIT_USAGE)
        return
    try:
        recent = await services.audit.recent(context.where.channel, count)
    except BotError as exc:
        log.warning("could not read the audit trail: %s", type(exc).__name__)
        await context.person.say(AUDIT_UNAVAILABLE)
        return
    await context.person.send(audit_message(recent, count))
