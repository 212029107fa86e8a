"""Wiring for finding actions (plain English, look-ups, shortcuts, the form) into Bolt and `Deps`."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.commands.english import plain_text
from bot.commands.table import commands
from bot.discovery.finder import Finder
from bot.slack.deps import Deps
from bot.slack.listeners import english, form


def register(app: AsyncApp, deps: Deps, *, finder: Finder, options_wait: float) -> None:
    deps.subcommands.update(commands(deps.services))
    deps.subcommands["form"] = form.form_handler(deps)
    deps.plain_text = plain_text
    english.register(app, deps)
    form.register(app, deps, finder, options_wait=options_wait)
