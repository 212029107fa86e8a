"""What the garbage collector does during a burst's acks: `python -m bench.gc_trace [--variants on]`.

Runs the hot-path benchmark for the bot variants given (default `on`) with a probe on each bot's
`PYTHONPATH`: a `sitecustomize` that records every collection (when, which generation, how long) through
the public `gc.callbacks`. Then prints, for each variant and round, the collections that ran while wrk's
burst was being acked (from the round's `started_at` to its `acked_at`, both `time.monotonic()`, the clock
every process here shares). It is how GC tricks were judged (bench/README.md): the collections are a few
percent of a burst's acks, which no GC setting tried turned into a better ack p99.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

PROBE = """
import atexit, gc, os, time
_out, _log, _began = os.environ["ZAPBOT_GC_TRACE"], [], [0.0]
def _record(phase, info):
    if phase == "start":
        _began[0] = time.monotonic()
    else:
        _log.append(f"{_began[0]:.4f} {info['generation']} {1000 * (time.monotonic() - _began[0]):.3f}")
gc.callbacks.append(_record)
atexit.register(lambda: open(f"{_out}/{os.getpid()}.txt", "w").write("\\n".join(_log)))
"""


def collections(traces: Path) -> list[tuple[float, int, float]]:
    found = []
    for trace in traces.glob("*.txt"):
        for line in trace.read_text().splitlines():
            at, generation, ms = line.split()
            found.append((float(at), int(generation), float(ms)))
    return found


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.gc_trace", description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--variants", default="on", help="bot variants, as `python -m bench` takes them")
    args = parser.parse_args(argv)
    variants = args.variants.split(",")
    with tempfile.TemporaryDirectory(prefix="zapbot-gc-trace-") as tmp:
        probe, traces, run = Path(tmp, "probe"), Path(tmp, "traces"), Path(tmp, "run.json")
        probe.mkdir()
        traces.mkdir()
        (probe / "sitecustomize.py").write_text(PROBE)
        settings = f"@PYTHONPATH={probe}:{ROOT}@ZAPBOT_GC_TRACE={traces}"
        subprocess.run(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench", "--variants", ",".join(v + settings for v in variants),
             "--rounds", str(args.rounds), "--reaction-rounds", "0", "--memory-commands", "0",
             "--json", str(run)],
            cwd=ROOT, check=True,
        )  # fmt: skip
        rounds = json.loads(run.read_text())["acks"]["rounds"]
        seen = collections(traces)
    for variant in variants:
        for n, burst in enumerate(rounds[variant + settings], 1):
            during = [(g, ms) for at, g, ms in seen if burst["started_at"] <= at <= burst["acked_at"]]
            by_generation = [sum(1 for g, _ in during if g == k) for k in (0, 1, 2)]
            spent = sum(ms for _, ms in during)
            longest = max((ms for _, ms in during), default=0.0)
            print(
                f"{variant} round {n}: {len(during)} collections during the acks (by generation"
                f" {by_generation}), {spent:.1f} ms in all, the longest {longest:.1f} ms;"
                f" ack p99 {burst['p99_us'] / 1000:.1f} ms"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
