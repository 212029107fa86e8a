"""The Zapier client's wire (bot/zapier/transport.py): aiohttp's pool behind httpx's interface.

Each fault or answer from the Zapier stand-in must look to the client exactly as it does through httpx's own
transport: the same error classes, statuses, headers and decoded bodies.
"""

from __future__ import annotations

import gzip
import json
import socket
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from bot.actions import ActionRequest, ActionType, Param, ParamMode
from bot.errors import ZapierConnectionError, ZapierServerError
from bot.zapier.client import ZapierClient, new_http_client
from bot.zapier.transport import AiohttpTransport
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import Drop, FakeZapier, Reply

ACTION = {"instructions": "Say hi", "app": "SlackAPI", "action": "channel_message", "action_type": "write"}
PREVIEW = {"preview_only": "true"}
KEY = {"x-api-key": "test-zapier-key"}
REQUEST = ActionRequest(
    "SlackAPI", "channel_message", "Say hi", ActionType.WRITE, {"channel": Param(ParamMode.GUESS, "#general")}
)


@pytest.fixture
async def ours() -> AsyncIterator[httpx.AsyncClient]:
    """The client the bot uses for Zapier (our transport), with a short read timeout."""
    client = new_http_client(read_timeout=0.3)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
async def stock() -> AsyncIterator[httpx.AsyncClient]:
    """httpx with its own transport, as the reference."""
    async with httpx.AsyncClient(timeout=httpx.Timeout(5.0, read=0.3)) as client:
        yield client


async def outcome(client: httpx.AsyncClient, url: str, **kw: Any) -> Any:
    """What a caller sees: the error class, or the status, chosen headers and decoded body."""
    try:
        response = await client.post(url, params=PREVIEW, json=ACTION, headers=KEY, **kw)
    except httpx.HTTPError as exc:
        return type(exc)
    headers = {k: response.headers.get(k) for k in ("content-type", "retry-after")}
    return response.status_code, response.reason_phrase, headers, response.content


@pytest.mark.parametrize(
    "reply",
    [
        Reply(json={"execution_log_id": "L1", "action_used": "A", "input_params": {}, "status": "preview"}),
        Reply(status=502, body=b"<html>oops", headers={"Content-Type": "text/html"}, off_spec=True),
        Reply(status=429, json={"error": "Slow down."}, headers={"Retry-After": "3"}, off_spec=True),
        Reply(
            body=gzip.compress(json.dumps({"error": "Zipped."}).encode()),
            status=400,
            headers={"Content-Encoding": "gzip"},
            off_spec=True,
        ),
        Drop(),
        Reply(delay=1.0, json={}, off_spec=True),
    ],
    ids=["preview", "html-502", "429-retry-after", "gzip", "dropped", "too-slow"],
)
async def test_the_same_answer_or_error_as_httpx_own_transport(
    fake_zapier: FakeZapier, ours: httpx.AsyncClient, stock: httpx.AsyncClient, reply: Reply | Drop
) -> None:
    """A Zapier answer or fault looks the same through our transport as through httpx's own."""
    fake_zapier.script("preview", reply, reply)
    url = fake_zapier.url + "/api/v2/execute/"

    assert await outcome(ours, url) == await outcome(stock, url)


async def test_a_refused_connection_is_a_connect_error(
    ours: httpx.AsyncClient, stock: httpx.AsyncClient
) -> None:
    """Nothing listening: both transports raise httpx.ConnectError."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}/api/v2/execute/"  # bound, never listening

        assert await outcome(ours, url) is httpx.ConnectError
        assert await outcome(stock, url) is httpx.ConnectError


async def test_the_request_reaches_zapier_as_sent(fake_zapier: FakeZapier, ours: httpx.AsyncClient) -> None:
    """Method, path, query, headers and JSON body arrive intact (and fit the spec)."""
    response = await ours.post(fake_zapier.url + "/api/v2/execute/", params=PREVIEW, json=ACTION, headers=KEY)

    assert response.status_code == 200
    [received] = fake_zapier.of("preview")
    assert received.query == PREVIEW
    assert received.headers["x-api-key"] == "test-zapier-key"
    assert received.headers["content-type"] == "application/json"
    assert received.json == ACTION


async def test_the_client_tells_a_timeout_from_a_reset(
    fake_zapier: FakeZapier, ours: httpx.AsyncClient
) -> None:
    """Through our transport the Zapier client still says which: timed out, or could not be reached."""
    client = ZapierClient(ours, api_key=SecretStr("test-zapier-key"), base_url=fake_zapier.url, retries=0)
    fake_zapier.script("preview", Drop(), Reply(delay=1.0, json={}, off_spec=True))

    with pytest.raises(ZapierConnectionError) as reset:
        await client.preview(REQUEST)
    with pytest.raises(ZapierConnectionError) as slow:
        await client.preview(REQUEST)

    assert (reset.value.timed_out, slow.value.timed_out) == (False, True)
    assert "RemoteProtocolError" in str(reset.value)


async def test_a_server_error_keeps_the_reason_phrase(
    fake_zapier: FakeZapier, ours: httpx.AsyncClient
) -> None:
    """A 5xx without a JSON body is reported with HTTP's reason phrase, as before."""
    client = ZapierClient(ours, api_key=SecretStr("test-zapier-key"), base_url=fake_zapier.url, retries=0)
    fake_zapier.script(
        "preview", Reply(status=503, body=b"down", headers={"Content-Type": "text/plain"}, off_spec=True)
    )

    with pytest.raises(ZapierServerError) as error:
        await client.preview(REQUEST)

    assert (error.value.status_code, error.value.error) == (503, "Service Unavailable")


async def test_a_proxy_is_used_unless_no_proxy_names_the_host(
    fake_zapier: FakeZapier, fake_slack: FakeSlack
) -> None:
    """With a proxy configured, requests go through it; NO_PROXY hosts are reached directly, as in httpx."""
    proxy = fake_slack.api_url.removesuffix("/api/")  # any other server: it answers 404 for Zapier's path
    url = fake_zapier.url + "/api/v2/execute/"
    through = httpx.AsyncClient(transport=AiohttpTransport(max_connections=5, proxies={"http": proxy}))
    direct = httpx.AsyncClient(
        transport=AiohttpTransport(max_connections=5, proxies={"http": proxy, "no": "127.0.0.1"})
    )
    async with through, direct:
        proxied = await through.post(url, params=PREVIEW, json=ACTION, headers=KEY)
        assert (proxied.status_code, fake_zapier.of("preview")) == (404, [])

        bypassed = await direct.post(url, params=PREVIEW, json=ACTION, headers=KEY)
        assert bypassed.status_code == 200
        assert len(fake_zapier.of("preview")) == 1
