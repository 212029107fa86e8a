"""`scripts/bench --one-channel` (or `python -m bench.one_channel`): 100 `/zap` into ONE channel (issue 21).

Slack takes about one `chat.postMessage` a second per channel, in short bursts (NOTES.md); past that it
answers HTTP 429 with Retry-After. Here 100 people send `/zap` in one channel at once (wrk, 50 in flight,
as in bench/hot.py) and the bot must post all 100 previews there, the last within 1.2x the time Slack's pace
allows, while acking as fast as when no limit is in the way. Two modes, alternated over the rounds, each
with fresh stand-ins (bench/stand_ins.py), the same Redis and the bot as a process of its own:

- `on`: the Slack stand-in in its realistic mode (tests/support/fakes/slack_server.py, `slack_rates`: one
  post a second per channel, bursts of 3, 429 + Retry-After past it); the bot's own pace as configured by
  default (SLACK_CHANNEL_POSTS_PER_SECOND=1, SLACK_CHANNEL_POST_BURST=3).
- `off`: the polite stand-in, and the bot's pace out of the way (100 a second, bursts of 100).

Both set LIMIT_CHANNEL_PER_MINUTE=100: the default (30 a minute) would tell 70 of the 100 people to try again
later (the bot's own request limit, which is not what this measures).

Each mode: a warm-up (50 commands, each in a channel of its own, through to their previews), the burst of
100 into one channel (its acks: wrk's p50/p99/max), then, `--second-after` seconds later, while the bot
waits for its turns in that channel, 100 more `/zap`, each in a channel of its own (the acks of a bot that
is pacing); then it waits for the 100 previews in the channel. The time Slack allows for N posts in one
channel, counted from the burst's first request: Zapier's latency (no preview exists before it) plus
(N - burst) / rate.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from bench.hot import Bench, Config
from bench.procs import RedisProcess, StandIns
from tests.support.fakes.slack_rates import SlackLimits

SLACK = SlackLimits().post_message_per_channel  # what the realistic stand-in enforces per channel
BOT_LIMITS = {"LIMIT_CHANNEL_PER_MINUTE": "100"}
MODES: dict[str, tuple[bool, dict[str, str]]] = {
    "on": (True, {}),
    "off": (False, {"SLACK_CHANNEL_POSTS_PER_SECOND": "100", "SLACK_CHANNEL_POST_BURST": "100"}),
}


@dataclass
class OneChannel:
    commands: int = 100
    rounds: int = 3
    latency: float = 1.0  # Zapier's, per call
    concurrency: int = 50
    second_after: float = 5.0  # seconds after the burst's start, the second burst (other channels)
    warmup: int = 50


def allowed_seconds(config: OneChannel) -> float:
    """The earliest Slack's per-channel pace lets the last of `commands` previews in: after Zapier's latency,
    a burst at once, then one per 1/rate seconds."""
    return config.latency + max(0, config.commands - SLACK.burst) / SLACK.per_second


def busiest_second(times: list[float]) -> int:
    """The most posts within any one second."""
    times = sorted(times)
    most, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        most = max(most, end - start + 1)
    return most


def ack_figures(wrk: dict[str, Any]) -> dict[str, Any]:
    return {
        "answered": wrk["answered"],
        "failed": wrk["non_200"] + wrk["socket_errors"],
        "p50_ms": wrk["p50_us"] / 1000,
        "p99_ms": wrk["p99_us"] / 1000,
        "max_ms": wrk["max_us"] / 1000,
    }


async def one_mode(config: OneChannel, mode: str, log_dir: Path, redis_url: str, run: int) -> dict[str, Any]:
    """One mode's run; `run` numbers it, so that its people and channels are new to the bot (the same Redis
    serves every run: its request limits and the channel's pace would carry over)."""
    realistic, env = MODES[mode]
    async with contextlib.AsyncExitStack() as stack:
        stand_ins = StandIns()
        stack.push_async_callback(stand_ins.stop)
        await stand_ins.start(config.latency, 50, 50, log_dir, realistic=realistic)
        hot = Config(concurrency=config.concurrency, latency=config.latency, warmup=config.warmup)
        bench = Bench(hot, log_dir, stand_ins, redis_url)
        bench.tags = run * 1_000_000
        server = bench.server("on@" + "@".join(f"{k}={v}" for k, v in {**BOT_LIMITS, **env}.items()))
        await server.start()
        stack.push_async_callback(server.stop)
        await bench.burst(server, config.warmup, bot=True)
        await asyncio.sleep(0.5)
        channel = f"CONE{bench.tags:08d}"  # a channel the bot has never posted in
        # The channel's 100 first in the pool (each of wrk's threads sends its share of them first), then
        # commands in channels of their own for the few wrk sends after its count, while it stops.
        pool = bench.commands(config.commands, channel) + bench.commands(config.concurrency)
        started = time.monotonic()
        first = await asyncio.to_thread(bench.wrk, pool, config.commands)
        await asyncio.sleep(max(0.0, started + config.second_after - time.monotonic()))
        second = await asyncio.to_thread(bench.wrk, bench.commands(config.commands + config.concurrency),
                                         config.commands)  # fmt: skip
        allowed = allowed_seconds(config)
        deadline = started + 2 * allowed + 30
        while time.monotonic() < deadline:
            posted = [p["t"] for p in stand_ins.every_post if p["ch"] == channel and not p["thread"]]
            if len(posted) >= config.commands:
                break
            await asyncio.sleep(0.2)
        refused = [r for r in stand_ins.refused if r["ch"] == channel]
        told = [r for r in stand_ins.replies if r["key"].startswith(channel)]
        last = round(max(posted) - started, 3) if posted else None
        return {
            "mode": mode,
            "channel_previews_posted": len(posted),
            "first_posted_s": round(min(posted) - started, 3) if posted else None,
            "last_posted_s": last,
            "slack_allows_s": allowed,
            "last_vs_allowed": round(last / allowed, 3) if last is not None else None,
            "busiest_second": busiest_second(posted),
            "refused_429": len(refused),
            "people_told_instead": len(told),
            "acks_burst": ack_figures(first),
            "acks_while_pacing": ack_figures(second),
            "load1": os.getloadavg()[0],
        }
    raise AssertionError("unreachable")


