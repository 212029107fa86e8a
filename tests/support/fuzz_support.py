"""What the fuzz tests share: how many examples to run, a count of what ran, and the log check.

``ZAPBOT_FUZZ_EXAMPLES`` sets the examples per fuzz test (default: a few dozen, so that all of them take a
few seconds together); e.g.
``ZAPBOT_FUZZ_EXAMPLES=2000 .venv/bin/python -m pytest -q tests/e2e/test_fuzz*.py -s`` for a long run.
Each test prints how many cases it sent.
"""

from __future__ import annotations

import asyncio
import logging
import os

import aiohttp
import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st


def examples(default: int) -> int:
    return int(os.environ.get("ZAPBOT_FUZZ_EXAMPLES", default))


def fuzz_settings(default: int) -> settings:
    """One bot serves every example of a test (it is built once, by the test's fixtures)."""
    return settings(
        max_examples=examples(default),
        deadline=None,
        database=None,
        derandomize=os.environ.get("ZAPBOT_FUZZ_EXAMPLES") is None,  # CI runs the same cases every time
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )


def problems_in_logs(caplog: pytest.LogCaptureFixture) -> list[str]:
    """Every record at ERROR or above, and every record that carries a traceback."""
    return [
        f"{r.levelname} {r.name}: {r.getMessage()}"
        + (f" [{r.exc_info[0].__name__}: {r.exc_info[1]}]" if r.exc_info and r.exc_info[0] else "")
        for r in caplog.records
        if r.levelno >= logging.ERROR or r.exc_info
    ]


async def settled(http: aiohttp.ClientSession, url: str, seconds: float = 10.0) -> None:
    """Wait until the bot has no background task in flight (its own gauge, read from GET /metrics)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while (count := await _in_flight(http, url)) > 0:
        if loop.time() >= deadline:
            raise AssertionError(f"{count} background tasks still in flight after {seconds:.0f}s")
        await asyncio.sleep(0.01)


async def _in_flight(http: aiohttp.ClientSession, url: str) -> float:
    async with http.get(url + "/metrics") as response:
        for line in (await response.text()).splitlines():
            if line.startswith("zapbot_background_tasks_in_flight "):
                return float(line.split()[1])
    raise AssertionError("GET /metrics has no zapbot_background_tasks_in_flight")


# Text people and Zapier send: anything, including hidden characters, markup and lone surrogates.
TEXT = st.text(max_size=120)
IDS = st.one_of(st.from_regex(r"[UWCDGTSEB][A-Z0-9]{1,12}", fullmatch=True), st.text(max_size=12))
JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | TEXT,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
