"""The "Not this? …" buttons of a plain-English preview (bot/commands/english.py made it): a click switches
to another candidate through the run lifecycle (bot/runs/changes.py `switch`), with the same policy check
as Cancel and Edit."""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_bolt.async_app import AsyncAck, AsyncApp

from bot.discovery.messages import (
    SWITCH,
)
from bot.slack.deps import Deps
from bot.slack.listeners.buttons import clicked, clicked_value, start_click
from bot.slack.surface import SlackPerson

log = logging.getLogger(__name__)


# switching to another candidate: the run lifecycle's (bot/runs/changes.py `switch`) -------------------
def register(app: AsyncApp, deps: Deps) -> None:
    @app.action(re.compile(rf"^{SWITCH}\d+$"))
    async def on_switch(ack: AsyncAck, body: dict[str, Any]) -> None:
        await ack()
        where, privately = clicked(body)
        job = deps.runs.changes.switch(clicked_value(body), where, SlackPerson(deps, privately))
        start_click(deps, privately, job, "switch")