def summary(r: dict[str, Any]) -> str:
    a, b = r["acks_burst"], r["acks_while_pacing"]
    return (
        f"{r['mode']}: {r['channel_previews_posted']} previews in the channel, last at {r['last_posted_s']} s"
        f" ({r['last_vs_allowed']}x the {r['slack_allows_s']} s Slack allows), busiest second"
        f" {r['busiest_second']}, {r['refused_429']} x 429, {r['people_told_instead']} told instead;"
        f" acks p50/p99/max {a['p50_ms']:.1f}/{a['p99_ms']:.1f}/{a['max_ms']:.1f} ms,"
        f" while pacing {b['p50_ms']:.1f}/{b['p99_ms']:.1f}/{b['max_ms']:.1f} ms"
    )


def medians(rows: list[dict[str, Any]]) -> dict[str, Any]:
    def med(get: Any) -> float | None:
        values = [v for r in rows if (v := get(r)) is not None]
        return statistics.median(values) if values else None

    out: dict[str, Any] = {
        k: med(lambda r, k=k: r[k])
        for k in (
            "channel_previews_posted",
            "last_posted_s",
            "last_vs_allowed",
            "busiest_second",
            "refused_429",
        )
    }
    for phase in ("acks_burst", "acks_while_pacing"):
        out[phase] = {k: med(lambda r, k=k, p=phase: r[p][k]) for k in ("p50_ms", "p99_ms", "max_ms")}
    return out


async def run(config: OneChannel, log_dir: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("the benchmark needs wrk: apt-get install -y wrk")
    rows: dict[str, list[dict[str, Any]]] = {mode: [] for mode in MODES}
    redis_server = RedisProcess(log_dir / "redis")
    try:
        redis_url = redis_server.start()
        runs = 0
        for n in range(config.rounds):
            for mode in list(MODES) if n % 2 == 0 else list(reversed(MODES)):
                runs += 1
                rows[mode].append(await one_mode(config, mode, log_dir, redis_url, runs))
                print(f"round {n + 1} {summary(rows[mode][-1])}", flush=True)
    finally:
        redis_server.stop()
    return {
        "config": config.__dict__,
        "slack_per_channel": {"per_second": SLACK.per_second, "burst": SLACK.burst},
        "median": {mode: medians(r) for mode, r in rows.items()},
        "rounds": rows,
    }


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="scripts/bench --one-channel", description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, default=Path("bench/one-channel-run.json"))
    parser.add_argument("--logs", default=None, help="keep the processes' logs in this directory")
    defaults = OneChannel()
    for f in fields(OneChannel):
        value = getattr(defaults, f.name)
        parser.add_argument("--" + f.name.replace("_", "-"), type=type(value), default=value)
    args = parser.parse_args(argv)
    config = OneChannel(**{f.name: getattr(args, f.name) for f in fields(OneChannel)})
    with tempfile.TemporaryDirectory(prefix="zapbot-bench-") as tmp:
        results = asyncio.run(run(config, Path(args.logs or tmp)))
    args.json.write_text(json.dumps(results, indent=1) + "\n")
    print(json.dumps(results["median"], indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
