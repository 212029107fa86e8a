"""Wiring for finding actions (plain English, look-ups, shortcuts, the form) into Bolt and `Deps`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.discovery import Finder
from bot.handlers import english, form, lookups, shortcut_commands
from bot.handlers.deps import Deps
from bot.shortcuts import ShortcutBook


def register(
    app: AsyncApp, deps: Deps, *, finder: Finder, shortcuts: ShortcutBook, options_wait: float
) -> None:
    deps.plain_text = english.plain_text_handler(finder, shortcuts)
    deps.subcommands["apps"] = lookups.apps_handler(finder)
    deps.subcommands["actions"] = lookups.actions_handler(finder)
    deps.subcommands["save"] = shortcut_commands.save_handler(shortcuts)
    deps.subcommands["shortcuts"] = shortcut_commands.list_handler(shortcuts)
    deps.subcommands["forget"] = shortcut_commands.forget_handler(shortcuts)
    deps.subcommands["form"] = form.form_handler()
    english.register(app, deps)
    form.register(app, deps, finder, options_wait=options_wait)
