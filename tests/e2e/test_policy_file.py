"""`python -m bot` refuses to start with a malformed or missing policy file (POLICY_FILE)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (
            "channels:\n  C1:\n    approvals: -1\n",
            "line 3: channels.C1.approvals: Input should be greater than",
        ),
        (None, "no such file"),
    ],
)
def test_python_m_bot_with_a_bad_policy_file_exits_2_with_one_line(
    tmp_path: Path, content: str | None, expected: str
) -> None:
    """`python -m bot` with a malformed (or missing) POLICY_FILE prints one line naming it and exits 2,
    before it listens or connects to anything."""
    policy = tmp_path / "policy.yml"
    if content is not None:
        policy.write_text(content)
    env = {
        "PATH": os.environ.get("PATH", ""),
        "SLACK_BOT_TOKEN": "xoxb-test",
        "SLACK_SIGNING_SECRET": "secret",
        "ZAPIER_API_KEY": "key",
        "REDIS_URL": "redis://127.0.0.1:1/0",
        "HOST": "127.0.0.1",
        "POLICY_FILE": str(policy),
    }
    done = subprocess.run(
        [sys.executable, "-m", "bot"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith(f"Configuration error: POLICY_FILE {policy}") and expected in lines[0]
    assert done.stdout == ""
