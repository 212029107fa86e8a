"""Emoji reactions on the bot's messages. Handled (not 404) so that Slack does not re-deliver them."""

from __future__ import annotations

from typing import Any

from slack_bolt.async_app import AsyncApp

from bot.handlers.deps import Deps


def register(app: AsyncApp, deps: Deps) -> None:
    @app.event("reaction_added")
    async def on_reaction_added(event: dict[str, Any]) -> None:
        return None

    @app.event("reaction_removed")
    async def on_reaction_removed(event: dict[str, Any]) -> None:
        return None
