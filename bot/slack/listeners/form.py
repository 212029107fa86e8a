"""`/zap form` and the global shortcut: a modal to pick the app and action, then a preview in the channel.

The menus' options come through Bolt's `options` listener (block_suggestion), which must answer within Slack's
3 s. Look-ups are cached (`Finder`); one that is not answered within `options_wait` seconds gets an empty list
now and keeps running in the background, so the next keystroke is answered from the cache.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.errors import SlackApiError

from bot.accounts import NotConnected, ReconnectNeeded
from bot.commands.context import Asked, Handler, Services, as_person
from bot.discovery.finder import ActionChoice, AppChoice, Finder
from bot.discovery.form_view import (
    ACTION_SELECT,
    APP_SELECT,
    CHANNEL_BLOCK,
    FORM_SHORTCUT,
    FORM_SUBMIT,
    INSTRUCTIONS_BLOCK,
    FormPlace,
    Submitted,
    action_options,
    app_of_action_block,
    app_options,
    form_view,
    read_submission,
)
from bot.errors import BotError
from bot.ops.tasks import TooBusy
from bot.render.messages import connect_message, delivery_problem, escape, notice_message
from bot.runs.service import Where
from bot.slack.deps import Deps
from bot.slack.listeners.buttons import start_click
from bot.slack.replies import SLACK_FAILURES, Privately, no_answer, slack_error_code
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_QUERY_CHARS = 100
# A form's submission must be answered within Slack's 3 s: the check that the bot can post where the
# preview goes gets this long, and the form closes (and the preview is tried) when Slack is slower.
POST_CHECK_SECONDS = 1.5
# Slack's answers that say the bot cannot post in the chosen conversation.
CANNOT_POST = frozenset({"not_in_channel", "channel_not_found", "is_archived", "restricted_action"})


def form_handler(deps: Deps) -> Handler:
    """`/zap form`: Slack's own word (it opens a modal), served beside bot/commands/'s."""

    async def form(services: Services, args: str, context: Asked) -> None:
        if not context.trigger_id:
            await context.person.say("Open the form with the `/zap form` command.")
            return
        place = FormPlace(context.where.channel, context.thread_ts)
        if not await _may_look_up(services, context):
            return
        try:
            await deps.slack.views_open(trigger_id=context.trigger_id, view=form_view(place))
        except SLACK_FAILURES as exc:
            code = slack_error_code(exc)
            log.warning("could not open the form: %s", code)
            if no_answer(exc):
                text = f"Slack did not answer in time (`{code}`), so the form may not have opened. Try again."
            else:
                text = f"Slack did not open the form (`{code}`)."
            await context.person.say(text)

    return form


async def _may_look_up(services: Services, context: Asked) -> bool:
    """With per-user accounts, the form's menus need the person's own account: someone without one is told
    so (with the connect button) instead of getting a form whose menus stay empty."""
    accounts = services.accounts
    team, user = context.where.team, context.where.user
    try:
        if accounts is None or await accounts.connected(team, user):
            return True
        url = await accounts.connect_url(team, user)
    except BotError as exc:
        log.warning("could not check the Zapier account of %s: %s", user, type(exc).__name__)
        return True  # the menus will say nothing rather than the form not opening
    why = "Connect your Zapier account first: the form lists the apps and actions of your own account."
    await context.person.send(connect_message(url, why))
    return False


def register(app: AsyncApp, deps: Deps, finder: Finder, *, options_wait: float) -> None:
    @app.shortcut(FORM_SHORTCUT)
    async def on_shortcut(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _spawn(deps, _open(deps, str(body.get("trigger_id", ""))), "form-open")

    @app.action(APP_SELECT)
    async def on_app_chosen(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _spawn(deps, _app_chosen(deps, body), "form-app")

    # The menus list what the typing person's own Zapier account exposes (per-user accounts on), each
    # person's look-ups cached apart; someone not connected gets empty menus (/zap form told them first).
    @app.options(APP_SELECT)
    async def app_menu(ack: AsyncAck, body: dict[str, Any]) -> None:
        query = str(body.get("value", "")).strip()[:MAX_QUERY_CHARS]
        team, user = _typing(body)

        def lookup() -> Awaitable[list[AppChoice]]:
            return as_person(
                deps.services.accounts,
                team,
                user,
                lambda auth, owner: finder.apps(query, auth=auth, owner=owner),
            )

        apps = await _within(deps, lookup, options_wait) if query else None
        await ack(options=app_options(apps or []))

    @app.options(ACTION_SELECT)
    async def action_menu(ack: AsyncAck, body: dict[str, Any]) -> None:
        chosen = app_of_action_block(str(body.get("block_id", "")))
        query = str(body.get("value", "")).strip()[:MAX_QUERY_CHARS]
        team, user = _typing(body)

        def lookup() -> Awaitable[list[ActionChoice]]:
            return as_person(
                deps.services.accounts,
                team,
                user,
                lambda auth, owner: finder.actions(chosen or "", query, auth=auth, owner=owner),
            )

        actions = await _within(deps, lookup, options_wait) if chosen else None
        await ack(options=action_options(actions or []))

    @app.view(FORM_SUBMIT)
    async def on_submit(ack: AsyncAck, body: dict[str, Any], view: dict[str, Any]) -> None:
        values = (view.get("state") or {}).get("values") or {}
        opened_at = FormPlace.from_metadata(str(view.get("private_metadata", "")))
        read = read_submission(values, opened_at)
        if not isinstance(read, Submitted):
            await ack(response_action="errors", errors=read)
            return
        person = body.get("user") or {}
        team = (body.get("team") or {}).get("id") or person.get("team_id", "")
        channel = read.place.channel or ""
        where = Where(team=team, channel=channel, user=person.get("id", ""))
        if refusal := await _cannot_post(deps, read, where.user):
            # Refused inside the modal, which stays open: closed, nothing would appear anywhere.
            # The form asks for a channel only when it was opened without one (form_view).
            block = CHANNEL_BLOCK if opened_at.channel is None else INSTRUCTIONS_BLOCK
            await ack(response_action="errors", errors={block: refusal})
            return
        await ack()
        privately = Privately(where.user, channel, thread_ts=read.place.thread_ts)
        job = deps.runs.request(
            read.request, where, SlackPerson(deps, privately), thread_ts=read.place.thread_ts
        )
        what = f"the form for {read.request.app} {read.request.action}"
        start_click(deps, privately, job, "form-preview", hold=deps.runs.hold(where, what))


def _typing(body: dict[str, Any]) -> tuple[str, str]:
    """The (team, user) of the person typing in a menu."""
    person = body.get("user") or {}
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    return str(team), str(person.get("id", ""))


async def _cannot_post(deps: Deps, read: Submitted, user: str) -> str | None:
    """Why the bot cannot post the preview where the form says, or None when it can (or cannot tell in time).

    The check is the note the person would get anyway, "Asking Zapier…", sent as an ephemeral in that
    conversation: Slack refuses it as it would refuse the preview (`not_in_channel`, `channel_not_found`,
    `is_archived`), and it needs no scope beyond `chat:write` (no `channels:read` to read memberships).
    It goes to the channel rather than a thread: an ephemeral in a thread without replies is not shown.
    """
    channel = read.place.channel or ""
    what = f"{read.request.app} {read.request.action}"
    note = notice_message(f"Asking Zapier for a preview of `{escape(what)}`…")
    try:
        async with asyncio.timeout(POST_CHECK_SECONDS):
            await deps.slack.chat_postEphemeral(
                channel=channel, user=user, text=note["text"], blocks=note["blocks"]
            )
    except SlackApiError as exc:
        code = slack_error_code(exc)
        if code not in CANNOT_POST:
            return None  # e.g. user_not_in_channel, ratelimited: the bot itself may still post there
        log.info("refused a form for %s: %s", channel, code)
        return _plain(delivery_problem(code))
    except (TimeoutError, *SLACK_FAILURES) as exc:
        log.info("could not check the form's channel in time (%s): previewing anyway", slack_error_code(exc))
    return None


def _plain(text: str) -> str:
    """A modal's field error is plain text: no backticks around commands."""
    return text.replace("`", "")


