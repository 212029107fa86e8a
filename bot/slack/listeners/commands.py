"""`/zap` and @mentions: parse at once, ack, and leave the preview to the background."""

from __future__ import annotations

import logging
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.commands.context import Asked
from bot.discovery.grammar import (
    Command,
    HelpCommand,
    PlainCommand,
    SubCommand,
    parse_command,
    strip_bot_mention,
)
from bot.errors import BotError, UsageError
from bot.ops.tasks import TooBusy
from bot.render.messages import Message, describe_failure, escape, help_message, notice_message
from bot.runs.service import Where
from bot.slack.deps import CommandContext, Deps
from bot.slack.listeners.home import note_presence
from bot.slack.replies import Privately
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)

BUSY = "zapbot is very busy right now and did not start this. Nothing was run; try again in a moment."
FINDING = "Looking for the Zapier action that fits…"


def register(app: AsyncApp, deps: Deps) -> None:
    @app.command("/zap")
    async def zap_command(ack: AsyncAck, command: dict[str, Any]) -> None:
        await ack(**answer_command(deps, command))

    @app.event("app_mention")
    async def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        # Events are acked by Bolt when this returns; everything slow happens in the task.
        where, _ = _mentioned(body, event)
        hold = deps.runs.hold(where, "your mention: " + strip_bot_mention(str(event.get("text", ""))))
        try:
            deps.tasks.spawn(_handle_mention(deps, body, event), name="mention", hold=hold)
        except TooBusy:
            deps.metrics.refused_busy("mention")
            log.warning("refused a mention: too many tasks in flight")
            # In the channel, not the mention's thread: Slack shows an ephemeral in a thread only when the
            # thread already has replies.
            deps.tasks.spawn_reply(Privately(where.user, where.channel).say(deps, BUSY), name="mention-busy")


def answer_command(deps: Deps, command: dict[str, Any]) -> Message:
    """`/zap ...`: start the work and return the ack's message. Also called by bot/slack/fast_ack.py."""
    if not all(isinstance(command.get(k), str) and command[k] for k in ("team_id", "channel_id", "user_id")):
        log.warning("a /zap command came without its team, channel or user: nothing started")
        return notice_message("This command came without its channel or user, so nothing was started.")
    where = Where(team=command["team_id"], channel=command["channel_id"], user=command["user_id"])
    privately = Privately(where.user, where.channel, response_url=command.get("response_url"))
    context = CommandContext(where, privately, trigger_id=command.get("trigger_id"))
    return start(deps, command.get("text", ""), context, thread_ts=None).message


@dataclass(frozen=True)
class Started:
    """What `start` did: whether work began in the background, and what to show the caller now."""

    began: bool
    message: Message


def start(deps: Deps, text: str, context: CommandContext, *, thread_ts: str | None) -> Started:
    """Parse the text and start the work in the background; says what only the caller sees at once."""
    note_presence(deps, context.where.channel, context.where.user)  # Slack showed them this channel
    try:
        parsed: Command = parse_command(text)
    except UsageError as exc:
        deps.metrics.command("usage_error")
        return Started(False, help_message(exc.problem))
    deps.metrics.command(command_kind(parsed))
    job: Coroutine[Any, Any, object]
    if isinstance(parsed, HelpCommand):
        return Started(False, help_message(parsed.problem))
    if isinstance(parsed, SubCommand):
        handler = deps.subcommands.get(parsed.name)
        if handler is None:
            return Started(
                False, help_message(f"`{parsed.name}` is not available in this version of zapbot.")
            )
        job, note = handler(deps.services, parsed.args, asked(deps, context, thread_ts)), None
    elif isinstance(parsed, PlainCommand):
        if deps.plain_text is None:
            return Started(False, help_message("Start with an app key, like `SlackAPI`."))
        job, note = deps.plain_text(deps.services, parsed.text, asked(deps, context, thread_ts)), FINDING
    else:
        request = parsed.request
        person = SlackPerson(deps, context.privately)
        job = deps.runs.request(request, context.where, person, thread_ts=thread_ts)
        note = f"Asking Zapier for a preview of `{escape(request.app)} {escape(request.action)}`…"
    what = f"/zap {text}" if thread_ts is None else f"your mention: {text}"
    try:
        deps.tasks.spawn(job, name=type(parsed).__name__, hold=deps.runs.hold(context.where, what))
    except TooBusy:
        deps.metrics.command("busy")
        deps.metrics.refused_busy("command")
        return Started(False, notice_message(BUSY))
    return Started(True, notice_message(note) if note else {})


def asked(deps: Deps, context: CommandContext, thread_ts: str | None) -> Asked:
    """The Slack request as the surface-neutral handlers of bot/commands/ take it."""
    person = SlackPerson(deps, context.privately)
    return Asked(context.where, person, thread_ts=thread_ts, trigger_id=context.trigger_id)


def command_kind(parsed: Command) -> str:
    """The `kind` label of zapbot_commands_total: run, help or subcommand (never the user's words)."""
    if isinstance(parsed, HelpCommand):
        return "help"
    return "subcommand" if isinstance(parsed, SubCommand) else "run"


def _mentioned(body: dict[str, Any], event: dict[str, Any]) -> tuple[Where, Privately]:
    """Where a mention came from, and how to answer its author where Slack shows it.

    Previews for a mention go into its thread (a visible reply). Ephemerals go into the thread only when
    the mention is itself a reply: Slack shows an ephemeral in a thread only when that thread already has
    replies, so the answers to a top-level mention (help, a refusal, busy) go to the channel.
    """
    in_thread = bool(event.get("thread_ts"))
    thread_ts = event.get("thread_ts") or event.get("ts", "")
    where = Where(
        team=body.get("team_id") or event.get("team", ""),
        channel=event.get("channel", ""),
        user=event.get("user", ""),
    )
    return where, Privately(where.user, where.channel, thread_ts=thread_ts, whisper_in_thread=in_thread)


async def _handle_mention(deps: Deps, body: dict[str, Any], event: dict[str, Any]) -> None:
    fields = (event.get("ts"), event.get("channel"), event.get("user"))
    if not all(isinstance(value, str) and value for value in fields):
        log.warning("a mention came without its ts, channel or user: nothing started")  # found by fuzzing
        return
    thread_ts = event.get("thread_ts") or event["ts"]
    where, privately = _mentioned(body, event)
    context = CommandContext(where, privately)
    event_id = body.get("event_id")
    try:
        first = not event_id or await deps.store.first_delivery(event_id)
    except BotError as exc:
        await context.privately.say(deps, describe_failure(exc, "preview"))
        return
    if not first:
        log.info("ignored a re-delivery of event %s", event_id)
        return
    started = start(deps, strip_bot_mention(event.get("text", "")), context, thread_ts=thread_ts)
    if not started.began:
        await context.privately.send(deps, started.message)
