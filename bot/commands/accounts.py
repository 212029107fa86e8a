"""`/zap connect` and `/zap disconnect`: a person links their own Zapier account to zapbot, or unlinks it.

Both answer only the person who asked. With per-user accounts off (bot/accounts/config.py), both say that
this zapbot runs every action with one shared Zapier account.
"""

from __future__ import annotations

import logging

from bot.commands.context import Asked, Services
from bot.errors import BotError
from bot.render.messages import connect_button
from bot.runs.ports import Message

log = logging.getLogger(__name__)


SHARED = (
    "This zapbot runs every action with one shared Zapier account (its owner's), so there is nothing "
    "to connect or disconnect: per-user Zapier accounts are not turned on here (see docs/accounts.md)."
)
LINK_MINUTES = 10  # bot/accounts/states.py: a connect link's state lives this long
CONNECT_TEXT = (
    "Connect your Zapier account: actions zapbot runs for you can then use your own Zapier account, its "
    f"apps and its access. The link is yours alone, works once, and expires in {LINK_MINUTES} minutes."
)
CONNECT_FAILED = "zapbot could not make a connect link right now (its database did not answer). Try again."
DISCONNECTED = (
    "Your Zapier account is disconnected: zapbot deleted your tokens. To cut zapbot off at Zapier's side "
    "too, remove the app from your Zapier account's settings. `/zap connect` links it again."
)
NOT_CONNECTED = "You have no Zapier account connected to zapbot, so there was nothing to disconnect."
DISCONNECT_FAILED = (
    "zapbot could not disconnect your Zapier account right now (its database did not answer). Nothing "
    "changed; try again."
)


def connect_message(url: str) -> Message:
    """The private answer to `/zap connect`: what connecting means, and the link as a button."""
    return {
        "text": CONNECT_TEXT,
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": CONNECT_TEXT, "verbatim": True}},
            {"type": "actions", "elements": [connect_button(url)]},
        ],
    }


async def connect(services: Services, args: str, context: Asked) -> None:
    """`/zap connect`: a link to Zapier's authorize page for the person who asked, shown to them only."""
    if services.accounts is None:
        await context.person.say(SHARED)
        return
    try:
        url = await services.accounts.connect_url(context.where.team, context.person.user)
    except BotError as exc:
        log.warning("could not make a connect link: %s", type(exc).__name__)
        await context.person.say(CONNECT_FAILED)
        return
    await context.person.send(connect_message(url))


async def disconnect(services: Services, args: str, context: Asked) -> None:
    """`/zap disconnect`: delete the person's tokens, and say so."""
    if services.accounts is None:
        await context.person.say(SHARED)
        return
    team, user = context.where.team, context.person.user
    try:
        removed = await services.accounts.disconnect(team, user)
    except BotError as exc:
        log.warning("could not disconnect a Zapier account: %s", type(exc).__name__)
        await context.person.say(DISCONNECT_FAILED)
        return
    await context.person.say(DISCONNECTED if removed else NOT_CONNECTED)
    if removed and services.account_changed is not None:
        await services.account_changed(team, user)
