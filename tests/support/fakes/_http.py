"""What the fake servers share: an aiohttp app on 127.0.0.1, port 0, and waiting for traffic.

The fakes' ``wait_for(..., timeout=)`` is the deadline of an assertion, not an I/O timeout a caller could
wrap in ``asyncio.timeout``: hence their ``noqa: ASYNC109``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from typing import TypeVar

from aiohttp import web

T = TypeVar("T")


class LocalServer:
    """Runs one aiohttp application on 127.0.0.1 on a port the OS picks; nothing else is ever bound."""

    def __init__(self, app: web.Application) -> None:
        self._app = app
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        """Base URL without a trailing slash, e.g. ``http://127.0.0.1:41234``."""
        if not self.port:
            raise RuntimeError("server not started")
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        # A short shutdown timeout: handlers still sleeping on a scripted delay are cancelled at stop().
        self._runner = web.AppRunner(self._app, access_log=None, shutdown_timeout=0.2)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def wait_until(
    found: Callable[[], Sequence[T]], count: int, seconds: float, describe: Callable[[], str]
) -> list[T]:
    """Poll ``found()`` until it holds ``count`` items; after ``seconds`` fail, showing ``describe()``."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while len(items := found()) < count:
        if loop.time() >= deadline:
            raise AssertionError(
                f"expected {count}, got {len(items)} after {seconds:.1f}s; received so far: {describe()}"
            )
        await asyncio.sleep(0.01)
    return list(items)
