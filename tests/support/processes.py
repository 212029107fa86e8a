"""Running the bot's own commands (`python -m bot ...`, `scripts/run`) in tests: as child processes, or
(`bot_command_in_process`) the same module's entry function in this process.

The child gets a clean environment: none of the bot's settings leak in from the developer's shell, no
proxies, and a working directory of the test's choosing, so no stray `.env` is read either.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import bot.__main__ as bot_module

ROOT = Path(__file__).resolve().parents[2]
SETTING_PREFIXES = ("SLACK_", "ZAPIER_", "REDIS_", "LOG_", "PREVIEW_", "READINESS_", "ZAPBOT_")
DROPPED = {"HOST", "PORT", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}


def clean_env(**settings: str) -> dict[str, str]:
    """The current environment without any zapbot setting or proxy, plus `settings`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in DROPPED and not key.startswith(SETTING_PREFIXES)
    }
    env.update({"LOGNAME": "ada", "PYTHONUNBUFFERED": "1"})
    env.update(settings)
    return env


@dataclass
class Finished:
    code: int
    stdout: str
    stderr: str


async def run(
    args: list[str], *, env: dict[str, str], cwd: Path, stdin: str = "", seconds: float = 60.0
) -> Finished:
    """Run a command to its end with `stdin` as its whole input; killed (test failed) after `seconds`."""
    process = await asyncio.create_subprocess_exec(
        *args,
        cwd=cwd,
        env=env,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        async with asyncio.timeout(seconds):
            out, err = await process.communicate(stdin.encode())
    except TimeoutError:
        process.kill()
        out, err = await process.communicate()
        raise AssertionError(
            f"{args} did not finish in {seconds:.0f}s\nstdout:\n{out.decode()}\nstderr:\n{err.decode()}"
        ) from None
    assert process.returncode is not None
    return Finished(process.returncode, out.decode(), err.decode())


@contextlib.contextmanager
def environment(env: dict[str, str]) -> Iterator[None]:
    """This process's environment is exactly `env` inside the block, and what it was again after."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


async def bot_command_in_process(args: list[str], *, env: dict[str, str], cwd: Path) -> Finished:
    """What `python -m bot ARGS` does, without starting an interpreter: the module's own `run(argv)` with
    exactly `env` as the environment, `cwd` as the directory (where `.env` is read) and its output captured.
    For the short commands (`check`, a refused start) whose subject is what they say, not the process:
    the tests that need the process itself (exit codes through `sys.exit`, signals, serving) spawn it.
    It runs in a thread, so that stand-ins on this event loop answer the checks it makes."""
    out, err = io.StringIO(), io.StringIO()

    def call() -> int:
        with (
            environment(env),
            contextlib.chdir(cwd),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            return bot_module.run(args)

    code = await asyncio.to_thread(call)
    return Finished(code, out.getvalue(), err.getvalue())


def python_bot(*args: str) -> list[str]:
    """`python -m bot ARGS` with the interpreter running the tests (the project's venv)."""
    return [sys.executable, "-m", "bot", *args]
