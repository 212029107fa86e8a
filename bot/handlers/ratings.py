"""`/zap ratings [APP]`: how actions have been rated, shown only to the person who asked."""

from __future__ import annotations

import logging
import re

from bot.errors import BotError
from bot.handlers.deps import CommandContext, Deps
from bot.ratings.render import summary_message

log = logging.getLogger(__name__)

USAGE = "Usage: `/zap ratings` for every app, or `/zap ratings APP` (an app key, like `SlackAPI`)."
UNAVAILABLE = "zapbot could not read the ratings right now (its database did not answer). Try again later."

_APP_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,99}$")


def register(deps: Deps) -> None:
    deps.subcommands["ratings"] = show_ratings


async def show_ratings(deps: Deps, args: str, context: CommandContext) -> None:
    words = args.split()
    if len(words) > 1 or (words and not _APP_KEY.match(words[0])):
        await context.privately.say(deps, USAGE)
        return
    if deps.ratings is None:
        await context.privately.say(deps, "Ratings are not enabled in this zapbot.")
        return
    try:
        summary = await deps.ratings.summary(words[0] if words else None)
    except BotError as exc:
        log.warning("could not read the ratings: %s", exc)
        await context.privately.say(deps, UNAVAILABLE)
        return
    await context.privately.send(deps, summary_message(summary))
