"""`python -m bot console`, driven through its stdin and stdout as a person would, against the Zapier
stand-in and the test Redis, with no Slack setting at all."""

from __future__ import annotations

import getpass
import io
from pathlib import Path

import redis.asyncio

from bot.console.console import run_console
from bot.settings import ConsoleSettings
from tests.support.fakes.zapier_server import FakeZapier, Reply
from tests.support.processes import Finished, clean_env, environment, python_bot, run
from tests.support.redis_process import free_port
from tests.support.redis_reads import stream_entries

COMMAND = '/zap SlackAPI channel_message channel~="#general" title="<b> & co" Say hi to the team'


def console_env(fake_zapier: FakeZapier, redis_url: str, **settings: str) -> dict[str, str]:
    env = clean_env(ZAPIER_API_KEY="test-zapier-key", ZAPIER_BASE_URL=fake_zapier.url, REDIS_URL=redis_url)
    return {**env, **settings}


async def console(
    stdin: str, fake_zapier: FakeZapier, redis_url: str, cwd: Path, **settings: str
) -> Finished:
    """`python -m bot console` as a real process, `stdin` piped in."""
    env = console_env(fake_zapier, redis_url, **settings)
    return await run(python_bot("console"), env=env, cwd=cwd, stdin=stdin, seconds=30)


async def console_in_process(
    stdin: str, fake_zapier: FakeZapier, redis_url: str, **settings: str
) -> Finished:
    """The console's session (`run_console`, what `python -m bot console` runs after reading its
    settings) in this process: for tests whose subject is the conversation, not the process."""
    with environment(console_env(fake_zapier, redis_url, **settings)):
        settings_read, user = ConsoleSettings(_env_file=None), getpass.getuser()  # LOGNAME=ada
    out = io.StringIO()
    code = await run_console(settings_read, io.StringIO(stdin), out, user=user)
    return Finished(code, out.getvalue(), "")


async def test_a_command_previews_confirm_runs_it_and_react_records_a_real_rating(
    fake_zapier: FakeZapier, redis_url: str, redis_client: redis.asyncio.Redis, tmp_path: Path
) -> None:
    """Preview as text, `confirm` runs exactly what was previewed through the same run lifecycle as Slack
    (audit, outcome state, outbox), the result is shown and kept in Redis; `react +1` records a real rating
    of the run's execution log, and the rating is sent on to Zapier's rate endpoint."""
    done = await console(f"{COMMAND}\nconfirm\nreact +1\nquit\n", fake_zapier, redis_url, tmp_path)
    assert done.code == 0, done.stderr
    out = done.stdout
    assert "Zapier accepted the API key (Ada Lovelace <ada@example.com>)." in out
    preview_part, typed, result_part = out.partition("Type `confirm` to run it")
    assert "ada wants to run `SlackAPI` · Channel Message (write)" in preview_part
    assert "  │ Say hi to the team" in preview_part
    assert "• channel: #general" in preview_part and "guessed by the AI from “#general”" in preview_part
    assert "• title: <b> & co" in preview_part  # typed text is shown as typed, never taken as markup
    assert "[Confirm]  [Edit]  [Cancel]" in preview_part and typed
    assert not any(markup in out for markup in ("&lt;", "&amp;", "<!date", "<@", "*Channel"))
    assert "Channel Message ran: `success`" in result_part
    assert "• Message Text: Say hi to the team" in result_part
    assert "execution_log_id `01HLOG000002`" in result_part  # the fake's second log: preview, then run
    assert "Rated 01HLOG000002: rating +1." in result_part
    [check] = fake_zapier.of("auth_check")
    assert check.method == "GET" and check.headers["x-api-key"] == "test-zapier-key"
    assert len(fake_zapier.of("preview")) == 1
    [run_request] = fake_zapier.of("execute")
    assert run_request.query.get("skip_param_guessing") == "true"
    assert run_request.json["params"]["channel"] == {"mode": "locked", "value": "#general"}
    [rate] = fake_zapier.of("rate")
    assert "01HLOG000002" in rate.path and rate.query["rating"] == "1"
    [key] = await redis_client.keys("zapbot:preview:*")
    stored = await redis_client.hgetall(key)
    assert stored["state"] == "succeeded" and stored["team"] == "console" and stored["requested_by"] == "ada"
    steps = [entry["step"] for _, entry in await stream_entries(redis_client, "zapbot:audit")]
    assert steps == ["requested", "previewed", "approved", "confirmed", "executed", "rated"]
    execution = await redis_client.hgetall("zapbot:execution:01HLOG000002")
    assert execution["status"] == "success" and execution["confirmed_by"] == "ada"


