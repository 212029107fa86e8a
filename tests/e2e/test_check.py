"""`python -m bot --help` and `python -m bot check` as real processes, and a clean start: the modes and
every setting are listed; check refuses each bad input naming it and saying what to do, and passes a
correct configuration, asking Zapier's auth check and Slack's auth.test; serving one logs no WARNING."""

from __future__ import annotations

from pathlib import Path

import aiohttp
from cryptography.fernet import Fernet

from bot.settings import Settings
from tests.support.bot_process import start_bot_process
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.processes import ROOT, Finished, bot_command_in_process, clean_env, python_bot, run
from tests.support.redis_process import free_port


def good_env(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, **changes: str
) -> dict[str, str]:
    """A correct configuration pointing at the stand-ins and the test Redis, with `changes`."""
    settings = {
        "SLACK_BOT_TOKEN": fake_slack.bot_token,
        "SLACK_SIGNING_SECRET": "test-signing-secret",
        "SLACK_API_URL": fake_slack.api_url,
        "ZAPIER_API_KEY": fake_zapier.api_key,
        "ZAPIER_BASE_URL": fake_zapier.url,
        "REDIS_URL": redis_url,
    }
    return clean_env(**{**settings, **changes})


async def check(env: dict[str, str], cwd: Path, *args: str) -> Finished:
    """`python -m bot check ARGS`, run in this process (the check's verdicts are the subject here; the
    process itself is proven by the two tests that spawn it: --help, and a configuration that passes)."""
    return await bot_command_in_process(["check", *args], env=env, cwd=cwd)


async def test_help_lists_the_modes_and_every_setting_with_its_default(tmp_path: Path) -> None:
    """`--help` (exit 0, on stdout, with nothing configured) names each mode and, for every field of the
    Settings class, its variable with its default on the same line."""
    done = await run(python_bot("--help"), env=clean_env(), cwd=tmp_path, seconds=30)
    assert done.code == 0, done.stderr
    modes = done.stdout.split("Settings (")[0]
    for mode in ("serve", "console", "demo", "check", "check --offline"):
        assert f"\n  {mode} " in modes, mode
    lines = {line.split()[0]: line for line in done.stdout.splitlines() if line.startswith("  ")}
    for name, field in Settings.model_fields.items():
        line = lines[name.upper()]
        default = "required" if field.is_required() else field.default
        shown = {None: "unset", "": '""'}.get(default, str(default))
        if isinstance(default, frozenset):
            shown = ",".join(sorted(default))
        assert f" {shown} " in line + " ", (name, line)
    assert "GUESS_COUNT" in lines and ">= 1, <= 25" in lines["GUESS_COUNT"]
    assert "text | json" in lines["LOG_FORMAT"]
    unknown = await run(python_bot("sing"), env=clean_env(), cwd=tmp_path, seconds=30)
    assert unknown.code == 2 and "--help" in unknown.stderr


