"""Reading the bot's GET /metrics as Prometheus reads it."""

from __future__ import annotations

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
