"""Start-up's objects are moved out of the garbage collector's sight (ZAPBOT_FAST_PATHS: `gc_freeze`).

Everything start-up leaves alive (modules, Bolt, slack-sdk, pydantic's validators, our own app: a few hundred
thousand objects) lives as long as the process and is never garbage. CPython's full collection still walks
all of it: a burst of `/zap` allocates enough to trigger a few of them, and each stopped the event loop for
80-110 ms on the benchmark's machine: the ack p99 (bench/README.md has the figure, with and without).
`gc.freeze()` (public, since Python 3.7) moves them to a generation no collection walks; the collector still
finds every cycle made afterwards. Done once, when the app has started and before it serves.
"""

from __future__ import annotations

import gc
import logging

from aiohttp import web

log = logging.getLogger(__name__)


async def freeze_start_up(_: web.Application) -> None:
    """An on_startup hook, appended last: collect what start-up let go, then freeze what is left."""
    gc.collect()
    gc.freeze()
    log.debug("froze %d start-up objects out of the garbage collector's walks", gc.get_freeze_count())
