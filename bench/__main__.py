"""`python -m bench` (or `scripts/bench`): the hot-path benchmark (bench/hot.py), load from `wrk`.

`--one-channel` first runs issue 21's benchmark instead (bench/one_channel.py; `--one-channel --help`).
`--quick` is a small run that shows everything works; the defaults take a few minutes. Writes every figure
as JSON (`--json`, default bench/last-run.json) and prints each round as it ends.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import json
import sys
import tempfile
from pathlib import Path

from bench.hot import Config, run

QUICK = {"commands": 200, "rounds": 1, "warmup": 50, "memory_commands": 400, "memory_batch": 200,
         "reactions": 300, "reaction_rounds": 1, "latency": 0.2}  # fmt: skip


def parse(argv: list[str]) -> tuple[Config, Path, str | None]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a small run that proves it works")
    parser.add_argument("--json", type=Path, default=Path("bench/last-run.json"))
    parser.add_argument("--logs", default=None, help="keep the processes' logs in this directory")
    defaults = Config()
    for f in dataclasses.fields(Config):
        value = getattr(defaults, f.name)
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(value), default=value)
    args = parser.parse_args(argv)
    values = {f.name: getattr(args, f.name) for f in dataclasses.fields(Config)}
    if args.quick:
        values.update(QUICK)
    return Config(**values), args.json, args.logs


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one-channel"]:  # issue 21's benchmark: bench/one_channel.py
        from bench import one_channel

        return one_channel.main(argv[1:])
    config, out, logs = parse(argv)
    with tempfile.TemporaryDirectory(prefix="zapbot-bench-") as tmp:
        results = asyncio.run(run(config, Path(logs or tmp)))
    out.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps({"acks": results["acks"]["median"], "reactions": results["reactions"]["median"],
                      "memory": results["memory"]}, indent=1))  # fmt: skip
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
