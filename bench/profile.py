"""Where the bot's CPU goes during a burst: py-spy sampling the bot while `python -m bench` runs it.

Usage: `.venv/bin/python -m bench.profile [--variant on] [--rounds 2] [--match TEXT ...]`. Runs the hot-path
benchmark for one variant (no reactions, no memory phase), records the bot's stacks with py-spy (200 a
second, idle threads left out; start-up's imports left out of the shares) and prints, for each `--match`,
the share of samples whose stack names it (e.g. `SlackSurface.post`, `Store.call`, `BaseConnector.connect`),
and the share of samples inside `SlackSurface.post` spent in slack-sdk's own frames (no aiohttp below them).
Keeps the raw stacks (`--out`, default bench/results/profile.txt, one `stack count` a line).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MATCHES = [
    "SlackSurface.post",
    "MeteredWebClient.api_call",
    "ZapierClient",
    "Store.call",
    "BaseConnector.connect",
]


def bot_pid(cwd: Path, deadline: float) -> int:
    """The bot process the benchmark started (the one whose working directory is its log directory)."""
    while time.monotonic() < deadline:
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().split(b"\0")
                if b"bot" in cmdline and Path(os.readlink(entry / "cwd")) == cwd:
                    return int(entry.name)
            except OSError:
                continue
        time.sleep(0.1)
    raise SystemExit("the benchmark started no bot")


def shares(stacks: Path, matches: list[str]) -> None:
    total = 0
    found = dict.fromkeys(matches, 0)
    sdk_own = in_post = 0
    for line in stacks.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "importlib" in stack:  # start-up
            continue
        n = int(count)
        total += n
        for match in matches:
            found[match] += n if match in stack else 0
        if "SlackSurface.post" in stack:
            in_post += n
            frames = stack.split(";")
            sdk = [i for i, frame in enumerate(frames) if "slack_sdk" in frame]
            if sdk and not any("aiohttp" in frame for frame in frames[sdk[-1] + 1 :]):
                sdk_own += n
    print(f"{total} samples outside start-up")
    for match, n in found.items():
        print(f"{100 * n / max(total, 1):5.1f}%  {match}")
    own = 100 * sdk_own / max(total, 1)
    print(f"{own:5.1f}%  slack-sdk's own frames in SlackSurface.post ({in_post} samples in that call)")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", default="on")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--rate", type=int, default=200, help="py-spy's samples a second")
    parser.add_argument("--match", action="append", default=None)
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "profile.txt")
    args = parser.parse_args(argv)
    py_spy = Path(sys.executable).parent / "py-spy"
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="zapbot-profile-") as tmp:
        logs = Path(tmp).resolve()
        bench = subprocess.Popen(  # noqa: S603 - our own interpreter and module
            [sys.executable, "-m", "bench", "--variants", args.variant, "--rounds", str(args.rounds),
             "--reaction-rounds", "0", "--memory-commands", "0", "--logs", str(logs),
             "--json", str(logs / "run.json")],
            cwd=ROOT,
        )  # fmt: skip
        pid = bot_pid(logs, time.monotonic() + 120)
        subprocess.run(  # noqa: S603 - py-spy from this venv
            [str(py_spy), "record", "-p", str(pid), "-r", str(args.rate), "-f", "raw", "-o", str(args.out),
             "--nonblocking"],
            check=True,
        )  # fmt: skip
        bench.wait()
    shares(args.out, args.match or MATCHES)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
