"""`python -m bench` (or `scripts/bench`): the load benchmark of zapbot against a bare Bolt app.

Starts a fresh redis-server, the Slack and Zapier stand-ins, the bot (`python -m bot`) and the floor on
127.0.0.1, runs every phase (see bench/run.py), prints a table and writes the figures as JSON.
`--quick` is a small run (seconds) that shows everything works; the defaults take about 4 minutes.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import signal
import sys
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from bench.report import machine_line, table
from bench.run import Config, benchmark, save

T = TypeVar("T")

QUICK = {
    "commands": 50,
    "rounds": 1,
    "warmup": 20,
    "preview_commands": 20,
    "preview_concurrency": 10,
    "burst_commands": 20,
    "rated_results": 10,
    "reactions": 200,
    "people": 20,
    "memory_commands": 100,
    "slow_commands": 50,
    "slow_latency": 5.0,
    "scale_commands": 100,
    "latency": 0.2,
}


def parse(argv: list[str]) -> tuple[Config, Path]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run that proves it works (seconds)")
    parser.add_argument(
        "--json", type=Path, default=Path("bench/last-run.json"), help="where to write the figures"
    )
    defaults = Config()
    for f in dataclasses.fields(Config):
        flag = "--" + f.name.replace("_", "-")
        value = getattr(defaults, f.name)
        if f.name == "workers":
            parser.add_argument(
                flag,
                type=lambda s: tuple(int(x) for x in s.split(",")),
                default=value,
                help="worker counts for the scale phase, e.g. 1,2 (default %(default)s)",
            )
        elif f.name == "logs":
            parser.add_argument(flag, default=None, help="keep the processes' logs in this directory")
        elif f.name == "bot_source":
            parser.add_argument(
                flag, default=None, help="run the bot from this checkout (e.g. a 'before' commit)"
            )
        elif f.name == "cprofile":
            parser.add_argument(
                flag, default=None, help="run the bot under cProfile (CPU time); stats to this file"
            )
        elif f.name == "profile":
            parser.add_argument(
                flag,
                default=None,
                help="py-spy profile of the bot over the phases after warm-up (not scale): "
                ".svg flame graph, .txt collapsed stacks, .json speedscope",
            )
        else:
            parser.add_argument(flag, type=type(value), default=value, help="default %(default)s")
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
    if args.quick:
        # --quick sets the small sizes; flags given explicitly still win.
        given = {a.split("=")[0].lstrip("-").replace("-", "_") for a in argv if a.startswith("--")}
        values.update({k: v for k, v in QUICK.items() if k not in given})
    for name in ("cprofile", "profile", "bot_source", "logs"):
        if values[name]:
            values[name] = str(Path(values[name]).resolve())
    return Config(**values), args.json


async def stoppable(work: Coroutine[Any, Any, T]) -> T:
    """SIGTERM cancels the run like Ctrl-C does, so that every process it started is stopped."""
    task = asyncio.ensure_future(work)
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, task.cancel)
    return await task


def main(argv: list[str]) -> int:
    config, json_path = parse(argv)
    try:
        import uvloop
    except ImportError:
        results = asyncio.run(stoppable(benchmark(config)))
    else:
        results = uvloop.run(stoppable(benchmark(config)))
    save(results, json_path)
    print(machine_line(results))
    print()
    print(table(results))
    for note in results["notes"]:
        print(f"note: {note}")
    print(f"\nfigures: {json_path}")
    return 1 if results["stand_ins"]["spec_violations"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
