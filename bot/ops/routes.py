"""Endpoints for the people and systems that run the bot: GET /readyz and GET /metrics.

(`GET /healthz`, liveness, is in `bot.slack.app`: it answers 200 whenever the process serves and Redis
answers.)

`/readyz` says whether this replica can do its job: Redis answers, Zapier accepts the API key (checked
through `bot.ops.readiness.ZapierKeyCheck`, which keeps its verdict briefly; with per-user accounts and no
key, `AccountsCheck`: the OAuth client's configuration is complete), Slack accepts the bot token
(`slack`: bot/slack/access.py) and, in Socket Mode, the socket is connected (`socket`:
bot/slack/socket_mode.py).
"""

from __future__ import annotations

from aiohttp import web

from bot.errors import BotError
from bot.ops.metrics import Metrics
from bot.ops.readiness import ZapierCheck
from bot.slack.access import SlackAccess
from bot.slack.socket_mode import SocketModeConnection
from bot.store import Store


def register_ops_routes(
    web_app: web.Application,
    *,
    store: Store,
    metrics: Metrics,
    zapier_key: ZapierCheck,
    slack_access: SlackAccess | None = None,
    socket: SocketModeConnection | None = None,
) -> None:
    async def readyz(request: web.Request) -> web.Response:
        parts: dict[str, str] = {}
        try:
            await store.ping()
            parts["redis"] = "ok"
        except BotError as exc:
            parts["redis"] = str(exc)
        parts["zapier"] = await zapier_key.problem() or "ok"
        if slack_access is not None:
            parts["slack"] = slack_access.problem() or "ok"
        if socket is not None:
            parts["socket"] = await socket.problem() or "ok"
        failing = sorted(name for name, state in parts.items() if state != "ok")
        if failing:
            return web.json_response({"status": "unavailable", "failing": failing, **parts}, status=503)
        return web.json_response({"status": "ready", **parts})

    async def metrics_page(request: web.Request) -> web.Response:
        body, content_type = metrics.render(request.headers.get("Accept", ""))
        return web.Response(body=body, headers={"Content-Type": content_type})

    web_app.router.add_get("/readyz", readyz)
    web_app.router.add_get("/metrics", metrics_page)
