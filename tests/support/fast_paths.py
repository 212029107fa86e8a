"""Which way the end-to-end tests run the bot: ZAPBOT_FAST_PATHS on (burst behaviours) or off (plain Bolt).

Running every end-to-end test twice would double the suite, so each test runs one way, picked by a hash of
its id: about half the tests take each way, and a test always takes the same way (a failure reproduces).
`ZAPBOT_TEST_FAST_PATHS=on` or `=off` runs every test that way (`scripts/test` then proves the whole suite
one way); a test that is about one way says so with `@pytest.mark.fast_paths("on")`. A failing test's report
names the way it ran.
"""

from __future__ import annotations

import os
import zlib

WAYS = ("on", "off")


def way_for(test_id: str, marked: str | None = None) -> str:
    """The way `test_id` runs: its marker's, else the environment's, else by the hash of its id."""
    forced = marked or os.environ.get("ZAPBOT_TEST_FAST_PATHS", "").strip().lower()
    if forced in WAYS:
        return forced
    if forced not in ("", "split"):
        raise ValueError(f"ZAPBOT_TEST_FAST_PATHS must be on, off or split, not {forced!r}")
    return WAYS[zlib.crc32(test_id.encode()) % 2]


current = "on"  # the way of the test running now in this process (tests/conftest.py sets it per test)