async def _open(deps: Deps, trigger_id: str) -> None:
    try:
        await deps.slack.views_open(trigger_id=trigger_id, view=form_view(FormPlace()))
    except SLACK_FAILURES as exc:
        log.warning("could not open the form from the shortcut: %s", slack_error_code(exc))


async def _app_chosen(deps: Deps, body: dict[str, Any]) -> None:
    """Rebuild the modal so that its action menu belongs to the chosen app (what was typed is kept)."""
    view = body.get("view") or {}
    option = ((body.get("actions") or [{}])[0]).get("selected_option") or {}
    app = str(option.get("value", ""))
    label = str((option.get("text") or {}).get("text", ""))
    name = label.removesuffix(f" ({app})") if app else ""
    place = FormPlace.from_metadata(str(view.get("private_metadata", "")))
    new_view = form_view(place, app=app or None, app_name=name or None)
    try:
        await deps.slack.views_update(view_id=view.get("id"), hash=view.get("hash"), view=new_view)
    except SLACK_FAILURES as exc:
        # hash_conflict: the view changed meanwhile (another choice); that choice's update wins.
        log.info("did not update the form: %s", slack_error_code(exc))


async def _within(deps: Deps, lookup: Callable[[], Awaitable[T]], seconds: float) -> T | None:
    """The look-up's answer if it comes within `seconds`; else None, leaving it to fill the cache."""
    answer: asyncio.Future[T | None] = asyncio.get_running_loop().create_future()

    async def run() -> None:
        result: T | None = None
        try:
            result = await lookup()
        except (NotConnected, ReconnectNeeded):
            log.info("a menu look-up needs a Zapier account to be connected: empty menu")
        except BotError as exc:
            log.warning("a menu look-up failed: %s", exc)
        finally:
            if not answer.done():
                answer.set_result(result)

    try:
        deps.tasks.spawn(run(), name="menu-lookup")
    except TooBusy:
        return None
    try:
        return await asyncio.wait_for(asyncio.shield(answer), seconds)
    except TimeoutError:
        return None


def _spawn(deps: Deps, coro: Coroutine[Any, Any, None], name: str) -> None:
    try:
        deps.tasks.spawn(coro, name=name)
    except TooBusy:
        log.warning("dropped %s: too many tasks in flight", name)
