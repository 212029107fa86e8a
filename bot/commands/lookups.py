"""`/zap apps QUERY` and `/zap actions APP [QUERY]`: find app and action keys, shown only to the caller."""

from __future__ import annotations

import html

from bot.commands.context import Asked, Handler, Services, as_asker
from bot.discovery.finder import Finder
from bot.discovery.grammar import is_app_key
from bot.discovery.messages import actions_message, apps_message, lookup_failed_message
from bot.errors import BotError, ZapierRejected, ZapierResponseError
from bot.render.messages import describe_failure, escape

MAX_QUERY_CHARS = 200


def apps_handler(finder: Finder) -> Handler:
    async def apps(services: Services, args: str, context: Asked) -> None:
        query = html.unescape(args).strip()[:MAX_QUERY_CHARS]
        if not query:
            await context.person.say("Say what to look for: `/zap apps gmail`.")
            return
        try:
            found = await as_asker(
                services, context, lambda auth, owner: finder.apps(query, auth=auth, owner=owner)
            )
        except BotError as exc:
            await context.person.send(lookup_failed_message("search Zapier's apps", _problem(exc)))
            return
        if found is not None:  # else they were asked to connect their account
            await context.person.send(apps_message(query, found))

    return apps


def actions_handler(finder: Finder) -> Handler:
    async def actions(services: Services, args: str, context: Asked) -> None:
        app, _, rest = html.unescape(args).strip().partition(" ")
        query = rest.strip()[:MAX_QUERY_CHARS] or None
        if not app:
            await context.person.say("Say which app: `/zap actions GmailV2API [what to look for]`.")
            return
        if not is_app_key(app):
            shown = escape(app[:60])
            await context.person.say(
                f"`{shown}` is not an app key (app keys end in `API`, like `GmailV2API`). "
                f"Find it with `/zap apps {shown}`.",
            )
            return
        try:
            found = await as_asker(
                services, context, lambda auth, owner: finder.actions(app, query, auth=auth, owner=owner)
            )
        except ZapierRejected as exc:
            text = f"Zapier does not know the app `{escape(app)}` ({escape(exc.error)}). Find its key with "
            await context.person.say(text + "`/zap apps NAME`.")
            return
        except BotError as exc:
            what = f"list the actions of {app}"
            await context.person.send(lookup_failed_message(what, _problem(exc)))
            return
        if found is not None:  # else they were asked to connect their account
            await context.person.send(actions_message(app, query, found))

    return actions


def _problem(error: BotError) -> str:
    if isinstance(error, ZapierResponseError):
        return f"{error} Try again later; if it persists, Zapier may have changed this endpoint."
    return describe_failure(error, "preview").replace(" Nothing was run.", "")