async def test_a_correct_configuration_passes_after_asking_zapier_and_slack(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """Every check passes (exit 0): settings, Redis, Zapier's auth check with the key, Slack's auth.test
    with the bot token; the output names the account and the bot, and never a secret. A real process."""
    env = good_env(fake_slack, fake_zapier, redis_url)
    done = await run(python_bot("check"), env=env, cwd=tmp_path, seconds=60)
    assert done.code == 0, done.stdout + done.stderr
    assert "✓ Redis answers" in done.stdout
    assert "✓ Zapier accepts ZAPIER_API_KEY (Ada Lovelace <ada@example.com>)." in done.stdout
    assert "✓ Slack accepts SLACK_BOT_TOKEN (bot @zapbot in Test)." in done.stdout
    assert "zapbot is ready to serve." in done.stdout
    [auth] = fake_zapier.of("auth_check")
    assert auth.headers["x-api-key"] == fake_zapier.api_key
    [slack] = fake_slack.of("auth.test")
    assert slack.headers["authorization"] == f"Bearer {fake_slack.bot_token}"
    assert fake_slack.bot_token not in done.stdout + done.stderr
    assert fake_zapier.api_key not in done.stdout + done.stderr


async def test_placeholders_are_refused_and_an_untouched_env_example_offers_the_demo(tmp_path: Path) -> None:
    """A placeholder (`xoxb-your-bot-token`) is named as one with where to get the real token (exit 2 when
    the rest is set); .env.example copied as it is counts as nothing set: exit 4, the demo offered."""
    env = clean_env(SLACK_BOT_TOKEN="xoxb-your-bot-token", SLACK_SIGNING_SECRET="s-1", ZAPIER_API_KEY="k-1")
    done = await check(env, tmp_path)
    assert done.code == 3, done.stderr  # only Slack's is unusable: the console could run
    assert "SLACK_BOT_TOKEN" in done.stderr and "placeholder" in done.stderr
    assert "OAuth & Permissions" in done.stderr and "scripts/run console" in done.stderr
    assert "xoxb-your-bot-token" not in done.stderr  # named, never echoed
    served = await run(python_bot(), env=env, cwd=tmp_path, seconds=60)
    assert served.code == 2 and "SLACK_BOT_TOKEN is a placeholder" in served.stderr
    (tmp_path / ".env").write_text((ROOT / ".env.example").read_text())
    example = await check(clean_env(), tmp_path, "--offline")
    assert example.code == 4, example.stderr
    for name in ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "ZAPIER_API_KEY"):
        assert name in example.stderr
    assert "scripts/run demo" in example.stderr


