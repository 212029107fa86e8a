"""Reading the bot's GET /metrics as Prometheus reads it."""

from __future__ import annotations

import asyncio

import aiohttp
from prometheus_client.parser import text_string_to_metric_families

from tests.support.bot_server import RunningBot


async def scrape(bot: RunningBot) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of GET /metrics: (name, labels) -> value, parsed as Prometheus would."""
    async with bot.slack.http.get(bot.url + "/metrics") as response:
        assert response.status == 200
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = await response.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str, **labels: str) -> float:
    return samples.get((name, frozenset(labels.items())), 0.0)


async def in_flight(http: aiohttp.ClientSession, url: str) -> float:
    """The background tasks one bot (at base ``url``) has started and not finished, as /metrics says."""
    async with http.get(url + "/metrics") as response:
        assert response.status == 200
        text = await response.text()
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "zapbot_background_tasks_in_flight":
                return sample.value
    raise AssertionError("/metrics has no zapbot_background_tasks_in_flight")


async def wait_idle(http: aiohttp.ClientSession, *urls: str, seconds: float = 10.0) -> None:
    """Wait until no bot at ``urls`` has background work in flight.

    Bolt answers a request only after its listener returns (``process_before_response``), so once a test
    has its answers, anything the bot would still do (a wrong second run, a late post) is background work:
    when none is left, "nothing else happened" can be asserted without waiting an arbitrary time.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    for url in urls:
        while (busy := await in_flight(http, url)) > 0:
            assert loop.time() < deadline, f"{url} still has {busy:.0f} task(s) in flight after {seconds}s"
            await asyncio.sleep(0.01)


async def idle(bot: RunningBot, seconds: float = 10.0) -> None:
    """Wait until ``bot`` has no background work in flight (see ``wait_idle``)."""
    await wait_idle(bot.slack.http, bot.url, seconds=seconds)
