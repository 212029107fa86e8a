"""The hot-path benchmark: `/zap` acks and reaction events, the bot against a bare Bolt app, under `wrk`.

Python only orchestrates (starts the processes, signs the requests before a round, reads /proc); the load
comes from `wrk` (C, Debian's `wrk` package) running bench/wrk.lua over a pool of pre-signed requests.
Redis, the Slack and Zapier stand-ins (bench/stand_ins.py) and each server run in processes of their own.
Every round starts each server in turn on the *same* port (the floor, the bot with ZAPBOT_FAST_PATHS=on,
off, and on without each behaviour), warms it up, and measures it; figures are the median over rounds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.procs import ROOT, RedisProcess, ServerProcess, StandIns, cpu_seconds, free_port, rss_mb
from bench.slack import Signed, Signer

SECRET = "bench-signing-secret"
BOT_TOKEN = "xoxb-test-token"
ZAPIER_KEY = "test-zapier-key"
COMMAND = 'SlackAPI channel_message channel~="#general" Say good morning (bench {tag})'
BEHAVIOURS = ("acks", "give_way", "gc_pause", "transport")  # those a /zap burst meets
LUA = ROOT / "bench" / "wrk.lua"
WRK = shutil.which("wrk") or "/usr/bin/wrk"


@dataclass
class Config:
    commands: int = 1000
    concurrency: int = 50
    threads: int = 2
    rounds: int = 3
    latency: float = 1.0  # Zapier's, per call
    warmup: int = 200
    memory_commands: int = 10_000
    memory_batch: int = 500
    # 0: each command of the memory phase by a new person in a new channel (per-person caches fill to their
    # bounds as they would with that many people); N: N people in N channels, in turn (a team's steady state).
    memory_people: int = 0
    reactions: int = 3000
    # "all", or a comma list of: floor, on, off, -acks, -give_way, ... (on without X); each may end with
    # @NAME=VALUE settings for that server, e.g. on@WORKERS=2 or on@ZAPIER_MAX_CONNECTIONS=200.
    variants: str = "all"
    reaction_rounds: int = 3
    memory_variants: str = "on,off"
    # "": every process shares every core. "1" (a list, as taskset takes it): the server under test (the
    # floor or the bot) runs on those cores alone and the rest (wrk, the stand-ins, Redis, this driver) on
    # the others, as in production, where Slack and Zapier do not share the bot's cores.
    server_cpus: str = ""


def cpu_set(cpus: str) -> set[int]:
    """ "0,2-3" -> {0, 2, 3}."""
    found: set[int] = set()
    for part in filter(None, cpus.split(",")):
        first, _, last = part.partition("-")
        found.update(range(int(first), int(last or first) + 1))
    return found


def variants(config: Config) -> list[str]:
    every = ["floor", "on", "off"] + [f"-{b}" for b in BEHAVIOURS]
    return every if config.variants == "all" else config.variants.split(",")


def fast_paths(variant: str) -> str:
    """ZAPBOT_FAST_PATHS for a variant: on, off, or every behaviour but one."""
    if variant in ("on", "off"):
        return variant
    return ",".join(sorted({*BEHAVIOURS, "reactions"} - {variant.lstrip("-")}))


class Bench:
    def __init__(self, config: Config, log_dir: Path, stand_ins: StandIns, redis_url: str) -> None:
        self.config = config
        self.log_dir = log_dir
        self.stand_ins = stand_ins
        self.redis_url = redis_url
        self.port = free_port()  # every server of every round listens here
        self.signer = Signer(SECRET, stand_ins.response_base)
        self.tags = 0

    def server(self, variant: str) -> ServerProcess:
        env = {
            "SLACK_BOT_TOKEN": BOT_TOKEN,
            "SLACK_SIGNING_SECRET": SECRET,
            "SLACK_API_URL": self.stand_ins.slack_api,
            "ZAPIER_API_KEY": ZAPIER_KEY,
            "ZAPIER_BASE_URL": self.stand_ins.zapier,
            "REDIS_URL": self.redis_url,
            # A round is 1,000 commands and the few wrk has in flight when it stops: over the default bound
            # of 1,000 background tasks, some would be refused as "very busy" and never previewed.
            "MAX_BACKGROUND_TASKS": "2000",
        }
        behaviours, *settings = variant.split("@")
        env.update(setting.split("=", 1) for setting in settings)  # e.g. on@WORKERS=2
        cpus = cpu_set(self.config.server_cpus)
        if behaviours == "floor":
            return ServerProcess("floor", "bench.floor", env, self.log_dir, port=self.port, cpus=cpus)
        env["ZAPBOT_FAST_PATHS"] = fast_paths(behaviours)
        name = re.sub(r"[^\w@=.,+-]", "_", f"bot{variant}")  # the log file's name
        return ServerProcess(name, "bot", env, self.log_dir, port=self.port, cpus=cpus)

    def commands(self, count: int, channel: str = "", people: int = 0) -> list[Signed]:
        """`count` /zap, each by a person of its own in a channel of its own (its preview is posted there),
        or all in `channel`: a burst from many people, each within the bot's per-person request limit.
        With `people`, they come from that many people in as many channels, in turn."""
        signed = []
        for _ in range(count):
            self.tags += 1
            tag = f"C{self.tags:08d}"
            who = f"C{self.tags % people:08d}" if people else tag
            text = COMMAND.format(tag=tag)
            key = f"{channel}-{tag}" if channel else tag  # one response URL per command
            signed.append(self.signer.command(text, channel=channel or who, user=f"U{who}", response_key=key))
        return signed

    def wrk(self, requests: list[Signed], answers: int) -> dict[str, Any]:
        """Send `answers` of `requests` (cycled), `concurrency` in flight; wrk's figures."""
        threads = self.config.threads
        with tempfile.TemporaryDirectory(dir=self.log_dir) as tmp:
            pool, out = Path(tmp) / "pool.tsv", Path(tmp) / "out.json"
            lines = []
            for r in requests:
                h = r.headers
                body = r.body.decode()
                lines.append(
                    f"{h['Content-Type']}\t{h['X-Slack-Request-Timestamp']}\t{h['X-Slack-Signature']}\t{body}"
                )
            pool.write_text("\n".join(lines) + "\n")
            per_thread = -(-answers // threads)
            wrk = subprocess.Popen(  # noqa: S603 - our own arguments, no shell
                [
                    WRK, f"-t{threads}", f"-c{self.config.concurrency}", "-d300s", "--timeout", "10s",
                    "-s", str(LUA), f"http://127.0.0.1:{self.port}",
                    "--", str(pool), str(per_thread), str(out), str(threads),
                ],
                stdout=subprocess.DEVNULL,
            )  # fmt: skip
            done = [Path(f"{out}.done{i + 1}") for i in range(threads)]
            while not all(d.exists() for d in done) and wrk.poll() is None:
                time.sleep(0.005)
            wrk.send_signal(signal.SIGINT)  # wrk waits out -d otherwise; on SIGINT it reports at once
            if wrk.wait(30) != 0:
                raise RuntimeError(f"wrk failed ({wrk.returncode})")
            return dict(json.loads(out.read_text()))

    async def previews(self, acked: int, started: float) -> float | None:
        """Seconds from `started` until the last preview was posted, once at least `acked` are and no more
        come for a second (wrk's last few sends, in flight when it stopped, may add a few: the bot got at
        least every acked command, and each command it got has its preview). None if they never come."""
        deadline = time.monotonic() + self.config.latency + 30
        seen, quiet_since = -1, time.monotonic()
        while time.monotonic() < deadline:
            posts = [p for p in self.stand_ins.posts.values() if p.get("e") == "post"]
            if len(posts) != seen:
                seen, quiet_since = len(posts), time.monotonic()
            elif seen >= acked and time.monotonic() - quiet_since > 1.0:
                return round(max(p["t"] for p in posts) - started, 3)
            await asyncio.sleep(0.05)
        return None

    async def burst(self, server: ServerProcess, count: int, *, bot: bool, people: int = 0) -> dict[str, Any]:
        """`count` /zap (plus the few wrk sends in flight when it stops), acked; for the bot, every
        acked command's preview posted."""
        signed = self.commands(count + self.config.concurrency, people=people)
        pids = server.pids()
        cpu_before = cpu_seconds(pids)
        started = time.monotonic()
        result = await asyncio.to_thread(self.wrk, signed, count)
        acked = time.monotonic()
        acked_cpu = cpu_seconds(pids) - cpu_before
        result["ack_cpu_ms_per_command"] = round(1000 * acked_cpu / result["answered"], 3)
        result["started_at"] = round(started, 3)  # time.monotonic(), the clock of every process here
        result["acked_at"] = round(acked, 3)  # when wrk had its answers
        if bot:
            result["previews_within_s"] = await self.previews(result["answered"], started)
            result["cpu_ms_per_command"] = round(
                1000 * (cpu_seconds(pids) - cpu_before) / result["answered"], 3
            )
            result.update(self.timeline(started))
        self.stand_ins.clear()
        return result

    def timeline(self, started: float) -> dict[str, float | None]:
        """Where a burst's time went, in seconds from its first request: when Zapier's stand-in received the
        first and the last preview call (the last minus the first shows how the calls queued in the bot),
        and when the first and the last preview were posted."""
        asked = [z["t_in"] for (_, op), z in self.stand_ins.zaps.items() if op == "preview"]
        posted = [p["t"] for p in self.stand_ins.posts.values() if p.get("e") == "post"]

        def at(times: list[float], pick: Any) -> float | None:
            return round(float(pick(times)) - started, 3) if times else None

        return {
            "zapier_first_s": at(asked, min),
            "zapier_last_s": at(asked, max),
            "posted_first_s": at(posted, min),
            "posted_last_s": at(posted, max),
        }

    async def ack_rounds(self) -> dict[str, list[dict[str, Any]]]:
        rounds: dict[str, list[dict[str, Any]]] = {v: [] for v in variants(self.config)}
        for n in range(self.config.rounds):
            order = list(rounds) if n % 2 == 0 else list(reversed(rounds))
            for variant in order:
                server = self.server(variant)
                await server.start()
                try:
                    bot = not variant.startswith("floor")
                    await self.burst(server, self.config.warmup, bot=bot)
                    await asyncio.sleep(0.5)  # the warm-up's leftovers (full collections, redraws)
                    figures = await self.burst(server, self.config.commands, bot=bot)
                finally:
                    await server.stop()
                figures["load1"] = os.getloadavg()[0]
                rounds[variant].append(figures)
                print(f"round {n + 1} {variant}: {summary(figures)}", flush=True)
        return rounds

    async def memory(self, variant: str) -> dict[str, Any]:
        """RSS after the warm-up, then after `memory_commands` more, each through to its preview."""
        self.stand_ins.set_latency(0.1)
        server = self.server(variant)
        await server.start()
        try:
            await self.burst(server, self.config.warmup, bot=True)
            before = rss_mb(server.pid)
            done, after_each = 0, []
            while done < self.config.memory_commands:
                people = self.config.memory_people
                figures = await self.burst(server, self.config.memory_batch, bot=True, people=people)
                done += figures["answered"]
                if figures["previews_within_s"] is None:
                    return {"error": "a preview never came"}
                after_each.append(round(rss_mb(server.pid), 1))
        finally:
            await server.stop()
            self.stand_ins.set_latency(self.config.latency)
        # The first batch raises the high-water mark (500 commands in flight where the warm-up had 50);
        # a leak shows as growth from the first batch to the last.
        return {
            "commands": done,
            "rss_after_warmup_mb": round(before, 1),
            "rss_after_each_batch_mb": after_each,
        }

    async def reactions(self, variant: str) -> dict[str, Any]:
        """Reaction events (👍 on messages that show no execution: the count looks it up and stops), the
        same wrk load; after one reaction through Bolt, so that the fast path is armed."""
        server = self.server(variant)
        await server.start()
        try:
            warm = [self.signer.reaction("+1", user="UW", channel="CW", ts="1.1") for _ in range(200)]
            await asyncio.to_thread(self.wrk, warm, 200)
            events = [
                self.signer.reaction("+1", user=f"U{n % 300}", channel="CR", ts=f"1.{n % 100}")
                for n in range(self.config.reactions + self.config.concurrency)
            ]
            pids = server.pids()
            cpu_before = cpu_seconds(pids)
            result = await asyncio.to_thread(self.wrk, events, self.config.reactions)
            result["cpu_ms_per_event"] = round(
                1000 * (cpu_seconds(pids) - cpu_before) / result["answered"], 3
            )
        finally:
            await server.stop()
        return result


def summary(f: dict[str, Any]) -> str:
    text = f"p50 {f['p50_us'] / 1000:.1f} p99 {f['p99_us'] / 1000:.1f} max {f['max_us'] / 1000:.1f} ms"
    text += f", {f['answered']} answered, {f['non_200'] + f['socket_errors']} failed"
    if "previews_within_s" in f:
        text += f", previews within {f['previews_within_s']} s, {f['cpu_ms_per_command']} ms CPU/command"
        text += f" (Zapier asked {f.get('zapier_first_s')}-{f.get('zapier_last_s')} s,"
        text += f" posted {f.get('posted_first_s')}-{f.get('posted_last_s')} s)"
    return text


def median(rows: list[dict[str, Any]], key: str) -> float | None:
    values = [r[key] for r in rows if r.get(key) is not None]
    return statistics.median(values) if values else None


async def run(config: Config, log_dir: Path) -> dict[str, Any]:
    if shutil.which("wrk") is None:
        raise SystemExit("the benchmark needs wrk: apt-get install -y wrk")
    if config.server_cpus:  # this driver and every process it starts (but the servers) on the other cores
        others = os.sched_getaffinity(0) - cpu_set(config.server_cpus)
        if not others:
            raise SystemExit(f"--server-cpus {config.server_cpus} leaves no core for wrk and the stand-ins")
        os.sched_setaffinity(0, others)
    async with contextlib.AsyncExitStack() as stack:
        redis_server = RedisProcess(log_dir / "redis")
        stack.callback(redis_server.stop)
        redis_url = redis_server.start()
        print(f"redis at {redis_url}", flush=True)
        stand_ins = StandIns()
        stack.push_async_callback(stand_ins.stop)
        # The Zapier stand-in checks the first 50 exchanges of each operation and one in 50 after, untimed.
        await stand_ins.start(config.latency, 50, 50, log_dir)
        bench = Bench(config, log_dir, stand_ins, redis_url)
        load_before = os.getloadavg()
        rounds = await bench.ack_rounds() if config.rounds else {}
        reactions: dict[str, list[dict[str, Any]]] = {"on": [], "off": [], "-reactions": []}
        if config.reactions and config.reaction_rounds:
            for _ in range(config.reaction_rounds):
                for variant, rows in reactions.items():
                    rows.append(await bench.reactions(variant))
                    print(f"reactions {variant}: {summary(rows[-1])}", flush=True)
        memory = {}
        if config.memory_commands:
            for variant in config.memory_variants.split(","):
                memory[variant] = await bench.memory(variant)
                print(f"memory {variant}: {memory[variant]}", flush=True)
        checks = await stand_ins.status()
        if checks["violations"]:
            raise SystemExit("the bot broke the Zapier contract:\n" + "\n".join(checks["violations"][:20]))
    keys = ("p50_us", "p99_us", "max_us", "ack_cpu_ms_per_command", "previews_within_s", "cpu_ms_per_command")
    medians = {v: {k: median(rows, k) for k in keys} for v, rows in rounds.items()}
    reaction_keys = ("p50_us", "p99_us", "max_us", "cpu_ms_per_event", "duration_us")
    return {
        "config": config.__dict__,
        "machine": {"cpus": os.cpu_count(), "load_before": load_before, "load_after": os.getloadavg()},
        "acks": {"median": medians, "rounds": rounds},
        "reactions": {
            "median": {v: {k: median(rows, k) for k in reaction_keys} for v, rows in reactions.items()},
            "rounds": reactions,
        },
        "memory": memory,
        "contract": {"exchanges_checked": checks["checked"], "violations": 0},
    }
