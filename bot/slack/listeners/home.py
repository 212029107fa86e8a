"""The App Home tab: `app_home_opened` -> `views.publish` of the person's page (bot/home/), the Disconnect
button, and the Slack DM that tells someone they connected their Zapier account.

The page's Confirm and Cancel buttons carry the same action ids and values as a preview's buttons in its
channel, so the same listeners (bot/slack/listeners/buttons.py), the same run lifecycle and the same policy
handle them. A click from the Home tab has no channel in its payload, so each preview's buttons sit in a
block whose id names the preview's channel (`home_block_id`); `buttons.clicked` reads it from there. The
lifecycle still checks that channel against the preview's own, as for any click.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Awaitable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts import Connected, ConnectedNotifier
from bot.errors import BotError
from bot.home.queries import HomePage, HomeQueries, Run, Vote
from bot.ops.tasks import BackgroundTasks, TooBusy
from bot.render.messages import CANCEL, CONFIRM, CONNECT_LINK, button, clip, connect_button, escape, user
from bot.runs.records import Preview
from bot.slack.deps import Deps
from bot.slack.replies import SLACK_FAILURES, slack_error_code

log = logging.getLogger(__name__)

_CHANNEL_ID = re.compile(r"^[CGD][A-Z0-9]{1,20}$")
HOME_DISCONNECT = "zap_home_disconnect"
HOME_BLOCK = "zap_home"  # block ids `zap_home:CHANNEL:PREVIEW_ID` (see the module docstring)
MAX_BLOCKS = 100  # Slack's limit for a Home view
TEXT_CHARS = 3000

CONNECTED_DM = (
    ":white_check_mark: Your Zapier account is connected to zapbot. Actions run for you can now use it; "
    "`/zap disconnect` unlinks it."
)
SHARED = "This zapbot runs every action with one shared Zapier account."
_STATUS = {
    "success": ":white_check_mark: succeeded",
    "empty": ":white_circle: ran, found nothing",
    "error": ":x: failed",
}


def home_block_id(preview: Preview) -> str:
    return f"{HOME_BLOCK}:{preview.channel}:{preview.id}"


def home_click_channel(block_id: str) -> str:
    """The preview's channel named by a Home button's block id; "" for any other block."""
    kind, _, rest = block_id.partition(":")
    return rest.partition(":")[0] if kind == HOME_BLOCK else ""


class HomePublisher:
    """Publishes one person's Home view. Never raises: a failure is logged (the next opening retries)."""

    def __init__(self, slack: AsyncWebClient, queries: HomeQueries) -> None:
        self._slack = slack
        self._queries = queries

    async def publish(self, team: str, user: str) -> None:
        try:
            page = await self._queries.page(team, user)
        except BotError as exc:
            log.warning("could not read the Home page of %s: %s", user, type(exc).__name__)
            return
        links = await self._permalinks(page)
        try:
            await self._slack.views_publish(user_id=user, view=home_view(page, links))
        except SLACK_FAILURES as exc:
            log.warning("Slack did not publish the Home of %s (%s)", user, slack_error_code(exc))

    async def _permalinks(self, page: HomePage) -> dict[tuple[str, str], str]:
        """A link to each thread the page shows (`chat.getPermalink`); one that fails is left out."""
        shown = [(run.channel, run.thread_ts) for run in page.runs]
        shown += [(vote.channel, vote.thread_ts) for vote in page.votes]
        places = sorted({(channel, ts) for channel, ts in shown if channel and ts})

        async def link(channel: str, ts: str) -> str | None:
            try:
                answer = await self._slack.chat_getPermalink(channel=channel, message_ts=ts)
            except SLACK_FAILURES as exc:
                log.info("no permalink for %s/%s (%s)", channel, ts, slack_error_code(exc))
                return None
            permalink = answer.get("permalink")
            return permalink if isinstance(permalink, str) else None

        found = await asyncio.gather(*(link(channel, ts) for channel, ts in places))
        return {place: url for place, url in zip(places, found, strict=True) if url}


def connected_notifier(slack: AsyncWebClient, home: HomePublisher) -> ConnectedNotifier:
    """Tells a person in Slack (a DM from the app) that their Zapier account is connected, and refreshes
    their Home."""

    async def notify(connected: Connected) -> None:
        try:
            await slack.chat_postMessage(channel=connected.user, text=CONNECTED_DM)
        except SLACK_FAILURES as exc:
            log.warning("could not tell %s they connected (%s)", connected.user, slack_error_code(exc))
        await home.publish(connected.team, connected.user)

    return notify


def note_presence(deps: Deps, channel: str, user: str) -> None:
    """Record, in the background, that `user` acted with zapbot in `channel` (bot/home/presence.py): only
    with a channel Slack itself named in the request (a command's, a message's), never one of ours."""
    if deps.presence is not None:
        deps.presence.saw_soon(channel, user)


