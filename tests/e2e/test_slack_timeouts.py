"""Every Slack call bounded (issue 21, item 5), through the real bot: a Web API call that Slack never answers
ends at SLACK_TIMEOUT_SECONDS, and the handler that caught only SlackApiError before now tells the person
what it knows (Slack did not answer, so the form may not have opened) instead of failing silently."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from aiohttp import web

from bot.settings import Settings
from tests.support.bot_server import running_bot
from tests.support.fakes._http import LocalServer
from tests.support.fakes.slack_server import FakeSlack
from tests.support.helpers import text_of

pytestmark = pytest.mark.realistic_slack


class StallingSlack:
    """Slack's Web API that never answers `stalled` methods; every other call goes on to the stand-in."""

    def __init__(self, slack: FakeSlack, *stalled: str) -> None:
        self.slack = slack
        self.stalled = set(stalled)
        self.held: list[str] = []
        app = web.Application()
        app.router.add_route("*", "/api/{method}", self._handle)
        self._server = LocalServer(app)

    @property
    def api_url(self) -> str:
        return f"{self._server.url}/api/"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        method = request.match_info["method"]
        if method in self.stalled:
            self.held.append(method)
            await asyncio.Event().wait()  # never answers; cancelled when the server stops
        async with (
            aiohttp.ClientSession() as http,
            http.request(
                request.method,
                self.slack.api_url + method,
                data=await request.read(),
                headers={k: v for k, v in request.headers.items() if k.lower() != "host"},
            ) as answer,
        ):
            return web.Response(
                body=await answer.read(), status=answer.status, content_type=answer.content_type
            )

    async def __aenter__(self) -> StallingSlack:
        await self._server.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self._server.stop()


@pytest.fixture
async def stalling(fake_slack: FakeSlack) -> AsyncIterator[StallingSlack]:
    async with StallingSlack(fake_slack, "views.open") as slack:
        yield slack


async def test_a_views_open_slack_never_answers_times_out_and_the_person_is_told(
    bot_settings: Settings,
    http_session: aiohttp.ClientSession,
    fake_slack: FakeSlack,
    stalling: StallingSlack,
) -> None:
    """`/zap form` while Slack holds views.open unanswered: the call ends at SLACK_TIMEOUT_SECONDS (0.5 s
    here, not aiohttp's 300 s) and the person hears, on the command's response_url, that Slack did not
    answer in time and the form may not have opened."""
    settings = bot_settings.model_copy(
        update={"slack_api_url": stalling.api_url, "slack_timeout_seconds": 0.5}
    )
    async with running_bot(settings, http_session, fake_slack.response_url_base) as bot:
        await bot.slack.command("form")

        [told] = await fake_slack.wait_for_response_posts(1, timeout=5)
        text = text_of(told.json)
        assert "did not answer in time" in text and "`timeout`" in text and "may not have opened" in text
        assert stalling.held == ["views.open"]
