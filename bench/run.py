"""One benchmark run: start everything, measure each phase side by side with the floor, report.

Phases, in order (each one's figures land in the result under its name):
  warmup   both servers answer a few commands; the bot's previews are posted (caches, connections, JIT-less
           Python's first-call costs); RSS after warm-up.
  memory   10,000 commands through to their posted preview; RSS after, and growth.
  ack      /zap at a fixed number in flight, floor then bot, for several rounds: ack latency percentiles.
  preview  people who each send /zap and wait for the preview; then click Confirm and wait for the result:
           time to the post minus the time Zapier (the stand-in) took. Once with the people's starts spread
           evenly (steady load), once with all of them starting at the same moment (bursts).
  ratings  thousands of reactions from hundreds of people on a hundred results, as fast as they go.
  slow     Zapier takes 30 s per call: the acks must stay far below Slack's 3 s.
  scale    the bot again with WORKERS=1 and WORKERS=2: commands per second through to the preview.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import platform
import random
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio

from bench.load import Client, Sent, drive, flows, percentile, send
from bench.procs import ROOT, RedisProcess, ServerProcess, StandIns, cpu_seconds, rss_mb
from bench.slack import Signed, Signer

SIGNING_SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"  # the Slack stand-in's token
ZAPIER_KEY = "test-zapier-key"  # the Zapier stand-in's key
COMMAND = 'SlackAPI channel_message channel~="#general" Say good morning to the team (bench {tag})'
BUSY = b"very busy"

# The ratings feature's default emoji (issue 3), one per emoji as a person can react once with each: +1 and
# -1 per reaction, 0 for emoji that do not count. Some arrive under another name Slack uses for the same
# emoji (an alias, a skin tone); a removal carries the name its addition had.
EMOJI = {
    "+1": 1,
    "heart": 1,
    "tada": 1,
    "white_check_mark": 1,
    "-1": -1,
    "x": -1,
    "disappointed": -1,
    "eyes": 0,
    "rocket": 0,
}
SPELLINGS = {"+1": ("+1", "thumbsup", "+1::skin-tone-3"), "-1": ("-1", "thumbsdown", "-1::skin-tone-5")}


@dataclass
class Config:
    commands: int = 1000  # /zap per server per round in the ack phase
    concurrency: int = 50
    rounds: int = 3
    latency: float = 1.0  # the Zapier stand-in's delay per call
    warmup: int = 200
    preview_commands: int = 200
    preview_concurrency: int = 20
    burst_commands: int = 100  # the same flows again, the people starting all at once
    rated_results: int = 100
    reactions: int = 5000
    people: int = 300
    ratings_concurrency: int = 50
    memory_commands: int = 10_000
    fast_latency: float = 0.1  # Zapier's delay in the memory and scale phases, where the bot's CPU counts
    outstanding: int = 200  # commands whose preview is not posted yet, at most, in the memory phase
    # ... and in the scale phase, where it must not be what limits the rate: with 200, the wait of each
    # preview behind the acks (bot/ops/give_way.py) capped both worker counts alike (~200/s).
    scale_outstanding: int = 800
    slow_latency: float = 30.0
    slow_commands: int = 500
    scale_commands: int = 3000
    scale_concurrency: int = 100
    workers: tuple[int, ...] = (1, 2)
    validate_first: int = 20
    validate_every: int = 100
    profile: str | None = None  # py-spy profile of the bot over every phase after the warm-up but scale
    logs: str | None = None  # keep the processes' logs in this directory (default: a temporary one)
    bot_source: str | None = None  # run the bot from this checkout instead (e.g. an older commit: "before")
    cprofile: str | None = None  # the bot under cProfile (CPU time), statistics written here at its exit
    phases: str = "memory,ack,preview,ratings,slow,scale"  # which to run (warm-up always runs)
    seed: int = 6


@dataclass
class Run:
    config: Config
    signer: Signer
    stand_ins: StandIns
    redis_url: str
    redis_pid: int | None
    bot: ServerProcess
    floor: ServerProcess
    log_dir: Path
    session: Client  # Slack's requests to the servers
    results: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    tags: int = 0

    def commands(self, count: int, prefix: str) -> list[Signed]:
        requests = []
        for _ in range(count):
            self.tags += 1
            tag = f"C{prefix}{self.tags:07d}"
            requests.append(self.signer.command(COMMAND.format(tag=tag), channel=tag))
        return requests


def bot_env(
    run_stand_ins: StandIns, redis_url: str, workers: int = 1, source: str | None = None
) -> dict[str, str]:
    return {
        **({"PYTHONPATH": f"{source}{os.pathsep}{ROOT}"} if source else {}),
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SIGNING_SECRET,
        "SLACK_API_URL": run_stand_ins.slack_api,
        "ZAPIER_API_KEY": ZAPIER_KEY,
        "ZAPIER_BASE_URL": run_stand_ins.zapier,
        "REDIS_URL": redis_url,
        "WORKERS": str(workers),
    }


async def benchmark(config: Config) -> dict[str, Any]:
    started = time.monotonic()
    cpu_started = time.process_time()
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="zapbot-bench-") as tmp:
        log_dir = Path(config.logs or tmp)
        async with contextlib.AsyncExitStack() as stack:  # every process stopped, whatever happens
            redis_server = RedisProcess(log_dir / "redis")  # no persistence: --save "" --appendonly no
            stack.callback(redis_server.stop)
            redis_url = redis_server.start()
            stand_ins = StandIns()
            stack.push_async_callback(stand_ins.stop)
            await stand_ins.start(config.latency, config.validate_first, config.validate_every, log_dir)
            if config.cprofile:
                out = (config.cprofile,)  # an absolute path (bench/__main__.py): the bot runs elsewhere
                bot = ServerProcess(
                    "bot",
                    "bench.profiled",
                    bot_env(stand_ins, redis_url, source=config.bot_source),
                    log_dir,
                    out,
                )
                bot.stop_grace = 60.0  # its drain, then the statistics
            else:
                bot = ServerProcess(
                    "bot", "bot", bot_env(stand_ins, redis_url, source=config.bot_source), log_dir
                )
            floor = ServerProcess("floor", "bench.floor", bot_env(stand_ins, redis_url), log_dir)
            stack.push_async_callback(bot.stop)
            stack.push_async_callback(floor.stop)
            await asyncio.gather(bot.start(), floor.start())
            session = await stack.enter_async_context(
                Client(max(config.concurrency, config.scale_concurrency, 100))
            )
            run = Run(
                config, Signer(SIGNING_SECRET, stand_ins.response_base), stand_ins, redis_url,
                redis_server.pid, bot, floor,
                log_dir, session,
            )  # fmt: skip
            await phases(run)
            await asyncio.gather(bot.stop(), floor.stop())
            status = await stand_ins.status()
    wall = time.monotonic() - started
    run.results["stand_ins"] = {
        "cpu_s": round(status["cpu"], 2),
        "calls_checked_against_spec": status["checked"],
        "spec_violations": status["violations"][:20],
    }
    if status["violations"]:
        run.notes.append(f"the Zapier stand-in saw {len(status['violations'])} spec violations")
    run.results["load_generator"] = {
        "cpu_s": round(time.process_time() - cpu_started, 2),
        "wall_s": round(wall, 1),
        "cpu_share": round((time.process_time() - cpu_started) / wall, 3),
    }
    run.results["machine"] = machine(load_before)
    run.results["config"] = asdict(config)
    run.results["notes"] = run.notes
    return run.results


async def phases(run: Run) -> None:
    chosen = set(run.config.phases.split(","))
    with collections_between_rounds():
        await _phases(run, chosen)


@contextlib.contextmanager
def collections_between_rounds() -> Iterator[None]:
    """The load generator's own garbage collections, only where it calls gc.collect(): between rounds and
    phases, never inside a timed window. Its heap grows with every request and answer of the run, and a
    full pass over it (22 ms, measured with gc.callbacks) once fell inside a round of the bot's: every
    answer in flight waited for it, and the run charged the bot 1.76x the floor's ack p99 for that round.
    Between those calls only reference counting frees memory: enough for a run of this size."""
    gc.collect()
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


async def _phases(run: Run, chosen: set[str]) -> None:
    await warmup(run)
    profiler = start_profiler(run) if run.config.profile else None
    try:
        if "memory" in chosen:
            await memory(run)
        if "ack" in chosen:
            await ack(run)
        if chosen & {"preview", "ratings"}:
            results = await preview(run)
            if "ratings" in chosen:
                await ratings(run, results)
        if "slow" in chosen:
            await slow(run)
    finally:
        if profiler is not None:
            stop_profiler(profiler)
    await run.bot.stop()
    await run.floor.stop()
    if "scale" in chosen:
        await scale(run)


# ---- phases ------------------------------------------------------------------------------------------


async def warmup(run: Run) -> None:
    cfg = run.config
    floor_sent = await drive(run.session, run.floor.url + "/slack/events", run.commands(cfg.warmup, "W"), 50)
    requests = run.commands(cfg.warmup, "W")
    sent = await drive(run.session, run.bot.url + "/slack/events", requests, 50)
    await wait_previews(run, requests, wait_s=30 + cfg.latency)
    bad = [s for s in floor_sent + sent if s.status != 200]
    if bad:
        raise RuntimeError(
            f"warm-up: {len(bad)} commands were not acked: {bad[0].status} {bad[0].body[:300]!r}"
        )
    run.results["memory"] = {"rss_after_warmup_mb": round(rss_mb(run.bot.pid), 1)}


async def memory(run: Run) -> None:
    cfg = run.config
    run.stand_ins.set_latency(cfg.fast_latency)
    _, posted, wall = await commands_through(run, run.bot, cfg.memory_commands, cfg.concurrency, "M")
    run.stand_ins.set_latency(cfg.latency)
    await settle(run.bot)
    after = rss_mb(run.bot.pid)
    mem = run.results["memory"]
    mem.update(
        {
            "commands": cfg.memory_commands,
            "previews_posted": posted,
            "rss_after_commands_mb": round(after, 1),
            "growth_mb": round(after - mem["rss_after_warmup_mb"], 1),
            "wall_s": round(wall, 1),
        }
    )
    forget(run)


async def ack(run: Run) -> None:
    cfg = run.config
    floor_lat: list[float] = []
    bot_lat: list[float] = []
    rounds = []
    for _ in range(cfg.rounds):
        one: dict[str, Any] = {}
        for name, server in (("floor", run.floor), ("bot", run.bot)):
            requests = run.commands(cfg.commands, "A")
            gc.collect()
            pids = server.pids()
            cpu0, load0, t0 = cpu_seconds(pids), time.process_time(), time.monotonic()
            sent = await drive(run.session, server.url + "/slack/events", requests, cfg.concurrency)
            wall = time.monotonic() - t0
            one[name] = ack_figures(sent, wall) | {
                "server_cpu_ms_per_command": round((cpu_seconds(pids) - cpu0) / len(sent) * 1000, 3),
                "load_generator_cpu_share": round((time.process_time() - load0) / wall, 3),
            }
            (bot_lat if name == "bot" else floor_lat).extend(s.latency for s in sent)
            if name == "bot":
                one["bot"]["previews_posted"] = await wait_previews(run, requests, wait_s=60 + cfg.latency)
                await settle(run.bot)
                one["bot"]["server_cpu_ms_per_command_with_preview"] = round(
                    (cpu_seconds(pids) - cpu0) / len(sent) * 1000, 3
                )
        one["ratio_p99"] = round(one["bot"]["p99_ms"] / one["floor"]["p99_ms"], 2)
        rounds.append(one)
    bot = latency_figures(bot_lat)
    floor = latency_figures(floor_lat)
    run.results["ack"] = {
        "in_flight": cfg.concurrency,
        "commands": cfg.commands,
        "rounds": rounds,
        "bot": bot | sum_of(rounds, "bot", ("busy", "errors")),
        "floor": floor | sum_of(rounds, "floor", ("busy", "errors")),
        "ratio_p50": round(bot["p50_ms"] / floor["p50_ms"], 2),
        "ratio_p99": round(bot["p99_ms"] / floor["p99_ms"], 2),
        "ratio_p99_per_round": [r["ratio_p99"] for r in rounds],
        "bot_commands_per_s": round(sum(r["bot"]["per_s"] for r in rounds) / len(rounds)),
        "floor_commands_per_s": round(sum(r["floor"]["per_s"] for r in rounds) / len(rounds)),
    }
    forget(run)


@dataclass
class Result:
    channel: str
    ts: str
    execution_log_id: str


async def preview(run: Run) -> list[Result]:
    """Command -> preview -> Confirm -> result, for `preview_concurrency` people at a time, twice.

    `steady`: the people start evenly spread over one Zapier latency, so that the same number of flows is
    in flight at every moment (the target's "20 in flight"). `burst`: they all start at once, and as every
    flow takes the same time they stay in step: 20 commands within a millisecond, once a second, each
    waiting for the CPU behind the others (a workflow firing `/zap` in bulk looks like this)."""
    cfg = run.config
    steady, results = await _flows_to_result(
        run, cfg.preview_commands, "P", cfg.latency / cfg.preview_concurrency
    )
    burst, _ = await _flows_to_result(run, cfg.burst_commands, "B", 0.0)
    run.results["preview"] = {
        "in_flight": cfg.preview_concurrency,
        "zapier_latency_s": cfg.latency,
        **steady,
        "burst": burst,
    }
    return results


async def _flows_to_result(
    run: Run, count: int, prefix: str, stagger: float
) -> tuple[dict[str, Any], list[Result]]:
    cfg = run.config
    previews: list[tuple[str, dict[str, Any]]] = []
    overhead: list[tuple[float, float]] = []  # (request sent -> Zapier, Zapier answered -> post)
    nominal: list[float] = []
    failures = 0
    requests = run.commands(count, prefix)

    async def to_preview(index: int) -> None:
        nonlocal failures
        request = requests[index]
        sent = await send(run.session, run.bot.url + "/slack/events", request)
        try:
            post = await run.stand_ins.post(request.key, "root", wait_s=30 + cfg.latency * 3)
        except TimeoutError:
            post = {"e": "timeout"}
        if post["e"] != "post":
            failures += 1
            return
        zap = run.stand_ins.zaps[(request.key, "preview")]
        overhead.append((zap["t_in"] - sent.started, post["t"] - zap["t_out"]))
        nominal.append(post["t"] - sent.started - cfg.latency)
        previews.append((request.key, post))

    cpu0, t0 = cpu_seconds(run.bot.pids()), time.monotonic()
    await flows(len(requests), cfg.preview_concurrency, to_preview, stagger=stagger)
    preview_cpu = (cpu_seconds(run.bot.pids()) - cpu0) / max(1, len(previews)) * 1000
    preview_wall = time.monotonic() - t0

    results: list[Result] = []
    run_overhead: list[tuple[float, float]] = []
    run_nominal: list[float] = []
    run_failures = 0

    async def to_result(index: int) -> None:
        nonlocal run_failures
        channel, post = previews[index]
        request = run.signer.confirm(post["confirm"], channel=channel, message_ts=post["ts"])
        sent = await send(run.session, run.bot.url + "/slack/events", request)
        try:
            result = await run.stand_ins.post(channel, "thread", wait_s=30 + cfg.latency * 3)
        except TimeoutError:
            result = {"e": "timeout"}
        if result["e"] != "post":
            run_failures += 1
            return
        zap = run.stand_ins.zaps[(channel, "execute")]
        run_overhead.append((zap["t_in"] - sent.started, result["t"] - zap["t_out"]))
        run_nominal.append(result["t"] - sent.started - cfg.latency)
        results.append(Result(channel, result["ts"], zap["log"]))

    cpu0 = cpu_seconds(run.bot.pids())
    await flows(len(previews), cfg.preview_concurrency, to_result, stagger=stagger)
    run_cpu = (cpu_seconds(run.bot.pids()) - cpu0) / max(1, len(results)) * 1000
    await settle(run.bot)
    figures = {
        "arrivals": "staggered" if stagger else "all at once",
        "command_to_preview": overhead_figures(overhead, nominal, failures)
        | {
            "bot_cpu_ms_each": round(preview_cpu, 2),
            "previews_per_s": round(len(previews) / preview_wall, 1),
        },
        "confirm_to_result": overhead_figures(run_overhead, run_nominal, run_failures)
        | {"bot_cpu_ms_each": round(run_cpu, 2)},
    }
    return figures, results


async def ratings(run: Run, results: list[Result]) -> None:
    cfg = run.config
    rated = results[: cfg.rated_results]
    if not rated:
        run.results["ratings"] = {"skipped": "no results to react to"}
        return
    client = redis.asyncio.Redis.from_url(run.redis_url, decode_responses=True)
    try:
        await _ratings(run, rated, client)
    finally:
        await client.aclose()


async def _ratings(run: Run, rated: list[Result], client: redis.asyncio.Redis) -> None:
    cfg = run.config
    url = run.bot.url + "/slack/events"
    key = "zapbot:execution:{}".format
    # Does the bot rate at all? One 👍 on the first result must show up as its `rating` within 5 s.
    probe = rated[0]
    votes: dict[tuple[int, str], list[int]] = {(0, "UPROBE"): [1]}
    await send(run.session, url, run.signer.reaction("+1", user="UPROBE", channel=probe.channel, ts=probe.ts))
    deadline = time.monotonic() + 5
    while await client.hget(key(probe.execution_log_id), "rating") is None:
        if time.monotonic() > deadline:
            note = (
                "ratings skipped: this bot does not rate yet (a signed reaction_added on a result message "
                f"left no `rating` in {key(probe.execution_log_id)} within 5 s; issue 3)"
            )
            run.results["ratings"] = {"skipped": note}
            run.notes.append(note)
            return
        await asyncio.sleep(0.05)

    adds, removes, expected = reaction_plan(run, rated, votes)

    pids = run.bot.pids()
    cpu0, load0, t0 = cpu_seconds(pids), time.process_time(), time.monotonic()
    sent = await drive(run.session, url, adds, cfg.ratings_concurrency)
    sent += await drive(run.session, url, removes, cfg.ratings_concurrency)  # after their adds were acked
    acked = time.monotonic() - t0
    load_cpu = time.process_time() - load0
    exact_after = None
    while time.monotonic() - t0 < 30:
        stored = await asyncio.gather(*(client.hget(key(r.execution_log_id), "rating") for r in rated))
        if [int(s or 0) for s in stored] == expected:
            exact_after = time.monotonic() - t0
            break
        await asyncio.sleep(0.05)
    handled_cpu = cpu_seconds(pids) - cpu0
    # Deliveries: wait until every execution's last rate call carries its final rating and calls stop.
    delivered_after = None
    quiet_since, last_count = time.monotonic(), -1
    while time.monotonic() - t0 < 60 + 5 * cfg.latency:
        count = sum(len(run.stand_ins.rates[r.execution_log_id]) for r in rated)
        if count != last_count:
            quiet_since, last_count = time.monotonic(), count
        last_ok = [last_rating(run, r) == e for r, e in zip(rated, expected, strict=True)]
        if all(last_ok) and time.monotonic() - quiet_since > max(1.0, 1.5 * cfg.latency):
            delivered_after = quiet_since - t0
            break
        await asyncio.sleep(0.1)
    stored = await asyncio.gather(*(client.hget(key(r.execution_log_id), "rating") for r in rated))
    wrong_in_redis = sum(int(s or 0) != e for s, e in zip(stored, expected, strict=True))
    wrong_last_call = sum(last_rating(run, r) != e for r, e in zip(rated, expected, strict=True))
    calls = [len(run.stand_ins.rates[r.execution_log_id]) for r in rated]
    mismatches = [
        {
            "execution_log_id": r.execution_log_id,
            "expected": e,
            "in_redis": v,
            "last_rate": last_rating(run, r),
        }
        for r, e, v in zip(rated, expected, stored, strict=True)
        if int(v or 0) != e or last_rating(run, r) != e
    ]
    total = len(sent) + 1
    run.results["ratings"] = {
        "reactions": total,
        "people": cfg.people,
        "executions": len(rated),
        "in_flight": cfg.ratings_concurrency,
        "acked_per_s": round(len(sent) / acked),
        "exact_in_redis_after_s": round(exact_after, 2) if exact_after is not None else None,
        "handled_per_s": round(len(sent) / exact_after) if exact_after else None,
        "bot_cpu_ms_per_reaction": round(handled_cpu / len(sent) * 1000, 3),
        "load_generator_cpu_share": round(load_cpu / acked, 3),
        "not_acked": sum(s.status != 200 for s in sent),
        "ack_p99_ms": round(percentile([s.latency for s in sent], 99) * 1000, 1),
        "rate_calls_per_execution_mean": round(sum(calls) / len(calls), 2),
        "rate_calls_per_execution_max": max(calls),
        "delivered_after_s": round(delivered_after, 2) if delivered_after is not None else None,
        "wrong_in_redis": wrong_in_redis,
        "wrong_last_rate_call": wrong_last_call,
        "exact": wrong_in_redis == 0 and wrong_last_call == 0,
        "first_mismatches": mismatches[:10],
    }


def reaction_plan(
    run: Run, rated: list[Result], votes: dict[tuple[int, str], list[int]]
) -> tuple[list[Signed], list[Signed], list[int]]:
    """Reactions to add, then to remove (a fifth of them), and each result's final rating: the sign of
    the sum of its people's votes, each the sign of the sum of that person's counting reactions."""
    cfg = run.config
    rng = random.Random(cfg.seed)
    people = [f"UR{i:04d}" for i in range(cfg.people)]
    names = list(EMOJI)
    active: dict[tuple[int, str, str], bool] = {}
    plan_adds: list[tuple[int, str, str]] = []
    removals_wanted = cfg.reactions // 5
    while len(plan_adds) < cfg.reactions - removals_wanted:
        spot = (rng.randrange(len(rated)), rng.choice(people), rng.choice(names))
        if spot not in active:  # Slack sends one reaction_added per person, emoji and message
            active[spot] = True
            plan_adds.append(spot)
    plan_removes = rng.sample(plan_adds, removals_wanted)
    for spot in plan_removes:
        active[spot] = False
    spelled = {spot: rng.choice(SPELLINGS.get(spot[2], (spot[2],))) for spot in plan_adds}
    adds = [
        run.signer.reaction(spelled[spot], user=spot[1], channel=rated[spot[0]].channel, ts=rated[spot[0]].ts)
        for spot in plan_adds
    ]
    removes = [
        run.signer.reaction(
            spelled[spot], user=spot[1], channel=rated[spot[0]].channel, ts=rated[spot[0]].ts, added=False
        )
        for spot in plan_removes
    ]
    for (index, person, name), on in active.items():
        if on:
            votes.setdefault((index, person), []).append(EMOJI[name])
    totals = [0] * len(rated)
    for (index, _), values in votes.items():
        totals[index] += _sign(sum(values))
    return adds, removes, [_sign(total) for total in totals]


def last_rating(run: Run, result: Result) -> int:
    calls = sorted(run.stand_ins.rates[result.execution_log_id], key=lambda c: c["t_in"])
    return int(calls[-1]["rating"]) if calls else 0


async def slow(run: Run) -> None:
    cfg = run.config
    run.stand_ins.set_latency(cfg.slow_latency)
    requests = run.commands(cfg.slow_commands, "S")
    pids = run.bot.pids()
    cpu0, t0 = cpu_seconds(pids), time.monotonic()
    sent = await drive(run.session, run.bot.url + "/slack/events", requests, cfg.concurrency)
    figures = ack_figures(sent, time.monotonic() - t0)
    # Ack and Zapier call sent, nothing else yet: Zapier has not answered any of them.
    figures["server_cpu_ms_per_command"] = round((cpu_seconds(pids) - cpu0) / len(sent) * 1000, 3)
    await asyncio.sleep(0.5)
    async with aiohttp.ClientSession() as session, session.get(run.bot.url + "/healthz") as response:
        in_flight = (await response.json()).get("tasks_in_flight")
    run.stand_ins.set_latency(cfg.latency)
    run.results["slow"] = {"zapier_latency_s": cfg.slow_latency, "in_flight": cfg.concurrency} | figures
    run.results["slow"]["bot_tasks_waiting_on_zapier"] = in_flight
    forget(run)


async def scale(run: Run) -> None:
    cfg = run.config
    out: dict[str, Any] = {"zapier_latency_s": cfg.fast_latency, "in_flight": cfg.scale_concurrency}
    run.stand_ins.set_latency(cfg.fast_latency)
    for workers in cfg.workers:
        env = bot_env(run.stand_ins, run.redis_url, workers, source=cfg.bot_source)
        server = ServerProcess(f"bot-{workers}w", "bot", env, run.log_dir)
        await server.start()
        try:
            listening = await server.all_listening(workers)
            # Fresh connections, opened now that every worker listens, so that the kernel spreads them.
            await run.session.forget(server.url)
            await commands_through(run, server, 100, cfg.scale_concurrency, "X")  # warm-up
            serving = server.workers()
            others = {"stand_ins": [run.stand_ins.pid], "redis": [p for p in [run.redis_pid] if p]}
            cpu0 = cpu_seconds(server.pids())
            others0 = {name: cpu_seconds(pids) for name, pids in others.items()}
            load0 = time.process_time()
            sent, posted, wall = await commands_through(
                run, server, cfg.scale_commands, cfg.scale_concurrency, "X", outstanding=cfg.scale_outstanding
            )
            # Where the machine's cores went meanwhile: the bot's processes, and what it talks to.
            cores = {"bot": (cpu_seconds(server.pids()) - cpu0) / wall}
            cores |= {name: (cpu_seconds(pids) - others0[name]) / wall for name, pids in others.items()}
            cores["load_generator"] = (time.process_time() - load0) / wall
            out[f"workers_{workers}"] = {
                "cores_used": {name: round(value, 2) for name, value in cores.items()},
                "processes_serving": len(serving),
                "processes_answering": len(listening),
                "commands_per_s": round(posted / wall),
                "ack_p99_ms": round(percentile([s.latency for s in sent], 99) * 1000, 1),
                "busy": sum(BUSY in s.body for s in sent),
                "errors": sum(s.status != 200 for s in sent),
                "bot_cpu_s": round(cpu_seconds(server.pids()) - cpu0, 2),
                "rss_mb": round(sum(rss_mb(p) for p in serving), 1),
            }
        finally:
            await server.stop()
        forget(run)
    run.stand_ins.set_latency(cfg.latency)
    if "workers_1" in out and "workers_2" in out:
        out["speedup_2_vs_1"] = round(
            out["workers_2"]["commands_per_s"] / out["workers_1"]["commands_per_s"], 2
        )
    run.results["scale"] = out


# ---- helpers -----------------------------------------------------------------------------------------


async def commands_through(
    run: Run, server: ServerProcess, count: int, concurrency: int, prefix: str, *, outstanding: int = 0
) -> tuple[list[Sent], int, float]:
    """`count` commands, `concurrency` acks in flight and at most `outstanding` (default: the config's)
    previews not yet posted.

    Returns the acks, how many previews were posted, and the seconds from the first send to the last post.
    """
    unposted = asyncio.Semaphore(outstanding or run.config.outstanding)
    requests = run.commands(count, prefix)
    url = server.url + "/slack/events"
    sent: list[Sent] = []
    posted = 0
    last_post = 0.0
    waits: set[asyncio.Task[None]] = set()

    async def wait_post(key: str) -> None:
        nonlocal posted, last_post
        try:
            post = await run.stand_ins.post(key, "root", wait_s=30)
            if post["e"] == "post":
                posted += 1
                last_post = max(last_post, post["t"])
        except TimeoutError:
            pass
        finally:
            unposted.release()

    async def one(index: int) -> None:
        await unposted.acquire()
        answer = await send(run.session, url, requests[index])
        sent.append(answer)
        if answer.status == 200 and BUSY not in answer.body:
            task = asyncio.create_task(wait_post(requests[index].key))
            waits.add(task)
            task.add_done_callback(waits.discard)
        else:
            unposted.release()

    t0 = time.monotonic()
    await flows(count, concurrency, one)
    while waits:
        await asyncio.gather(*waits)
    return sent, posted, (last_post or time.monotonic()) - t0


async def wait_previews(run: Run, requests: list[Signed], wait_s: float) -> int:
    """How many of the commands got their preview posted (waiting up to `wait_s` s in all)."""
    deadline = time.monotonic() + wait_s
    posted = 0
    for request in requests:
        with contextlib.suppress(TimeoutError):
            post = await run.stand_ins.post(
                request.key, "root", wait_s=max(0.01, deadline - time.monotonic())
            )
            posted += post["e"] == "post"
    return posted


async def settle(server: ServerProcess, wait_s: float = 30.0) -> None:
    """Wait until the bot has no background task left (its /healthz says how many are in flight)."""
    deadline = time.monotonic() + wait_s
    async with aiohttp.ClientSession() as session:
        while time.monotonic() < deadline:
            async with session.get(server.url + "/healthz") as response:
                if (await response.json()).get("tasks_in_flight", 0) == 0:
                    return
            await asyncio.sleep(0.05)


def forget(run: Run) -> None:
    """Between phases: the stand-ins drop their records, so a long run measures the bot, not their lists;
    the load generator collects its garbage."""
    run.stand_ins.clear()
    gc.collect()


def ack_figures(sent: list[Sent], wall: float) -> dict[str, Any]:
    return latency_figures([s.latency for s in sent]) | {
        "per_s": round(len(sent) / wall),
        "busy": sum(BUSY in s.body for s in sent),
        "errors": sum(s.status != 200 for s in sent),
    }


def latency_figures(latencies: list[float]) -> dict[str, Any]:
    return {
        "count": len(latencies),
        "p50_ms": round(percentile(latencies, 50) * 1000, 2),
        "p99_ms": round(percentile(latencies, 99) * 1000, 2),
        "max_ms": round(max(latencies) * 1000, 2),
    }


def overhead_figures(parts: list[tuple[float, float]], nominal: list[float], failures: int) -> dict[str, Any]:
    """The bot's time in a flow: from the request to its Zapier call, and from Zapier's answer to the post."""
    overhead = [before + after for before, after in parts]
    return {
        "count": len(overhead),
        "failures": failures,
        "p50_ms": round(percentile(overhead, 50) * 1000, 1),
        "p99_ms": round(percentile(overhead, 99) * 1000, 1),
        "max_ms": round(max(overhead, default=float("nan")) * 1000, 1),
        "to_zapier_p50_ms": round(percentile([b for b, _ in parts], 50) * 1000, 1),
        "after_zapier_p50_ms": round(percentile([a for _, a in parts], 50) * 1000, 1),
        "minus_nominal_latency_p50_ms": round(percentile(nominal, 50) * 1000, 1),
        "minus_nominal_latency_p99_ms": round(percentile(nominal, 99) * 1000, 1),
    }


def sum_of(rounds: list[dict[str, Any]], name: str, keys: tuple[str, ...]) -> dict[str, int]:
    return {k: sum(r[name][k] for r in rounds) for k in keys}


def _sign(value: int) -> int:
    return (value > 0) - (value < 0)


def machine(load_before: tuple[float, float, float]) -> dict[str, Any]:
    def ver(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    redis_version = subprocess.run(
        ["redis-server", "--version"],  # noqa: S607 - the same redis-server the run started, from PATH
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    return {
        "cores": os.cpu_count(),
        "cpu": model,
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "platform": platform.platform(),
        "redis_server": next((w.split("=")[1] for w in redis_version if w.startswith("v=")), None),
        "packages": {
            name: ver(name)
            for name in (
                "slack-bolt",
                "slack-sdk",
                "aiohttp",
                "httpx",
                "redis",
                "pydantic",
                "uvloop",
                "orjson",
            )
        },
    }


def start_profiler(run: Run) -> subprocess.Popen[bytes]:
    out = Path(run.config.profile or "profile.svg").resolve()
    py_spy = str(Path(sys.executable).parent / "py-spy")
    kind = {".txt": "raw", ".json": "speedscope"}.get(out.suffix, "flamegraph")  # raw: collapsed stacks
    return subprocess.Popen(  # noqa: S603
        [py_spy, "record", "--pid", str(run.bot.pid), "--output", str(out), "--rate", "250", "--nonblocking",
         "--format", kind],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip


def stop_profiler(profiler: subprocess.Popen[bytes]) -> None:
    profiler.send_signal(2)  # SIGINT: py-spy writes the flame graph and exits
    try:
        profiler.wait(30)
    except subprocess.TimeoutExpired:
        profiler.kill()


def save(results: dict[str, Any], path: Path) -> None:
    path.write_text(json.dumps(results, indent=2) + "\n")
