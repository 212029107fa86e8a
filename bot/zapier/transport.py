"""An httpx transport that sends through aiohttp's connection pool: the Zapier client's wire.

Why: httpcore's pool (httpx's default transport) walks every open connection and every queued request on
each request and each response, testing each socket. With Zapier taking a second or more per call and a
few hundred calls in flight, that cost grows with the square of the load: the benchmark (bench/) measured
about 20 ms of CPU per call at 100-1000 in flight, against under 1 ms through aiohttp's pool, which the bot
already uses for Slack. The Zapier client keeps its httpx interface (requests, responses, errors, and
`httpx.MockTransport` in unit tests); only the wire changes.

aiohttp's errors become the httpx errors httpx itself would raise for the same fault, so that the client
tells "did not answer in time" (a timeout) from "could not be reached" (refused, reset) exactly as before.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.request import (  # type: ignore[attr-defined]  # in the stdlib, missing from typeshed
    getproxies_environment,
    proxy_bypass_environment,
)

import aiohttp
import httpx

# Most specific first: aiohttp's timeout errors are also connection errors.
_ERRORS: tuple[tuple[type[BaseException], type[httpx.TransportError]], ...] = (
    (aiohttp.ConnectionTimeoutError, httpx.ConnectTimeout),  # connecting, or waiting for a pooled one
    (aiohttp.SocketTimeoutError, httpx.ReadTimeout),
    (TimeoutError, httpx.ReadTimeout),
    (aiohttp.ClientConnectorError, httpx.ConnectError),  # refused, DNS, TLS handshake
    (aiohttp.ServerDisconnectedError, httpx.RemoteProtocolError),  # closed without an answer
    (aiohttp.ClientPayloadError, httpx.RemoteProtocolError),  # the body was cut short
    (aiohttp.ClientConnectionError, httpx.ReadError),  # reset while talking
    (aiohttp.ClientError, httpx.TransportError),
)


class AiohttpTransport(httpx.AsyncBaseTransport):
    """Sends httpx requests with one aiohttp session (created on first use, inside the running loop)."""

    def __init__(
        self,
        *,
        max_connections: int,
        keepalive_expiry: float = 5.0,
        proxies: Mapping[str, str] | None = None,
    ) -> None:
        self._max_connections = max_connections
        self._keepalive_expiry = keepalive_expiry
        self._session: aiohttp.ClientSession | None = None
        # Made now, not with the session: loading the CA bundle takes ~50 ms, which stalled the event loop
        # (and every ack behind it) at the first Zapier call.
        self._ssl = httpx.create_ssl_context()  # the CA bundle httpx would use
        # Proxies from the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY), read once as httpx
        # reads them when a client is made. (aiohttp's trust_env would read them, and ~/.netrc, in a thread
        # on every request: a tenth of the bot's CPU under load.)
        self._proxies = dict(getproxies_environment() if proxies is None else proxies)
        self._proxy_for: dict[tuple[str, str], str | None] = {}

    def _client(self) -> aiohttp.ClientSession:
        if self._session is None:
            connector = aiohttp.TCPConnector(
                limit=self._max_connections,
                keepalive_timeout=self._keepalive_expiry,
                ssl=self._ssl,
            )
            # auto_decompress off: httpx decodes the body itself, as it does for its own transport.
            self._session = aiohttp.ClientSession(connector=connector, auto_decompress=False)
        return self._session

    def _proxy(self, url: httpx.URL) -> str | None:
        key = (url.scheme, url.host)
        if key not in self._proxy_for:
            bypass = not self._proxies or proxy_bypass_environment(url.host, self._proxies)
            self._proxy_for[key] = None if bypass else self._proxies.get(url.scheme, self._proxies.get("all"))
        return self._proxy_for[key]

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeout = request.extensions.get("timeout", {})
        pool, connect = timeout.get("pool"), timeout.get("connect")
        client_timeout = aiohttp.ClientTimeout(
            total=None,
            connect=None if pool is None or connect is None else pool + connect,
            sock_connect=connect,
            sock_read=timeout.get("read"),
        )
        try:
            async with self._client().request(
                request.method,
                str(request.url),
                headers=request.headers.multi_items(),
                data=await request.aread() or None,
                allow_redirects=False,  # httpx follows redirects itself, if told to
                proxy=self._proxy(request.url),
                timeout=client_timeout,
            ) as response:
                body = await response.read()
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise _translated(exc, request) from exc
        extensions = {"http_version": b"HTTP/1.1"}
        if response.reason:
            extensions["reason_phrase"] = response.reason.encode()
        return httpx.Response(
            response.status,
            headers=list(response.raw_headers),
            stream=httpx.ByteStream(body),
            request=request,
            extensions=extensions,
        )

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None


def _translated(error: BaseException, request: httpx.Request) -> httpx.TransportError:
    for aiohttp_error, httpx_error in _ERRORS:
        if isinstance(error, aiohttp_error):
            return httpx_error(str(error) or type(error).__name__, request=request)
    return httpx.TransportError(str(error), request=request)