async def test_cancel_help_and_mistakes_run_nothing_and_explain_themselves(
    fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """`cancel` closes a preview and a later `confirm` says why nothing ran; `help` lists the console's
    words and the grammar; mistakes are explained; the end of input ends the console like `quit`."""
    lines = [
        "confirm",
        "react +1",
        "SlackAPI channel_message Say hi",
        "cancel",
        "confirm",
        "help",
        "/zap GmailAPI",
        "/zap ratings",
        "Slack-API x y",
    ]
    done = await console_in_process("\n".join(lines) + "\n", fake_zapier, redis_url)
    out = done.stdout
    assert done.code == 0, done.stderr
    assert "Nothing to confirm: send a /zap command first." in out
    assert "Nothing to rate yet" in out
    assert "Cancelled by ada. Nothing was run." in out
    assert "ada cancelled this preview, so nothing was run." in out
    assert "Console commands" in out and "react +1 | react -1" in out and "Usage: `/zap APP ACTION" in out
    assert "Missing the ACTION (and the instructions) after `GmailAPI`" in out
    assert "How actions have been rated" in out  # `/zap ratings` works here as in Slack
    assert "Looking for the Zapier action that fits" in out  # `Slack-API x y` is plain English
    assert out.rstrip().endswith("Bye.")
    assert fake_zapier.of("execute") == []  # a preview or two (the plain-English line), and no run


async def test_a_rejected_key_is_reported_at_start_and_on_each_preview(
    fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """The key check at start-up tells the admin the key is wrong; a preview then fails with the same news."""
    done = await console(f"{COMMAND}\n", fake_zapier, redis_url, tmp_path, ZAPIER_API_KEY="not-the-key")
    assert done.code == 0, done.stderr
    assert "Zapier rejected ZAPIER_API_KEY" in done.stdout
    assert "Zapier rejected zapbot's API key" in done.stdout and "nothing was run" in done.stdout.lower()
    assert "not-the-key" not in done.stdout + done.stderr


async def test_a_preview_zapier_refuses_is_explained(
    fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """A preview answered with status error shows Zapier's words and that nothing ran; nothing to confirm."""
    refused = {"execution_log_id": "L1", "action_used": "X", "input_params": {}, "status": "error"}
    fake_zapier.script("preview", Reply(json={**refused, "error": "No such app: SlackAPI"}))
    done = await console_in_process(f"{COMMAND}\nconfirm\n", fake_zapier, redis_url)
    assert "Zapier could not preview `SlackAPI channel_message`: No such app: SlackAPI. Nothing was run." in (
        done.stdout
    )
    assert "Nothing to confirm" in done.stdout
    assert fake_zapier.of("execute") == []


async def test_without_a_zapier_key_it_says_what_to_set(tmp_path: Path) -> None:
    """With no ZAPIER_API_KEY the console exits 2, naming it and where to get a key; it asks for no Slack.
    Per-user accounts (an OAuth client) do not stand in for the key there."""
    done = await run(python_bot("console"), env=clean_env(), cwd=tmp_path, seconds=30)
    assert done.code == 2
    assert "ZAPIER_API_KEY" in done.stderr and "https://actions.zapier.com/credentials/" in done.stderr
    assert "SLACK" not in done.stderr
    # Per-user accounts are for Slack: the terminal has no person to connect, so it still needs the key.
    accounts = clean_env(ZAPIER_OAUTH_CLIENT_ID="zapbot-oauth-client", ZAPIER_OAUTH_CLIENT_SECRET="s")
    only = await run(python_bot("console"), env=accounts, cwd=tmp_path, seconds=30)
    assert only.code == 2 and "The console runs every action with the shared Zapier account" in only.stderr


async def test_without_redis_it_says_so_in_one_line(fake_zapier: FakeZapier, tmp_path: Path) -> None:
    """A Redis that does not answer ends the console with exit 1 and one readable line, no traceback."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = await console("help\n", fake_zapier, url, tmp_path)
    assert done.code == 1
    assert f"Could not connect to Redis at {url}. Is it running?" in done.stdout
    assert "Traceback" not in done.stderr


async def test_the_console_drives_the_same_use_cases_as_slack(
    fake_zapier: FakeZapier, redis_url: str, redis_client: redis.asyncio.Redis, tmp_path: Path
) -> None:
    """Parity with Slack: plain English previews the best guess, `pick` switches candidate, shortcuts
    save and run, `edit` prompts per param, the channel policy applies (four eyes: the requester's own
    confirm is refused, `as bob` confirms), and `audit` shows every step."""
    policy = tmp_path / "policy.yml"
    policy.write_text("default:\n  confirm_by: others\n")
    lines = [
        "send a slack message saying hi",
        "pick 2",
        "save hi = SlackAPI channel_message channel=#general",
        "hi hello team",
        "edit",
        "#random",
        "",
        "confirm",
        "as bob",
        "confirm",
        "audit 20",
        "quit",
    ]
    done = await console_in_process("\n".join(lines) + "\n", fake_zapier, redis_url, POLICY_FILE=str(policy))
    assert done.code == 0, done.stderr
    out = done.stdout
    assert "Looking for the Zapier action that fits" in out and "switched" in out.lower()
    assert "Saved the shortcut `hi`" in out
    assert "channel [#general]:" in out and "The preview now uses your value for `channel`" in out
    assert (
        "may not confirm" in out.lower() or "can't confirm" in out.lower() or "cannot confirm" in out.lower()
    )
    assert "You are now bob" in out and "ran: `success`" in out
    [run_request] = fake_zapier.of("execute")
    assert run_request.json["params"]["channel"] == {"mode": "locked", "value": "#random"}
    steps = [entry["step"] for _, entry in await stream_entries(redis_client, "zapbot:audit")]
    assert "refused" in steps and "edited" in steps and steps[-1] == "executed"
    assert "· executed · bob ·" in out
