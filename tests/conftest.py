"""Fixtures shared by every test: a real Redis, the Slack and Zapier stand-ins, an HTTP session.

Everything listens on 127.0.0.1 and nothing talks to any other address.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import redis.asyncio

from bot.settings import Settings
from tests.support.bot_server import RunningBot, running_bot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.redis_process import NOT_FOUND, RedisProcess
from tests.support.replicas import replica_env

PROXY_VARIABLES = ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")


@pytest.fixture(scope="session", autouse=True)
def _no_proxies() -> Iterator[None]:
    """slack-sdk honours proxy variables but not NO_PROXY: without this, local calls could leave the host."""
    with pytest.MonkeyPatch.context() as patch:
        for name in PROXY_VARIABLES:
            patch.delenv(name, raising=False)
        yield


def _worker_number() -> int:
    """This pytest-xdist worker's number (gw3 -> 3); 0 without xdist."""
    return int(os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw") or 0)


def _own_database(url: str, worker: int) -> str:
    """``url`` with its database number moved up by ``worker``: each xdist worker flushes only its own."""
    parts = urlsplit(url)
    database = int(parts.path.strip("/") or 0) + worker
    return urlunsplit(parts._replace(path=f"/{database}"))


@pytest.fixture(scope="session", autouse=True)
def _no_certificate_bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing in the tests speaks TLS (every server is http://127.0.0.1), yet each httpx client the bot
    builds loads the CA bundle named by SSL_CERT_FILE or certifi's (~40 ms of CPU a client, in this
    process and in each `python -m bot` child). An empty SSL_CERT_DIR is read only when a TLS peer is
    verified, which never happens here."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("SSL_CERT_FILE", raising=False)
        patch.setenv("SSL_CERT_DIR", str(tmp_path_factory.mktemp("no-certificates")))
        yield


@pytest.fixture(scope="session")
def redis_server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A Redis for this process (each xdist worker has its own): a redis-server of our own on a free
    port, or, with ``ZAPBOT_TEST_REDIS_URL``, that server with one database number per worker."""
    if url := os.environ.get("ZAPBOT_TEST_REDIS_URL"):
        yield _own_database(url, _worker_number())
        return
    if shutil.which("redis-server") is None:
        pytest.fail(NOT_FOUND, pytrace=False)
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    try:
        yield server.start()
    finally:
        server.stop()


@pytest.fixture
async def redis_url(redis_server_url: str) -> str:
    """The session's Redis URL, its database emptied before the test."""
    client = redis.asyncio.Redis.from_url(redis_server_url)
    try:
        await client.flushdb()
    finally:
        await client.aclose()
    return redis_server_url


@pytest.fixture
async def fake_zapier() -> AsyncIterator[FakeZapier]:
    """A running FakeZapier; the test fails at teardown if any exchange broke the spec."""
    fake = FakeZapier()
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()
    assert fake.violations == [], "requests or answers broke the Zapier spec:\n" + "\n".join(fake.violations)


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "polite_slack: the fake_slack of this test takes every call (no limits)"
    )
    config.addinivalue_line("markers", "realistic_slack: the fake_slack of this test behaves as Slack does")


@pytest.fixture
async def fake_slack(request: pytest.FixtureRequest) -> AsyncIterator[FakeSlack]:
    """A running FakeSlack (Web API and response URLs): realistic or polite as the test's marker says,
    else as ``REALISTIC_BY_DEFAULT`` in tests/support/fakes/slack_server.py."""
    realistic = None
    if request.node.get_closest_marker("polite_slack"):
        realistic = False
    elif request.node.get_closest_marker("realistic_slack"):
        realistic = True
    fake = FakeSlack(realistic=realistic)
    await fake.start()
    try:
        yield fake
    finally:
        await fake.stop()


@pytest.fixture
async def http_session() -> AsyncIterator[aiohttp.ClientSession]:
    """An aiohttp client session, closed after the test."""
    async with aiohttp.ClientSession() as session:
        yield session


@pytest.fixture
def bot_settings(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str) -> Settings:
    """Settings pointing the bot at the stand-ins and the test Redis; tests may copy and change them."""
    return settings_for(fake_slack, fake_zapier, redis_url)


@pytest.fixture
async def bot(
    bot_settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> AsyncIterator[RunningBot]:
    """The real bot, built as `python -m bot` builds it, serving HTTP on 127.0.0.1."""
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as running:
        yield running


@pytest.fixture
async def redis_client(redis_url: str) -> AsyncIterator[redis.asyncio.Redis]:
    """A Redis client for looking at what the bot stored."""
    client = redis.asyncio.Redis.from_url(redis_url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture
def env(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str) -> dict[str, str]:
    """The environment of an HTTP-mode replica (`python -m bot`): the stand-ins and the test Redis."""
    return replica_env(fake_slack, fake_zapier, redis_url)
