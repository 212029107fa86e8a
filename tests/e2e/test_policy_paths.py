"""A policy holds on every path that changes a preview: Confirm, Cancel, Edit and switching candidate all
pass the same check (bot/runs/lifecycle.py `may_change`), every refusal is told and audited. Table-driven:
every `confirm_by` policy by every action by the requester, a listed approver and a bystander."""

from __future__ import annotations

import io
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest
import redis.asyncio

from bot.actions import ActionRequest, ActionResult, ActionType, RunStatus
from bot.approvals.audit import Audit
from bot.approvals.policy import parse_policy
from bot.approvals.rules import Approvals
from bot.approvals.store import TeamStore
from bot.console.console import ConsoleSurface, NoGroups
from bot.discovery.finder import ActionChoice, Candidates, candidates_to_json
from bot.render.messages import Message
from bot.runs.lifecycle import Runs
from bot.runs.outbox import Outbox
from bot.runs.outcomes import CANDIDATES_FIELD
from bot.runs.service import Where, ZapService
from bot.store import connect
from bot.zapier.client import Auth
from tests.support.redis_reads import stream_entries

REQUESTER, APPROVER, BYSTANDER = "UREQ", "UAPP", "UBYS"
POLICIES = {
    "anyone": "anyone",
    "requester": "requester",
    "others": "others",
    "listed": f"[{APPROVER}]",
}
MAY_CONFIRM = {
    "anyone": {REQUESTER, APPROVER, BYSTANDER},
    "requester": {REQUESTER},
    "others": {APPROVER, BYSTANDER},
    "listed": {APPROVER},
}
ACTIONS = ("confirm", "cancel", "edit", "switch")


def allowed(policy: str, action: str, who: str) -> bool:
    """The rule under test: confirm needs leave to confirm; any other change, that or being the requester."""
    may_confirm = who in MAY_CONFIRM[policy]
    return may_confirm if action == "confirm" else may_confirm or who == REQUESTER


class Previews:
    """An AI Actions backend (bot/actions.py `ActionsBackend`) that previews and runs anything."""

    async def preview(self, request: ActionRequest, *, auth: Auth | None = None) -> ActionResult:
        return ActionResult(
            execution_log_id="01HPREVIEW",
            action_used=request.action,
            status=RunStatus.PREVIEW,
            resolved_params={"text": "hi"},
        )

    async def execute(
        self, request: ActionRequest, *, skip_param_guessing: bool, auth: Auth | None = None
    ) -> ActionResult:
        return ActionResult(execution_log_id="01HRUN", action_used=request.action, status=RunStatus.SUCCESS)

    async def rate(self, execution_log_id: str, rating: int, feedback: str | None = None) -> None:
        return None


@dataclass
class Told:
    """A person (bot/runs/ports.py `Person`) whose answers the test reads."""

    user: str
    said: list[str] = field(default_factory=list)

    async def send(self, message: Message) -> None:
        self.said.append(str(message.get("text", "")))

    async def say(self, text: str) -> None:
        self.said.append(text)


@pytest.fixture
async def store(redis_url: str) -> AsyncIterator[TeamStore]:
    client = connect(redis_url)
    try:
        yield TeamStore(client)
    finally:
        await client.aclose()


def runs_with(store: TeamStore, policy: str) -> Runs:
    backend = Previews()
    rules = parse_policy(f"default:\n  confirm_by: {POLICIES[policy]}\n")
    return Runs(
        ZapService(backend, store, preview_ttl=600, policy=rules),
        store,
        Outbox(store),
        surface=ConsoleSurface(io.StringIO()),
        audit=Audit(store, max_entries=10_000),
        approvals=Approvals(store, NoGroups()),
    )


@pytest.mark.parametrize("who", [REQUESTER, APPROVER, BYSTANDER])
@pytest.mark.parametrize("action", ACTIONS)
@pytest.mark.parametrize("policy", sorted(POLICIES))
async def test_every_change_of_a_preview_passes_the_policy(
    policy: str, action: str, who: str, store: TeamStore, redis_client: redis.asyncio.Redis
) -> None:
    """`who` tries `action` on a pending preview of REQUESTER's under `policy`: it happens exactly when the
    policy allows it; otherwise the preview is untouched, nothing reaches Zapier, the person is told why
    and the refusal is in the audit trail."""
    runs = runs_with(store, policy)
    request = ActionRequest("SlackAPI", "channel_message", "say hi", ActionType.WRITE)
    preview = await runs.request(request, Where("T1", "C1", REQUESTER), Told(REQUESTER), thread_ts=None)
    assert preview is not None
    other = ActionChoice("SlackAPI", "direct_message", ActionType.WRITE, "Slack: Send Direct Message")
    chosen = ActionChoice("SlackAPI", "channel_message", ActionType.WRITE, "Slack: Send Channel Message")
    await store.update_preview(
        preview.id, **{CANDIDATES_FIELD: candidates_to_json(Candidates([chosen, other]))}
    )
    person, where = Told(who), Where("T1", "C1", who)

    if action == "confirm":
        await runs.confirm(f"{preview.id}:{preview.fingerprint}", where, person)
    elif action == "cancel":
        await runs.cancel(preview.id, where, person)
    elif action == "edit":
        await runs.changes.edit(
            preview.id, where, person, seen=preview.fingerprint, values={"text": "changed"}
        )
    else:
        await runs.changes.switch(f"{preview.id}:1", where, person)

    stored = await redis_client.hgetall(f"zapbot:preview:{preview.id}")
    changed = {
        "confirm": stored["state"] == "succeeded",
        "cancel": stored["state"] == "cancelled",
        "edit": stored["revision"] == "1",
        "switch": stored["state"] == "cancelled",
    }[action]
    assert changed == allowed(policy, action, who), (stored["state"], person.said)
    refusals = [e for _, e in await stream_entries(redis_client, "zapbot:audit") if e["step"] == "refused"]
    if allowed(policy, action, who):
        assert refusals == []
    else:
        assert stored["state"] == "pending" and stored["revision"] == "0"
        [refused] = refusals
        assert refused["who"] == who and refused["preview_id"] == preview.id
        assert person.said and "changed nothing" in " ".join(person.said)
