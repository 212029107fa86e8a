"""`python -m bench.floor`: the floor the bot is measured against, a bare Bolt app that only acks `/zap`.

The same stack as the bot: Bolt's AsyncApp behind an aiohttp server, verifying Slack's signature with the
same secret, authorizing with the same token against the same Slack stand-in (`auth.test`, once). It uses
Bolt's fastest documented setting, `process_before_response=True` (with the default, Bolt polls for the
ack every 10 ms), and the default asyncio event loop, as a plain Bolt app would. It reads the bot's
environment variables: SLACK_BOT_TOKEN, SLACK_SIGNING_SECRET, SLACK_API_URL, HOST, PORT.
"""

from __future__ import annotations

import os

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response, to_bolt_request
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient


def create_floor_app() -> web.Application:
    bolt = AsyncApp(
        client=AsyncWebClient(token=os.environ["SLACK_BOT_TOKEN"], base_url=os.environ["SLACK_API_URL"]),
        signing_secret=os.environ["SLACK_SIGNING_SECRET"],
        process_before_response=True,
    )

    @bolt.command("/zap")
    async def zap(ack: AsyncAck) -> None:
        await ack()

    async def events(request: web.Request) -> web.Response:
        return await to_aiohttp_response(await bolt.async_dispatch(await to_bolt_request(request)))

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"status": "ok"})

    app = web.Application()
    app.router.add_post("/slack/events", events)
    app.router.add_get("/healthz", healthz)
    return app


def main() -> None:
    web.run_app(
        create_floor_app(),
        host=os.environ.get("HOST", "127.0.0.1"),
        port=int(os.environ["PORT"]),
        print=None,
        access_log=None,
    )


if __name__ == "__main__":
    main()
