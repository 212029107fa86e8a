"""`scripts/run`, the README's first command, as a newcomer meets it: no Slack tokens, no REDIS_URL.

Each run is a real child process in a fresh directory (no `.env`), bounded in time. The local Redis port it
probes first is pointed at a port of our choosing, so a Redis on the machine's 6379 cannot change the test.
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from tests.support.fakes.zapier_server import FakeZapier
from tests.support.processes import ROOT, clean_env, python_bot, run
from tests.support.redis_process import _pings, free_port

RUN = str(ROOT / "scripts" / "run")


async def test_without_tokens_or_redis_it_starts_redis_says_what_to_set_and_starts_the_console(
    fake_zapier: FakeZapier, tmp_path: Path
) -> None:
    """With nothing set but the Zapier key: redis-server starts with AOF in ./data/redis, the Slack
    settings are named with where to get them, the console runs a command end to end, and Redis is
    stopped when the console ends, its data kept on disk."""
    env = clean_env(
        ZAPIER_API_KEY="test-zapier-key",
        ZAPIER_BASE_URL=fake_zapier.url,
        ZAPBOT_LOCAL_REDIS_PORT=str(free_port()),  # nothing answers there
    )
    stdin = "SlackAPI channel_message Say hi to the team\nconfirm\nquit\n"
    done = await run([RUN], env=env, cwd=tmp_path, stdin=stdin, seconds=120)
    assert done.code == 0, done.stdout + done.stderr
    for needed in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "manifest.yml"):
        assert needed in done.stderr
    assert "Basic Information -> App Credentials -> Signing Secret" in done.stderr
    assert "OAuth & Permissions -> Install to Workspace" in done.stderr
    started = re.search(
        r"Started a local Redis on 127\.0\.0\.1:(\d+) \(pid \d+, data with AOF in (.+)\)\.", done.stdout
    )
    assert started, done.stdout
    assert Path(started.group(2)) == tmp_path / "data" / "redis"
    assert "Starting the console instead" in done.stdout
    assert "Channel Message ran: `success`" in done.stdout
    assert "Stopped the local Redis" in done.stdout
    assert not _pings(int(started.group(1)))  # stopped with the bot
    aof = b"".join(f.read_bytes() for f in (tmp_path / "data" / "redis" / "appendonlydir").iterdir())
    assert b"zapbot:preview:" in aof  # what the console stored was persisted
    assert len(fake_zapier.of("execute")) == 1


async def test_it_uses_a_redis_that_already_answers_on_the_local_port(
    fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """A Redis answering on the local port is used as it is: no redis-server is started, no data folder."""
    where = urlsplit(redis_url)
    if where.hostname not in {"127.0.0.1", "localhost"}:
        pytest.skip("needs the test Redis on 127.0.0.1 (ZAPBOT_TEST_REDIS_URL points elsewhere)")
    port = str(where.port or 6379)
    env = clean_env(
        ZAPIER_API_KEY="test-zapier-key", ZAPIER_BASE_URL=fake_zapier.url, ZAPBOT_LOCAL_REDIS_PORT=port
    )
    done = await run([RUN], env=env, cwd=tmp_path, stdin="SlackAPI channel_message Hi\nquit\n", seconds=120)
    assert done.code == 0, done.stdout + done.stderr
    assert f"Using the Redis on 127.0.0.1:{port}" in done.stdout
    assert "Started a local Redis" not in done.stdout and not (tmp_path / "data").exists()
    assert "Type `confirm` to run it" in done.stdout  # the preview was stored in that Redis and shown


async def test_without_any_redis_it_says_how_to_get_one(tmp_path: Path) -> None:
    """No REDIS_URL, nothing on the local port and no redis-server: exit 1 with the ways to get Redis."""
    env = clean_env(
        ZAPIER_API_KEY="test-zapier-key",
        ZAPBOT_LOCAL_REDIS_PORT=str(free_port()),
        ZAPBOT_REDIS_SERVER="redis-server-not-installed",
    )
    done = await run([RUN], env=env, cwd=tmp_path, seconds=120)
    assert done.code == 1
    assert "apt-get install redis-server" in done.stderr and "brew install redis" in done.stderr
    assert "docker run" in done.stderr and "REDIS_URL" in done.stderr


async def test_check_names_blank_slack_settings_with_where_to_get_them_and_serving_stays_one_line(
    tmp_path: Path,
) -> None:
    """`python -m bot check` counts blank Slack tokens in .env as unset and says where to get each (exit 3:
    scripts/run then offers the console); `python -m bot` itself still stops with one line (exit 2)."""
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=\nSLACK_SIGNING_SECRET=''\nZAPIER_API_KEY=k-123456\n")
    done = await run(python_bot("check"), env=clean_env(), cwd=tmp_path, seconds=60)
    assert done.code == 3
    assert "SLACK_BOT_TOKEN" in done.stderr and "OAuth & Permissions" in done.stderr
    assert "SLACK_SIGNING_SECRET" in done.stderr and "Basic Information" in done.stderr
    assert "ZAPIER_API_KEY" not in done.stderr and "scripts/run console" in done.stderr
    served = await run(python_bot(), env=clean_env(), cwd=tmp_path, seconds=60)
    assert served.code == 2 and len(served.stderr.splitlines()) == 1
    assert "SLACK_BOT_TOKEN" in served.stderr
    complete = await run(
        python_bot("check", "--offline"),
        env=clean_env(SLACK_BOT_TOKEN="xoxb-1", SLACK_SIGNING_SECRET="s-1"),
        cwd=tmp_path,
    )
    assert complete.code == 0 and "complete" in complete.stdout


async def test_with_nothing_configured_it_runs_the_demo_from_piped_commands(tmp_path: Path) -> None:
    """No Zapier key, no Slack tokens, no Redis: the README's one-liner `printf '/zap ...\nconfirm\nquit\n'
    | scripts/run` names what to set, starts a local Redis and the demo, previews, runs and shows the
    result, everything marked DEMO, and exits 0 with the Redis stopped."""
    env = clean_env(ZAPBOT_LOCAL_REDIS_PORT=str(free_port()))
    stdin = "/zap SlackAPI channel_message say hi\nconfirm\nquit\n"
    done = await run([RUN], env=env, cwd=tmp_path, stdin=stdin, seconds=120)
    assert done.code == 0, done.stdout + done.stderr
    for needed in ("ZAPIER_API_KEY", "SLACK_BOT_TOKEN", "scripts/run demo"):
        assert needed in done.stderr
    assert "Starting the demo instead" in done.stdout and "Started a local Redis" in done.stdout
    preview, _, result = done.stdout.partition("[DEMO] Type `confirm` to run it")
    assert "[DEMO] ada wants to run `SlackAPI` · Send Channel Message (write)" in preview
    assert "• text: say hi" in preview and "[Confirm]  [Edit]  [Cancel]" in preview
    assert "[DEMO] ✅ Send Channel Message ran: `success`" in result and "[DEMO] Bye." in result
    assert "Stopped the local Redis" in done.stdout


async def test_the_console_reads_piped_commands_and_help_needs_no_redis(
    fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """`scripts/run console` with commands piped in (no terminal) runs them instead of exiting at once;
    `scripts/run --help` answers without looking for a Redis."""
    env = clean_env(ZAPIER_API_KEY="test-zapier-key", ZAPIER_BASE_URL=fake_zapier.url, REDIS_URL=redis_url)
    stdin = "SlackAPI channel_message Say hi\nconfirm\nquit\n"
    done = await run([RUN, "console"], env=env, cwd=tmp_path, stdin=stdin, seconds=120)
    assert done.code == 0, done.stdout + done.stderr
    assert "Channel Message ran: `success`" in done.stdout and len(fake_zapier.of("execute")) == 1
    nothing = clean_env(ZAPBOT_LOCAL_REDIS_PORT=str(free_port()), ZAPBOT_REDIS_SERVER="no-redis-server-here")
    helped = await run([RUN, "--help"], env=nothing, cwd=tmp_path, seconds=120)
    assert helped.code == 0 and "Modes:" in helped.stdout and "redis" not in helped.stderr.lower()