async def test_an_unreadable_policy_file_is_refused_naming_it(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """POLICY_FILE naming no file is refused (exit 2) with its path and what to do, offline as well."""
    missing = tmp_path / "policy.yml"
    env = good_env(fake_slack, fake_zapier, redis_url, POLICY_FILE=str(missing))
    for args in ((), ("--offline",)):
        done = await check(env, tmp_path, *args)
        assert done.code == 2, done.stdout + done.stderr
        assert f"POLICY_FILE {missing}: no such file" in done.stderr and "unset POLICY_FILE" in done.stderr
    assert fake_zapier.of("auth_check") == []  # nothing was asked before the configuration was right


async def test_an_unreachable_redis_and_refused_credentials_are_each_named_with_what_to_do(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """Redis not answering, Zapier rejecting the key and Slack refusing the token each get their own line
    naming the setting and what to do (exit 1); unreachable Zapier and Slack are told apart from refusals."""
    nothing = f"127.0.0.1:{free_port()}"
    env = good_env(
        fake_slack,
        fake_zapier,
        redis_url,
        REDIS_URL=f"redis://{nothing}/0",
        ZAPIER_API_KEY="a-wrong-key",
        SLACK_BOT_TOKEN="xoxb-a-wrong-token",
    )
    done = await check(env, tmp_path)
    assert done.code == 1, done.stdout + done.stderr
    assert f"✗ Could not connect to Redis at redis://{nothing}/0. Is it running?" in done.stderr
    assert "REDIS_URL" in done.stderr
    assert "✗ Zapier rejected ZAPIER_API_KEY (HTTP 401)" in done.stderr
    assert "https://actions.zapier.com/credentials/" in done.stderr
    assert "✗ Slack refused SLACK_BOT_TOKEN (invalid_auth)" in done.stderr
    assert "a-wrong-key" not in done.stdout + done.stderr and "a-wrong-token" not in done.stderr
    offline = good_env(
        fake_slack,
        fake_zapier,
        redis_url,
        ZAPIER_BASE_URL=f"http://{nothing}",
        SLACK_API_URL=f"http://{nothing}/api/",
    )
    unreachable = await check(offline, tmp_path)
    assert unreachable.code == 1
    assert f"✗ Could not reach Zapier at http://{nothing}" in unreachable.stderr
    assert f"✗ Could not reach Slack at http://{nothing}/api/" in unreachable.stderr
    assert "✓ Redis answers" in unreachable.stdout


async def test_a_correct_configuration_starts_without_any_warning(
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    redis_url: str,
    http_session: aiohttp.ClientSession,
    tmp_path: Path,
) -> None:
    """`python -m bot` with every setting right, SLACK_BOT_TOKEN in the environment as deployments give
    it, starts, answers /healthz and stops on SIGTERM without logging a single WARNING (Bolt used to warn
    that the token it read from the environment would be unused)."""
    env = good_env(fake_slack, fake_zapier, redis_url)
    bot = await start_bot_process(env, tmp_path, http_session)
    bot.terminate()
    assert await bot.wait() == 0
    log = bot.log()
    assert "zapbot listening on 127.0.0.1" in log
    assert "WARNING" not in log.upper(), log


async def test_without_a_key_check_says_to_set_it_or_turn_on_per_user_accounts(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """Neither ZAPIER_API_KEY nor per-user accounts: `check` and serving both stop (exit 2) naming the key
    and the two OAuth client settings that would do instead; nothing is asked of Zapier."""
    env = good_env(fake_slack, fake_zapier, redis_url, ZAPIER_API_KEY="")
    done = await check(env, tmp_path)
    assert done.code == 2, done.stdout + done.stderr
    for name in ("ZAPIER_API_KEY", "ZAPIER_OAUTH_CLIENT_ID", "ZAPIER_OAUTH_CLIENT_SECRET"):
        assert name in done.stderr
    served = await run(python_bot(), env=env, cwd=tmp_path, seconds=60)
    assert served.code == 2
    assert "ZAPIER_API_KEY is not set (or, for per-user Zapier accounts instead" in served.stderr
    assert fake_zapier.requests == []


async def test_with_accounts_only_check_passes_and_refuses_a_policy_asking_for_shared(
    fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, tmp_path: Path
) -> None:
    """Per-user accounts on and no ZAPIER_API_KEY: `check` passes without Zapier's key check, saying that
    `run_as: shared` is refused; a policy file asking for `shared` anywhere fails it (exit 2)
    naming where; half-configured accounts are named piece by piece."""
    accounts = {
        "ZAPIER_API_KEY": "",
        "ZAPIER_OAUTH_CLIENT_ID": "zapbot-oauth-client",
        "ZAPIER_OAUTH_CLIENT_SECRET": "zapbot-oauth-client-secret",
        "PUBLIC_URL": "https://zapbot.example.com",
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
    }
    done = await check(good_env(fake_slack, fake_zapier, redis_url, **accounts), tmp_path)
    assert done.code == 0, done.stdout + done.stderr
    assert "✓ No ZAPIER_API_KEY: every action runs with the Zapier account of a person" in done.stdout
    assert "https://zapbot.example.com/zapier/oauth/callback" in done.stdout
    assert fake_zapier.of("auth_check") == []
    policy = tmp_path / "policy.yml"
    policy.write_text(
        "default:\n  run_as: requester\n"
        "channels:\n  C1:\n    rules:\n      - app: SlackAPI\n        run_as: shared\n"
    )
    shared = good_env(fake_slack, fake_zapier, redis_url, **accounts, POLICY_FILE=str(policy))
    refused = await check(shared, tmp_path, "--offline")  # (the same verdict comes first online)
    assert refused.code == 2, refused.stdout + refused.stderr
    assert "asks for run_as: shared (channels.C1.rules.0)" in refused.stderr
    assert "ZAPIER_API_KEY is not set" in refused.stderr
    half = good_env(fake_slack, fake_zapier, redis_url, **{**accounts, "PUBLIC_URL": ""})
    missing = await check(half, tmp_path, "--offline")
    assert missing.code == 2 and "✗ PUBLIC_URL is not set" in missing.stderr
