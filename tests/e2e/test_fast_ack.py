"""`/zap` acked in front of Bolt (bot/slack/fast_ack.py): the same answers and refusals.

The first `/zap` always goes through Bolt (its authorization must have passed once); the tests below send
one first, then check that the fast path answers what Bolt answers. Every test runs twice: with the fast
paths on (ZAPBOT_FAST_PATHS=on, the default) and off (plain Bolt), and proves the same behaviour both ways.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping

import pytest

from bot.settings import FAST_PATHS, Settings, ValidationError, describe_settings_error
from tests.support.bot_server import RunningBot, settings_for
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier

FAST = "bot.slack.fast_ack"
FORM = "application/x-www-form-urlencoded"
COMMAND = 'SlackAPI channel_message channel~="#general" Say hello'


@pytest.fixture(params=["on", "off"])
def fast(request: pytest.FixtureRequest) -> bool:
    """ZAPBOT_FAST_PATHS: on, then off."""
    return bool(request.param == "on")


@pytest.fixture
def bot_settings(fake_slack: FakeSlack, fake_zapier: FakeZapier, redis_url: str, fast: bool) -> Settings:
    """The usual test settings, with the fast paths on or off."""
    return settings_for(fake_slack, fake_zapier, redis_url, zapbot_fast_paths="on" if fast else "off")


def fast_acks(caplog: pytest.LogCaptureFixture) -> int:
    return sum(r.name == FAST and "in front of Bolt" in r.getMessage() for r in caplog.records)


@pytest.mark.parametrize("text", [COMMAND, "help", "", "nonsense! here", "ratings Gmail"])
async def test_the_fast_answer_is_bolts_answer(
    bot: RunningBot, caplog: pytest.LogCaptureFixture, text: str, fast: bool
) -> None:
    """The first /zap goes through Bolt, the second skips its chain (when on): same status, content type
    and body."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    through_bolt = await bot.slack.command(text)
    assert fast_acks(caplog) == 0

    second = await bot.slack.command(text)

    assert fast_acks(caplog) == int(fast)
    assert (second.status, second.text) == (through_bolt.status, through_bolt.text)
    assert without_date(second.headers) == without_date(through_bolt.headers)


def without_date(headers: Mapping[str, str]) -> list[tuple[str, str]]:
    return sorted((k.lower(), v) for k, v in headers.items() if k.lower() != "date")


async def test_forged_or_stale_signatures_are_still_refused(
    bot: RunningBot, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """A bad signature or an old timestamp still gets a 401 and runs nothing."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    assert (await bot.slack.command(COMMAND)).status == 200
    await fake_zapier.wait_for("preview")
    body = "command=%2Fzap&text=SlackAPI+channel_message+hi&team_id=T1&channel_id=C1&user_id=U1"

    forged = await bot.slack.post_raw(body, content_type=FORM, signature="v0=" + "0" * 64)
    stale = await bot.slack.post_raw(body, content_type=FORM, timestamp=int(time.time()) - 600)

    assert (forged.status, stale.status) == (401, 401)
    assert fast_acks(caplog) == 0
    assert len(fake_zapier.requests) == 1


async def test_text_with_payload_and_other_commands_on_the_fast_path(
    bot: RunningBot,
    fake_zapier: FakeZapier,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    fast: bool,
) -> None:
    """`payload` in the text stays a command (Bolt's parsing bug); an SSL check still gets Bolt's answer."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    assert (await bot.slack.command(COMMAND)).status == 200

    response = await bot.slack.command("SlackAPI channel_message show me the payload")
    ssl_check = await bot.slack.post_raw("ssl_check=1&token=legacy-verification-token", content_type=FORM)

    assert response.status == 200 and ssl_check.status == 200
    assert fast_acks(caplog) == int(fast)
    requests = await fake_zapier.wait_for("preview", 2)  # in either order: each runs in its own task
    assert sorted(r.json["instructions"] for r in requests) == ["Say hello", "show me the payload"]


async def test_a_failed_authorization_never_turns_the_fast_path_on(
    bot: RunningBot, fake_slack: FakeSlack, fake_zapier: FakeZapier, caplog: pytest.LogCaptureFixture
) -> None:
    """When Slack refuses the token, Bolt answers the /zap 200 with its apology and runs nothing; that
    200 must not count as "authorization passed": the next /zap goes through Bolt again, is refused
    again, and nothing reaches Zapier."""
    caplog.set_level(logging.DEBUG, logger=FAST)
    fake_slack.fail("auth.test", "invalid_auth", times=2)

    first = await bot.slack.command(COMMAND)
    second = await bot.slack.command(COMMAND)

    assert (first.status, second.status) == (200, 200)
    assert "Asking Zapier" not in first.text + second.text
    assert fast_acks(caplog) == 0
    assert fake_zapier.requests == []


@pytest.mark.parametrize(
    ("value", "kept"),
    [
        ("on", FAST_PATHS),
        ("ON", FAST_PATHS),
        ("off", frozenset()),
        ("acks, give_way", frozenset({"acks", "give_way"})),
        ("transport", frozenset({"transport"})),
    ],
)
def test_zapbot_fast_paths_is_one_switch(
    monkeypatch: pytest.MonkeyPatch, value: str, kept: frozenset[str]
) -> None:
    """ZAPBOT_FAST_PATHS, read from the environment: on (every burst behaviour), off (none), or a list."""
    monkeypatch.setenv("ZAPBOT_FAST_PATHS", value)
    settings = Settings(_env_file=None, slack_bot_token="x", slack_signing_secret="y", zapier_api_key="z")
    assert settings.zapbot_fast_paths == kept


def test_an_unknown_fast_path_stops_the_start_with_its_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """A behaviour that does not exist (e.g. one deleted since) is an error naming the setting."""
    monkeypatch.setenv("ZAPBOT_FAST_PATHS", "acks,gc_hold")
    with pytest.raises(ValidationError) as raised:
        Settings(_env_file=None, slack_bot_token="x", slack_signing_secret="y", zapier_api_key="z")
    assert "ZAPBOT_FAST_PATHS" in describe_settings_error(raised.value)
