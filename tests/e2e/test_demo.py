"""The demo: the simulated AI Actions API (bot/demo/) held to the vendor's contract, and `python -m bot
demo` driven through its stdin as a person (or a script) would, with nothing configured but Redis."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from pathlib import Path

import aiohttp
import pytest
import redis.asyncio
from pydantic import SecretStr

from bot.actions import ActionRequest, ActionType, Param, ParamMode, RunStatus
from bot.demo.server import DemoZapier, Exchange, Rating
from bot.errors import ZapierAuthError, ZapierRejected
from bot.zapier.client import ZapierClient, new_http_client
from tests.support.fakes.zapier_server import ContractCheck, received
from tests.support.processes import clean_env, python_bot, run
from tests.support.redis_process import free_port

SLACK = ActionRequest("SlackAPI", "channel_message", "Say hi to #random")
GMAIL = ActionRequest(
    "GmailV2API",
    "send_email",
    "Lunch at noon? Bring the slides.",
    params={"to": Param(ParamMode.LOCKED, "ada@example.com")},
)
SHEETS = ActionRequest(
    "GoogleSheetsV2API",
    "add_row",
    'Add a row to "Launch Plan": ship the demo',
    params={"worksheet": Param(ParamMode.CHOOSE_FROM, ["Q3", "Q4"]), "notes": Param(ParamMode.IGNORED)},
)
SEARCH = ActionRequest("GmailV2API", "find_email", "invoices from last week", ActionType.SEARCH)


def contract_problems(exchanges: Iterable[Exchange], *, requests: bool = True) -> list[str]:
    """Each exchange's answer (and request, unless `requests` is False), checked as FakeZapier checks its
    own (tests/support/fakes/zapier_server.py's ContractCheck)."""
    check = ContractCheck()
    problems: list[str] = []
    for exchange in exchanges:
        record = received(exchange.method, exchange.path, exchange.query, exchange.headers, exchange.body)
        if requests:
            problems += check.request_problems(record, exchange.body)
        problems += check.answer_problems(
            record, exchange.body, exchange.status, exchange.answer, "application/json"
        )
    return problems


@pytest.fixture
async def simulator() -> AsyncIterator[DemoZapier]:
    """A running simulator; the test fails at teardown if any exchange it had broke the Zapier contract."""
    demo = DemoZapier()
    await demo.start()
    try:
        yield demo
    finally:
        await demo.stop()
    problems = contract_problems(demo.exchanges)
    assert problems == [], "the simulator broke the Zapier contract:\n" + "\n".join(problems)


@pytest.fixture
async def zapier(simulator: DemoZapier) -> AsyncIterator[ZapierClient]:
    """The bot's own Zapier client, pointed at the simulator with its key."""
    http = new_http_client(10.0)
    try:
        yield ZapierClient(http, api_key=SecretStr(simulator.api_key), base_url=simulator.url, retries=0)
    finally:
        await http.aclose()


def locked(request: ActionRequest, resolved: dict[str, object]) -> ActionRequest:
    """The request a confirmation sends: every resolved param locked, as the bot does."""
    params = {key: Param(ParamMode.LOCKED, str(value)) for key, value in resolved.items()}
    return ActionRequest(request.app, request.action, request.instructions, request.action_type, params)


async def test_each_write_action_previews_then_runs_with_realistic_params_and_results(
    simulator: DemoZapier, zapier: ZapierClient
) -> None:
    """Slack, Gmail and Sheets: a preview resolves every need (given values kept, the rest guessed from the
    instructions, ignored ones left out) and runs nothing; the confirmed run returns labelled results under
    a new execution log id; every exchange fits the spec (checked at teardown)."""
    expected = {
        "SlackAPI": {"channel": "#random", "text": "Say hi to #random"},
        "GmailV2API": {
            "to": "ada@example.com",
            "subject": "Lunch at noon?",
            "body": "Lunch at noon? Bring the slides.",
        },
        "GoogleSheetsV2API": {
            "worksheet": "Q3",
            "spreadsheet": "Launch Plan",
            "COL$A": 'Add a row to "Launch Plan": ship the demo',
        },
    }
    log_ids: set[str] = set()
    for request in (SLACK, GMAIL, SHEETS):
        preview = await zapier.preview(request)
        assert preview.status is RunStatus.PREVIEW and preview.results == []
        assert preview.resolved_params == expected[request.app]
        assert len(preview.execution_log_id) == 26
        done = await zapier.execute(locked(request, preview.resolved_params), skip_param_guessing=True)
        assert done.status is RunStatus.SUCCESS, done.error
        assert done.action_used == preview.action_used and done.resolved_params == preview.resolved_params
        [result] = done.results
        assert set(done.result_field_labels) <= set(result)
        log_ids |= {preview.execution_log_id, done.execution_log_id}
    assert len(log_ids) == 6
    assert simulator.ratings == []  # nothing was rated


async def test_a_search_that_finds_nothing_is_empty_and_a_missing_need_is_an_error(
    zapier: ZapierClient,
) -> None:
    """A search runs and finds nothing (`empty`, no results); an email with no recipient previews with `to`
    unresolved and its run fails with status `error` naming the need; an unknown action is an `error`
    answer that lists what the demo knows."""
    found = await zapier.execute(SEARCH, skip_param_guessing=False)
    assert found.status is RunStatus.EMPTY and found.results == [] and found.error is None
    no_recipient = ActionRequest("GmailV2API", "send_email", "Say thanks for the cake")
    preview = await zapier.preview(no_recipient)
    assert preview.status is RunStatus.PREVIEW and "to" not in preview.resolved_params
    failed = await zapier.execute(locked(no_recipient, preview.resolved_params), skip_param_guessing=True)
    assert failed.status is RunStatus.ERROR and failed.results == []
    assert failed.error is not None and "To (to)" in failed.error
    unknown = await zapier.preview(ActionRequest("TrelloAPI", "create_card", "Card for the demo"))
    assert unknown.status is RunStatus.ERROR
    assert unknown.error is not None and "no app TrelloAPI" in unknown.error and "SlackAPI" in unknown.error


async def test_ratings_are_recorded_and_the_rules_of_the_spec_are_enforced(
    simulator: DemoZapier, zapier: ZapierClient
) -> None:
    """A rating of a known log is recorded with its feedback; rating an unknown log, previewing with
    skip_param_guessing, or skipping guessing with a param left to guess are refused with 400."""
    done = await zapier.execute(SLACK, skip_param_guessing=False)
    await zapier.rate(done.execution_log_id, 1)
    await zapier.rate(done.execution_log_id, -1, "wrong channel")
    assert simulator.ratings == [
        Rating(done.execution_log_id, 1, None),
        Rating(done.execution_log_id, -1, "wrong channel"),
    ]
    with pytest.raises(ZapierRejected) as unknown:
        await zapier.rate("01NOSUCHLOG000000000000000", 1)
    assert unknown.value.status_code == 400 and "No execution log" in str(unknown.value)
    guessed = ActionRequest(
        "SlackAPI", "channel_message", "hi", params={"channel": Param(ParamMode.GUESS, "x")}
    )
    with pytest.raises(ZapierRejected) as skipping:
        await zapier.execute(guessed, skip_param_guessing=True)
    assert skipping.value.status_code == 400 and "channel" in str(skipping.value)
    assert len(simulator.ratings) == 2


async def test_discovery_and_the_account_check_answer_from_the_catalogue(zapier: ZapierClient) -> None:
    """guess-actions ranks the matching action first, app search finds by name, an app lists its actions,
    and the auth check names the demo account."""
    guesses = await zapier.guess_actions("send an email", action_types=[ActionType.WRITE], count=5)
    assert (guesses[0].app, guesses[0].action) == ("GmailV2API", "send_email")
    assert all(g.action_type is ActionType.WRITE for g in guesses)
    [sheets] = await zapier.search_apps("sheets")
    assert sheets.app == "GoogleSheetsV2API" and sheets.name == "Google Sheets"
    actions = await zapier.search_actions("GmailV2API")
    assert {(a.action, a.action_type) for a in actions} == {
        ("send_email", ActionType.WRITE),
        ("find_email", ActionType.SEARCH),
    }
    who = await zapier.check_auth()
    assert who.name == "Demo Account" and who.success is True


async def test_a_wrong_key_and_malformed_requests_are_refused_with_the_spec_error_shape() -> None:
    """Without the simulator's key every call is refused 401; a body the spec refuses gets 422 with the
    spec's ErrorResponse and a `detail` saying where; a preview with skip_param_guessing gets 400."""
    demo = DemoZapier()
    await demo.start()
    http = new_http_client(10.0)
    try:
        wrong = ZapierClient(http, api_key=SecretStr("not-the-key"), base_url=demo.url, retries=0)
        with pytest.raises(ZapierAuthError):
            await wrong.check_auth()
        with pytest.raises(ZapierAuthError):
            await wrong.preview(SLACK)
        async with aiohttp.ClientSession(headers={"x-api-key": demo.api_key}) as session:
            execute = f"{demo.url}/api/v2/execute/"
            async with session.post(execute, json={"app": 1, "action": "x"}) as bad:
                assert bad.status == 422
                body = await bad.json()
                assert body["error"] == "Invalid request."
                assert {tuple(d["loc"]) for d in body["detail"]} == {("instructions",), ("app",)}
            both = {"preview_only": "true", "skip_param_guessing": "true"}
            request = {"instructions": "hi", "app": "SlackAPI", "action": "channel_message"}
            async with session.post(execute, params=both, json=request) as refused:
                assert refused.status == 400
    finally:
        await http.aclose()
        await demo.stop()
    answered = [e for e in demo.exchanges if e.status != 401]  # 401: Zapier's, not in the spec
    assert len(answered) == 2 and contract_problems(answered, requests=False) == []
    assert "not-the-key" not in repr(demo) and demo.api_key not in repr(demo)


# ---- python -m bot demo ------------------------------------------------------------------------------


async def test_the_piped_demo_previews_runs_and_labels_everything_demo(
    redis_url: str, redis_client: redis.asyncio.Redis, tmp_path: Path
) -> None:
    """With no Zapier or Slack setting (blank and placeholder ones from .env.example ignored), commands
    piped one a line preview, run and show the result, `react +1` rates it (the simulator's rate endpoint
    receives +1), every line said is marked [DEMO], and the end is exit 0; what ran is kept in Redis."""
    (tmp_path / ".env").write_text("SLACK_BOT_TOKEN=xoxb-...\nSLACK_SIGNING_SECRET=\nZAPIER_API_KEY=\n")
    stdin = "/zap SlackAPI channel_message say hi\nconfirm\nreact +1\n"
    stdin += "/zap GmailV2API find_email:search invoices\nconfirm\nquit\n"
    done = await run(python_bot("demo"), env=clean_env(REDIS_URL=redis_url), cwd=tmp_path, stdin=stdin)
    assert done.code == 0, done.stdout + done.stderr
    out = done.stdout
    said = [line for line in out.splitlines() if not line.startswith("  ")]  # indented: a message's body
    assert said and all(line.startswith("[DEMO] ") for line in said), out
    assert "Zapier is simulated on this machine" in out
    preview, _, result = out.partition("Type `confirm` to run it")
    assert "ada wants to run `SlackAPI` · Send Channel Message (write)" in preview
    assert "• channel: #general" in preview and "• text: say hi" in preview
    assert "[Confirm]  [Edit]  [Cancel]" in preview
    assert "✅ Send Channel Message ran: `success`" in result and "• Message Text: say hi" in result
    assert "[DEMO] Rated " in result and "rating +1" in result  # the rating is stored
    assert "🔍 Find Email ran and found nothing: `empty`" in result
    *_, bye, received = out.rstrip().splitlines()
    assert bye == "[DEMO] Bye."
    # The rating went through the console's rating delivery to the simulator's rate endpoint.
    assert received.startswith("[DEMO] The simulated Zapier received a rating for execution log 01")
    assert received.endswith(": +1.")
    assert done.stderr == ""
    states = [
        str(await redis_client.hget(key, "state")) for key in await redis_client.keys("zapbot:preview:*")
    ]
    assert sorted(states) == ["empty", "succeeded"]  # the run lifecycle's outcome states


async def test_the_demo_without_redis_says_so(tmp_path: Path) -> None:
    """A Redis that does not answer ends the demo with exit 1 and the one line naming it."""
    url = f"redis://127.0.0.1:{free_port()}/0"
    done = await run(python_bot("demo"), env=clean_env(REDIS_URL=url), cwd=tmp_path, stdin="help\n")
    assert done.code == 1
    assert f"[DEMO] Could not connect to Redis at {url}. Is it running?" in done.stdout
    assert "Traceback" not in done.stderr
