"""Button clicks: Confirm, Cancel, Show full result. Ack at once; the run lifecycle does the work."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.ops.tasks import Hold, TooBusy
from bot.render.messages import CANCEL, CONFIRM, FULL_RESULT
from bot.runs.service import Where
from bot.slack.deps import Deps
from bot.slack.listeners.home import home_click_channel, note_presence
from bot.slack.replies import Privately
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)

Decide = Callable[[str, Where, SlackPerson], Coroutine[Any, Any, object]]

BUSY = (
    ":hourglass: zapbot is very busy right now and did not take this click. "
    "Nothing changed; try again in a moment."
)


def clicked(body: dict[str, Any]) -> tuple[Where, Privately]:
    """Where a click came from and how to answer the person who clicked. The team is the preview's to
    find out: in a shared channel the clicker's own workspace may be another one (bot/runs/)."""
    person = body.get("user") or {}
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    if not channel and (body.get("container") or {}).get("type") == "view":
        # A click on the App Home: its block names the preview's channel (bot/slack/listeners/home.py).
        channel = home_click_channel(str((body.get("actions") or [{}])[0].get("block_id", "")))
    team = (body.get("team") or {}).get("id") or person.get("team_id", "")
    message_ts = str((body.get("container") or {}).get("message_ts") or "")
    where = Where(team=team, channel=channel, user=person.get("id", ""), message_ts=message_ts)
    return where, Privately(user=where.user, channel=channel, response_url=body.get("response_url"))


def note_clicker(deps: Deps, body: dict[str, Any]) -> None:
    """A click on a zapbot message in a channel (not on the App Home, whose channel is ours to name):
    Slack showed the clicker that channel (bot/home/presence.py)."""
    channel = (body.get("channel") or {}).get("id") or (body.get("container") or {}).get("channel_id", "")
    note_presence(deps, str(channel or ""), str((body.get("user") or {}).get("id", "")))


def clicked_value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value", ""))[:2000]


def register(app: AsyncApp, deps: Deps) -> None:
    def decision(use_case: Decide, name: str) -> Callable[[AsyncAck, dict[str, Any]], Awaitable[None]]:
        """Confirm and Cancel: the same click, a different use case (each checks the policy itself)."""

        async def on_click(ack: AsyncAck, body: dict[str, Any]) -> None:
            await ack()
            note_clicker(deps, body)
            where, privately = clicked(body)
            job = use_case(clicked_value(body), where, SlackPerson(deps, privately))
            start_click(deps, privately, job, name, hold=deps.runs.hold(where, f"your {name.title()} click"))

        return on_click

    app.action(CONFIRM)(decision(deps.runs.confirm, "confirm"))
    app.action(CANCEL)(decision(deps.runs.cancel, "cancel"))

    @app.action(FULL_RESULT)
    async def on_full_result(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _, privately = clicked(body)
        job = deps.runs.full_result(clicked_value(body), SlackPerson(deps, privately))
        start_click(deps, privately, job, "full-result")


def start_click(
    deps: Deps, privately: Privately, job: Coroutine[Any, Any, object], name: str, *, hold: Hold | None = None
) -> None:
    """Start a click's work; at the task limit, tell the person it was not taken (never drop it silently).
    `hold`: marks the work while a burst holds it back (bot/runs/held.py)."""
    try:
        deps.tasks.spawn(job, name=name, hold=hold)
    except TooBusy:
        deps.metrics.refused_busy("click")
        log.warning("refused a %s click: too many tasks in flight", name)
        deps.tasks.spawn_reply(privately.say(deps, BUSY), name=f"{name}-busy")
