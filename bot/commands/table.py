"""Which handler serves which `/zap` word: one table for every surface."""

from __future__ import annotations

from bot.commands import accounts, lookups, reports, shortcuts
from bot.commands.context import Handler, Services


def commands(services: Services) -> dict[str, Handler]:
    """The words this zapbot answers, given what it was built with (no finder: no look-ups)."""
    # connect/disconnect always answer: with per-user accounts off, they say the account is shared.
    table: dict[str, Handler] = {
        "audit": reports.show_audit,
        "connect": accounts.connect,
        "disconnect": accounts.disconnect,
    }
    if services.ratings is not None:
        table["ratings"] = reports.show_ratings
    if services.finder is not None:
        table["apps"] = lookups.apps_handler(services.finder)
        table["actions"] = lookups.actions_handler(services.finder)
    if services.shortcuts is not None:
        table["save"] = shortcuts.save_handler(services.shortcuts)
        table["shortcuts"] = shortcuts.list_handler(services.shortcuts)
        table["forget"] = shortcuts.forget_handler(services.shortcuts)
    return table
