"""The benchmark's load generator speaks enough HTTP/1.1 to be trusted (bench/load.py `Client`).

Its figures are only as good as its parsing: each test serves answers of one shape from a real aiohttp
server on 127.0.0.1 and checks what the client read, and that it reuses or drops connections as it must.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from bench.load import Client, send
from bench.slack import Signed

REQUEST = Signed(
    body=b"token=x&command=%2Fzap", headers={"Content-Type": "application/x-www-form-urlencoded"}
)


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, list[tuple[str, bytes, str]]]]:
    """A server that records (path, body, peer port) and answers by path."""
    seen: list[tuple[str, bytes, str]] = []

    async def handle(request: web.Request) -> web.StreamResponse:
        peer = request.transport.get_extra_info("peername") if request.transport else None
        seen.append((request.path, await request.read(), str(peer[1] if peer else "")))
        if request.path == "/chunked":
            response = web.StreamResponse(status=201)
            response.enable_chunked_encoding()
            await response.prepare(request)
            for part in (b"first ", b"second ", b"third"):
                await response.write(part)
            await response.write_eof()
            return response
        if request.path == "/close":
            return web.Response(status=200, body=b"bye", headers={"Connection": "close"})
        if request.path == "/empty":
            return web.Response(status=204)
        return web.Response(status=401 if request.path == "/refuse" else 200, body=b'{"ok": true}')

    app = web.Application()
    app.router.add_route("POST", "/{tail:.*}", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        await runner.cleanup()


async def test_bodies_statuses_and_one_kept_alive_connection(
    server: tuple[str, list[tuple[str, bytes, str]]],
) -> None:
    """Content-Length answers are read whole, any status is reported, and sequential requests share one
    connection (a generator that reconnected each time would measure connection set-up, not the bot)."""
    base, seen = server
    async with Client(limit=4) as client:
        first = await send(client, base + "/slack/events", REQUEST)
        second = await send(client, base + "/refuse", REQUEST)
        third = await send(client, base + "/empty", REQUEST)

    assert (first.status, first.body) == (200, b'{"ok": true}')
    assert (second.status, second.body) == (401, b'{"ok": true}')
    assert (third.status, third.body) == (204, b"")
    assert [path for path, _, _ in seen] == ["/slack/events", "/refuse", "/empty"]
    assert {body for _, body, _ in seen} == {REQUEST.body}
    assert len({peer for _, _, peer in seen}) == 1


async def test_chunked_answers_and_connection_close(server: tuple[str, list[tuple[str, bytes, str]]]) -> None:
    """A chunked body is put back together; after `Connection: close` the next request opens a new
    connection instead of writing into a closed one."""
    base, seen = server
    async with Client(limit=4) as client:
        chunked = await send(client, base + "/chunked", REQUEST)
        closing = await send(client, base + "/close", REQUEST)
        after = await send(client, base + "/slack/events", REQUEST)

    assert (chunked.status, chunked.body) == (201, b"first second third")
    assert (closing.status, closing.body) == (200, b"bye")
    assert after.status == 200
    assert seen[1][2] != seen[2][2]


async def test_a_refused_connection_is_reported_not_raised() -> None:
    """Nothing listening: the answer is status 0 with the reason, so a phase counts it as an error."""
    async with Client(limit=1) as client:
        sent = await send(client, "http://127.0.0.1:9/slack/events", REQUEST)

    assert sent.status == 0
    assert b"Connect" in sent.body or b"refused" in sent.body.lower()
