"""The run lifecycle's promises that no Slack request can provoke: a backend that raises something nobody
expected still ends its run, with one log line and a message a person sees."""

from __future__ import annotations

import io
import logging

import pytest
import redis.asyncio

from bot.actions import ActionRequest, ActionResult, ActionType, RunStatus
from bot.approvals.audit import Audit
from bot.approvals.rules import Approvals
from bot.approvals.store import TeamStore
from bot.console.console import ConsolePerson, ConsoleSurface, NoGroups
from bot.runs.delivery import DeliveryWorker
from bot.runs.lifecycle import Runs
from bot.runs.outbox import Outbox
from bot.runs.service import Where, ZapService
from bot.store import connect
from bot.zapier.client import Auth


class BrokenAtRun:
    """An AI Actions backend (bot/actions.py `ActionsBackend`) whose run fails in a way no code expects."""

    async def preview(self, request: ActionRequest, *, auth: Auth | None = None) -> ActionResult:
        return ActionResult(
            execution_log_id="01HPREVIEW",
            action_used="Send Message",
            status=RunStatus.PREVIEW,
            resolved_params={"text": "hi"},
        )

    async def execute(
        self, request: ActionRequest, *, skip_param_guessing: bool, auth: Auth | None = None
    ) -> ActionResult:
        raise RuntimeError("a bug nobody foresaw")

    async def rate(self, execution_log_id: str, rating: int, feedback: str | None = None) -> None:
        return None


async def test_a_run_whose_task_raises_still_ends_as_unknown_and_logs_once(
    redis_url: str, redis_client: redis.asyncio.Redis, caplog: pytest.LogCaptureFixture
) -> None:
    """An exception that is not one of the bot's own, raised while the action runs: the run ends as
    `unknown` (the request may have reached Zapier), the thread says so, the lease is gone, and the
    traceback is logged exactly once."""
    client = connect(redis_url)
    try:
        store = TeamStore(client)
        backend = BrokenAtRun()
        out = io.StringIO()
        surface = ConsoleSurface(out)
        outbox = Outbox(store)
        runs = Runs(
            ZapService(backend, store, preview_ttl=60),
            store,
            outbox,
            surface=surface,
            audit=Audit(store, max_entries=1000),
            approvals=Approvals(store, NoGroups()),
        )
        where = Where("T1", "C1", "U1")
        person = ConsolePerson(surface, "U1")
        request = ActionRequest("SlackAPI", "channel_message", "say hi", ActionType.WRITE)
        preview = await runs.request(request, where, person, thread_ts=None)
        assert preview is not None
        with caplog.at_level(logging.ERROR):
            await runs.confirm(f"{preview.id}:{preview.fingerprint}", where, person)
        while await DeliveryWorker(outbox, surface, store).deliver_due():
            pass
    finally:
        await client.aclose()
    stored = await redis_client.hgetall(f"zapbot:preview:{preview.id}")
    assert stored["state"] == "unknown"
    assert await redis_client.zscore("zapbot:runs:leases", preview.id) is None
    text = out.getvalue()
    assert "outcome unknown" in text and "internal error" in text and "nothing was run" not in text.lower()
    failures = [r for r in caplog.records if r.levelno >= logging.ERROR and r.exc_info]
    [failure] = failures
    assert failure.exc_info and "a bug nobody foresaw" in str(failure.exc_info[1])
