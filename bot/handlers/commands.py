"""`/zap` and @mentions: parse at once, ack, and leave the preview to the background."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.errors import UsageError
from bot.handlers.deps import Deps
from bot.handlers.flow import preview_and_post
from bot.handlers.replies import Privately
from bot.messages import escape, help_message, notice_message
from bot.parsing import HelpCommand, RunCommand, parse_command, strip_bot_mention
from bot.service import Where
from bot.tasks import TooBusy

log = logging.getLogger(__name__)

BUSY = "zapbot is very busy right now and did not start this. Nothing was run; try again in a minute."


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command("/zap")
    async def zap_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        try:
            parsed = parse_command(command.get("text", ""))
        except UsageError as exc:
            await ack(**help_message(exc.problem))
            return
        if isinstance(parsed, HelpCommand):
            await ack(**help_message(parsed.problem))
            return
        where = Where(team=command["team_id"], channel=command["channel_id"], user=command["user_id"])
        privately = Privately(
            user=where.user, channel=where.channel, response_url=command.get("response_url")
        )
        request = parsed.request
        try:
            deps.tasks.spawn(
                preview_and_post(deps, request, where, thread_ts=None, privately=privately), name="preview"
            )
        except TooBusy:
            await ack(**notice_message(BUSY))
            return
        await ack(
            **notice_message(
                f"Asking Zapier for a preview of `{escape(request.app)} {escape(request.action)}`…"
            )
        )

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Events are acked by Bolt when this returns; everything slow happens in the task.
        try:
            deps.tasks.spawn(_handle_mention(deps, body, event), name="mention")
        except TooBusy:
            log.warning("dropped a mention: too many tasks in flight")


async def _handle_mention(deps: Deps, body: dict[str, Any], event: dict[str, Any]) -> None:
    thread_ts = event.get("thread_ts") or event["ts"]
    where = Where(
        team=body.get("team_id") or event.get("team", ""), channel=event["channel"], user=event["user"]
    )
    privately = Privately(user=where.user, channel=where.channel, thread_ts=thread_ts)
    event_id = body.get("event_id")
    if event_id and not await deps.store.first_delivery(event_id):
        log.info("ignored a re-delivery of event %s", event_id)
        return
    try:
        parsed = parse_command(strip_bot_mention(event.get("text", "")))
    except UsageError as exc:
        await privately.send(deps, help_message(exc.problem))
        return
    if isinstance(parsed, RunCommand):
        await preview_and_post(deps, parsed.request, where, thread_ts=thread_ts, privately=privately)
    else:
        await privately.send(deps, help_message(parsed.problem))