def register(app: AsyncApp, deps: Deps, home: HomePublisher) -> None:
    @app.event("app_home_opened")
    async def on_home_opened(body: dict[str, Any], event: dict[str, Any]) -> None:
        user, team = str(event.get("user", "")), str(body.get("team_id", ""))
        if event.get("tab") != "home" or not user:
            return  # the Messages tab: nothing to show
        _spawn(deps.tasks, home.publish(team, user), "home-publish")
        presence = deps.presence
        if presence is not None:  # from now on, changes re-publish it (bot/home/refresh.py)
            _spawn(deps.extras, _quietly(presence.opened_home(team, user)), "home-opened")

    @app.action(CONNECT_LINK)
    async def on_connect_link(ack: AsyncAck) -> None:
        await ack()  # the browser opens the link; Slack reports the click too and expects an answer

    @app.action(HOME_DISCONNECT)
    async def on_disconnect(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        person = body.get("user") or {}
        user = str(person.get("id", ""))
        team = str((body.get("team") or {}).get("id") or person.get("team_id", ""))
        accounts = deps.services.accounts
        if accounts is None or not user:
            return

        async def disconnect() -> None:
            try:
                await accounts.disconnect(team, user)
            except BotError as exc:
                log.warning("could not disconnect %s: %s", user, type(exc).__name__)
            await home.publish(team, user)

        _spawn(deps.tasks, disconnect(), "home-disconnect")


async def _quietly(step: Awaitable[None]) -> None:
    try:
        await step
    except BotError as exc:
        log.info("did not record a Home opening: %s", type(exc).__name__)


def _spawn(tasks: BackgroundTasks, job: Coroutine[Any, Any, object], name: str) -> None:
    try:
        tasks.spawn(job, name=name)  # closes the job when it refuses it
    except TooBusy:
        log.warning("dropped %s: too many tasks in flight (the next opening of the Home retries)", name)


# ---- the view (pure) ------------------------------------------------------------------------------------


def home_view(page: HomePage, links: dict[tuple[str, str], str]) -> dict[str, Any]:
    """The Home view of `page`: at most MAX_BLOCKS blocks, text from outside escaped."""
    blocks = [*_connection(page), {"type": "divider"}, _header("Waiting for your approval")]
    blocks += [b for preview in page.waiting for b in _waiting(preview)] or [
        _context("Nothing waits for you.")
    ]
    blocks += [{"type": "divider"}, _header("Your recent runs")]
    blocks += [_run(run, links) for run in page.runs] or [_context("No runs of yours yet.")]
    blocks += [{"type": "divider"}, _header("Your ratings")]
    blocks += [_vote(vote, links) for vote in page.votes] or [_context("You have not rated any result yet.")]
    return {"type": "home", "blocks": blocks[:MAX_BLOCKS]}


def _connection(page: HomePage) -> list[dict[str, Any]]:
    blocks = [_header("zapbot")]
    if page.connection is None:
        return [*blocks, _context(SHARED)]
    if page.connection.connected:
        button = {
            "type": "button",
            "action_id": HOME_DISCONNECT,
            "text": {"type": "plain_text", "text": "Disconnect"},
            "style": "danger",
            "value": "disconnect",
        }
        text = ":link: Your Zapier account is connected: actions run for you can use it."
    else:
        button = connect_button(page.connection.connect_url or "")
        text = (
            "Your Zapier account is not connected. Connect it to run actions with your own account "
            "(the link works once, for 10 minutes; reopen this tab for a new one)."
        )
    return [*blocks, _section(text), {"type": "actions", "elements": [button]}]


def _waiting(preview: Preview) -> list[dict[str, Any]]:
    title = (
        f"*{escape(preview.request.app)} · {escape(preview.result.action_used or preview.request.action)}*"
    )
    asked = f"asked by {user(preview.requested_by)} in {_channel(preview.channel)}"
    expires = int(preview.expires_at)
    text = (
        f"{title}, {asked}, expires <!date^{expires}^{{time}}|soon>\n"
        f">{clip(escape(preview.request.instructions), 500)}"
    )
    buttons = [
        button("Confirm", CONFIRM, f"{preview.id}:{preview.fingerprint}", style="primary"),
        button("Cancel", CANCEL, preview.id),
    ]
    return [_section(text), {"type": "actions", "block_id": home_block_id(preview), "elements": buttons}]


def _run(run: Run, links: dict[tuple[str, str], str]) -> dict[str, Any]:
    outcome = _STATUS.get(run.status, escape(run.status) or "outcome unknown")
    role = "asked" if run.asked else "confirmed"
    at = f"<!date^{int(run.at)}^{{date_short_pretty}} {{time}}|earlier>" if run.at else ""
    text = f"*{escape(run.app)} · {escape(run.action)}*: {outcome} ({role} by you{', ' + at if at else ''})"
    return _context(text + _link(links, run.channel, run.thread_ts))


def _vote(vote: Vote, links: dict[tuple[str, str], str]) -> dict[str, Any]:
    mark = ":+1:" if vote.vote > 0 else ":-1:"
    text = f"{mark} *{escape(vote.app)} · {escape(vote.action)}*"
    return _context(text + _link(links, vote.channel, vote.thread_ts))


def _link(links: dict[tuple[str, str], str], channel: str, ts: str) -> str:
    url = links.get((channel, ts))
    return f" · <{url}|see the thread>" if url else ""


def _channel(channel_id: str) -> str:
    """A channel mention of an id from our own records; anything else as plain text."""
    return f"<#{channel_id}>" if _CHANNEL_ID.match(channel_id) else escape(channel_id)


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": text}}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, TEXT_CHARS), "verbatim": True}}


def _context(text: str) -> dict[str, Any]:
    return {
        "type": "context",
        "elements": [{"type": "mrkdwn", "text": clip(text, TEXT_CHARS), "verbatim": True}],
    }
