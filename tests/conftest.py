"""Fixtures shared by every test: a real Redis, the Slack and Zapier stand-ins, an HTTP session.

Everything listens on 127.0.0.1 and nothing talks to any other address.
"""

from __future__ import annotations

import datetime
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit, urlunsplit

import aiohttp
import pytest
import redis.asyncio
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from bot.accounts import Accounts, build_accounts
from bot.settings import Settings
from bot.store import connect
from bot.zapier.client import new_http_client
from tests.support import fast_paths
from tests.support.accounts import ACCOUNTS_KEY
from tests.support.bot_server import RunningBot, running_bot, settings_for, settings_with_accounts
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import FakeZapierOAuth
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
def _small_certificate_bundle(tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """Nothing in the tests speaks TLS (every server is http://127.0.0.1), yet every SSL context made with
    the default trust store loads the whole CA bundle: ~45 ms of CPU for aiohttp's at each `python -m bot`
    start, and for each httpx client the bot builds. Here the trust store is one certificate of our own
    (made below; no peer ever presents it), in this process and in the children it starts."""
    directory = tmp_path_factory.mktemp("trust")
    (directory / "ca.pem").write_bytes(_self_signed_certificate())
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SSL_CERT_FILE", str(directory / "ca.pem"))
        patch.setenv("SSL_CERT_DIR", str(directory))
        yield


def _self_signed_certificate() -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "zapbot tests: trusted by nothing")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM)


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
        "markers",
        "polite_slack(reason): the fake_slack of this test takes every call (no limits); only for a test "
        "about something else that Slack's limits would only slow, and the reason must say so",
    )
    config.addinivalue_line("markers", "realistic_slack: the fake_slack of this test behaves as Slack does")
    config.addinivalue_line(
        "markers",
        "fast_paths(way): run the bots with ZAPBOT_FAST_PATHS on or off (tests/support/fast_paths.py)",
    )


@pytest.fixture(autouse=True)
def fast_paths_way(request: pytest.FixtureRequest) -> Iterator[str]:
    """The ZAPBOT_FAST_PATHS way this test's bots run (settings_for and bot processes take it)."""
    marker = request.node.get_closest_marker("fast_paths")
    way = fast_paths.way_for(request.node.nodeid, marker.args[0] if marker else None)
    request.node.add_report_section("setup", "zapbot", f"ZAPBOT_FAST_PATHS={way}")
    fast_paths.current = way
    yield way
    fast_paths.current = "on"


@pytest.fixture
async def fake_slack(request: pytest.FixtureRequest) -> AsyncIterator[FakeSlack]:
    """A running FakeSlack (Web API and response URLs): realistic (as Slack behaves: the default, see
    ``REALISTIC_BY_DEFAULT`` in tests/support/fakes/slack_server.py) unless the test is marked
    ``polite_slack(reason=...)``."""
    realistic = None
    if polite := request.node.get_closest_marker("polite_slack"):
        if not (polite.args or polite.kwargs.get("reason")):
            pytest.fail("@pytest.mark.polite_slack needs a reason: why this test may ignore Slack's limits")
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


@pytest.fixture
def oauth(fake_zapier: FakeZapier) -> FakeZapierOAuth:
    """Zapier's OAuth endpoints on the Zapier stand-in (tests/support/fakes/zapier_oauth.py)."""
    return FakeZapierOAuth(fake_zapier)


@pytest.fixture
def accounts_settings(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, oauth: FakeZapierOAuth, redis_url: str
) -> Settings:
    """The bot's settings with per-user accounts on (the OAuth stand-in's client, ACCOUNTS_KEY)."""
    return settings_with_accounts(fake_slack, fake_zapier, oauth, redis_url, key=ACCOUNTS_KEY)


@pytest.fixture
async def replica_accounts(accounts_settings: Settings) -> AsyncIterator[Accounts]:
    """The account layer as another replica of the bot has it (same settings, same Redis)."""
    redis, http = connect(accounts_settings.redis_url), new_http_client()
    built = build_accounts(accounts_settings, redis, http)
    assert built is not None
    try:
        yield built
    finally:
        await http.aclose()
        await redis.aclose()
