"""Button clicks: Confirm, Cancel, Show full result. Ack at once; the work happens in the background."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.handlers.deps import Deps
from bot.handlers.flow import cancel, confirm, show_full_result
from bot.handlers.replies import Privately
from bot.messages import CANCEL, CONFIRM, FULL_RESULT
from bot.service import Where
from bot.tasks import TooBusy

log = logging.getLogger(__name__)


def _where(body: dict[str, Any]) -> tuple[Where, Privately]:
    user = body.get("user", {}).get("id", "")
    channel = (body.get("channel") or {}).get("id") or body.get("container", {}).get("channel_id", "")
    team = (body.get("team") or {}).get("id") or body.get("user", {}).get("team_id", "")
    where = Where(team=team, channel=channel, user=user)
    return where, Privately(user=user, channel=channel, response_url=body.get("response_url"))


def _value(body: dict[str, Any]) -> str:
    actions = body.get("actions") or [{}]
    return str(actions[0].get("value", ""))[:2000]


def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(CONFIRM)
    async def on_confirm(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = _where(body)
        _spawn(deps, confirm(deps, _value(body), where, privately), "confirm")

    @app.action(CANCEL)
    async def on_cancel(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = _where(body)
        _spawn(deps, cancel(deps, _value(body), where, privately), "cancel")

    @app.action(FULL_RESULT)
    async def on_full_result(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        _, privately = _where(body)
        _spawn(deps, show_full_result(deps, _value(body), privately), "full-result")


def _spawn(deps: Deps, coro: Any, name: str) -> None:
    try:
        deps.tasks.spawn(coro, name=name)
    except TooBusy:
        log.warning("dropped a %s click: too many tasks in flight", name)
