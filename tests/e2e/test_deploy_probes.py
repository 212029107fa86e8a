"""The probe paths the Kubernetes manifests (deploy/) name are routes the real bot serves."""

from __future__ import annotations

import aiohttp
import pytest

from tests.support.bot_server import RunningBot


@pytest.mark.parametrize(
    "path",
    [
        "/healthz",
        "/livez",
        "/readyz",
    ],
)
async def test_the_bot_serves_every_probe_path(
    path: str, bot: RunningBot, http_session: aiohttp.ClientSession
) -> None:
    """Each probe path in the manifests is a route of the real bot answering 200 when all is well."""
    async with http_session.get(bot.url + path) as response:
        assert response.status == 200
