"""`/zap save NAME = ...`, `/zap shortcuts`, `/zap forget NAME`: a workspace's shortcuts (see
bot.discovery.shortcuts).

Running one (`/zap NAME [more]`) is plain text to the parser; `bot.commands.english` looks the name up.
"""

from __future__ import annotations

import html

from bot.commands.context import Asked, Handler, Services
from bot.discovery.grammar import is_shortcut_name
from bot.discovery.messages import (
    shortcut_exists_message,
    shortcut_forgotten_message,
    shortcut_saved_message,
    shortcuts_message,
)
from bot.discovery.shortcuts import ShortcutBook, ShortcutRefused, parse_save
from bot.errors import BotError, UsageError
from bot.render.messages import describe_failure, escape


def save_handler(book: ShortcutBook) -> Handler:
    async def save(services: Services, args: str, context: Asked) -> None:
        try:
            name, request = parse_save(args)
        except UsageError as exc:
            await context.person.say(f":warning: {escape(exc.problem)}")
            return
        try:
            shortcut = await book.save(context.where.team, name, request, by=context.where.user)
        except ShortcutRefused as exc:
            if exc.existing is not None:
                await context.person.send(shortcut_exists_message(name, exc.existing))
            else:
                await context.person.say(f":warning: {escape(exc.problem)}")
            return
        except BotError as exc:
            await context.person.say(describe_failure(exc, "preview"))
            return
        await context.person.send(shortcut_saved_message(shortcut))

    return save


def list_handler(book: ShortcutBook) -> Handler:
    async def shortcuts(services: Services, args: str, context: Asked) -> None:
        try:
            found = await book.all(context.where.team)
        except BotError as exc:
            await context.person.say(describe_failure(exc, "preview"))
            return
        await context.person.send(shortcuts_message(found))

    return shortcuts


def forget_handler(book: ShortcutBook) -> Handler:
    async def forget(services: Services, args: str, context: Asked) -> None:
        name = html.unescape(args).strip().lower()
        if not name:
            await context.person.say("Say which shortcut: `/zap forget NAME` (`/zap shortcuts` lists them).")
            return
        try:
            removed = await book.forget(context.where.team, name) if is_shortcut_name(name) else None
        except BotError as exc:
            await context.person.say(describe_failure(exc, "preview"))
            return
        if removed is None:
            shown = escape(name[:40])
            await context.person.say(f"There is no shortcut called `{shown}`; `/zap shortcuts` lists them.")
            return
        await context.person.send(shortcut_forgotten_message(removed))

    return forget
