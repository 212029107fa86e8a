"""Zapier's side of a run: the policy check and the preview, the claim, the run with exactly the previewed
params. bot/runs/lifecycle.py drives these and owns what happens around them."""

from __future__ import annotations

import logging
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any

from bot.actions import ActionRequest, ActionResult, ActionsBackend, Param, ParamMode, ParamValue, RunStatus
from bot.approvals.policy import Policy
from bot.errors import BotError
from bot.ops.logs import adopt_request_id, current_request_id
from bot.ops.metrics import Metrics
from bot.runs.credentials import Credentials
from bot.runs.records import Preview, PreviewState, result_to_json
from bot.store import Claim, Store

log = logging.getLogger(__name__)


class PreviewRefused(BotError):
    """Zapier answered the preview, but with a status that is not a usable preview."""

    def __init__(self, result: ActionResult) -> None:
        super().__init__(result.error or f"Zapier answered the preview with status {result.status.value}.")
        self.result = result


@dataclass(frozen=True)
class Where:
    """Where a request came from in Slack: the workspace, the channel and who asked."""

    team: str
    channel: str
    user: str
    message_ts: str = ""  # a click: the message clicked on (a preview's, as Slack shows it)


@dataclass(frozen=True)
class RunOutcome:
    result: ActionResult
    fallback_reason: str | None  # set when the run could not use exactly the previewed params


class ZapService:
    def __init__(
        self,
        backend: ActionsBackend,
        store: Store,
        *,
        preview_ttl: int,
        clock: Callable[[], float] = time.time,
        policy: Policy | None = None,
        metrics: Metrics | None = None,
        credentials: Credentials | None = None,
    ) -> None:
        self._backend = backend
        self._store = store
        self._preview_ttl = preview_ttl
        self._clock = clock
        self.policy = policy or Policy.none()  # team confirmation rules (bot/approvals/policy.py)
        self._metrics = metrics or Metrics()
        self.credentials = credentials or Credentials(None)  # whose Zapier account (bot/runs/credentials.py)

    async def preview(
        self,
        request: ActionRequest,
        where: Where,
        *,
        redis_checked: bool = False,
        save: Callable[[Preview], Awaitable[None]] | None = None,
    ) -> Preview:
        """Ask the backend what would run, and remember it so that any replica can confirm it.
        Raises `PolicyDenied`, calling nothing, when the channel's policy does not allow the action.
        `redis_checked`: the caller has just had an answer from Redis (no need to ask again). `save`: how
        to remember it, when the caller saves it in a step of its own (with its asking marker)."""
        rule = self.policy.rule_for(where.channel, request)
        rule.check_allowed(request)
        try:
            # Without Redis the preview could never be confirmed: say so before spending a Zapier call.
            if not redis_checked:
                await self._store.ping()
            run_as = self.credentials.mode(rule.run_as)
            account = self.credentials.preview_account(run_as, where.user)
            result = await self.credentials.call(
                where.team, account, lambda auth: self._backend.preview(request, auth=auth), write=False
            )
        except BotError:
            self._metrics.preview("failed")
            raise
        if result.status not in (RunStatus.PREVIEW, RunStatus.SUCCESS):
            self._metrics.preview("refused")
            log.info(
                "preview of %s %s refused: %s (for %s in %s)",
                request.app, request.action, result.status.value, where.user, where.channel,
            )  # fmt: skip
            raise PreviewRefused(result)
        now = self._clock()
        at_once = rule.runs_at_once(request.action_type)  # auto_run: claimed for the requester already
        preview = Preview(
            id=secrets.token_urlsafe(16),
            team=where.team,
            channel=where.channel,
            requested_by=where.user,
            request=request,
            result=result,
            created_at=now,
            expires_at=now + (rule.expires or self._preview_ttl),
            state=PreviewState.RUNNING if at_once else PreviewState.PENDING,
            decided_by=where.user if at_once else "",
            confirm_by=rule.confirm_by.encode(),
            approvals_needed=rule.approvals,
            request_id=current_request_id(),
            run_as=run_as,
        )
        await (save or self._store.save_preview)(preview)
        self._metrics.preview("ok")
        log.info(
            "preview %s: %s %s -> %s (log %s) for %s in %s",
            preview.id, request.app, request.action, result.action_used, result.execution_log_id,
            where.user, where.channel,
        )  # fmt: skip
        return preview

    async def preview_again(self, preview: Preview, request: ActionRequest) -> ActionResult:
        """Zapier's preview of a changed request (an edit), with the account the preview was made with."""
        account = self.credentials.preview_account(preview.run_as, preview.requested_by)
        return await self.credentials.call(
            preview.team, account, lambda auth: self._backend.preview(request, auth=auth), write=False
        )

    async def shown(self, preview: Preview, *, message_ts: str, thread_ts: str) -> None:
        """Record where the preview was posted, so results thread under it and reactions rate its log."""
        preview.message_ts, preview.thread_ts = message_ts, thread_ts
        fields = self._execution_fields(preview, preview.result, confirmed_by="", message_ts=message_ts)
        fields["kind"] = "preview"  # also when Zapier answered the preview with status `success`
        await self._store.save_execution(
            preview.result.execution_log_id,
            fields,
            message=(preview.channel, message_ts),
            preview_update=(preview.id, {"message_ts": message_ts, "thread_ts": thread_ts}),
        )

    async def decide(self, preview_id: str, where: Where, *, confirm: bool) -> Claim:
        """Confirm or cancel: exactly one click, on any replica, moves a pending preview on."""
        to = PreviewState.RUNNING if confirm else PreviewState.CANCELLED
        decision = "confirm" if confirm else "cancel"
        try:
            claim = await self._store.claim_preview(
                preview_id, team=where.team, channel=where.channel, to=to, by=where.user, now=self._clock()
            )
        except BotError:
            self.decided(decision, "failed", preview_id, where.user, None)
            raise
        self.decided(decision, claim.outcome, preview_id, where.user, claim.preview)
        return claim

    def decided(
        self, decision: str, outcome: str, preview_id: str, user: str, preview: Preview | None
    ) -> None:
        """Account for a click on Confirm or Cancel, however it was decided (one claim, or approvals)."""
        if preview is not None:
            adopt_request_id(preview.request_id)  # from here on, log as the command that made it
        self._metrics.confirmation(decision, outcome)
        log.info("%s of preview %s by %s: %s", decision, preview_id, user, outcome)

    async def run(self, preview: Preview) -> RunOutcome:
        """Run what was previewed, with the account the policy names (`run_as`). Called once per preview,
        after a successful confirm claim; never retried."""
        request, fallback_reason = locked_request(preview)
        account = self.credentials.run_account(preview.run_as, preview.requested_by, preview.decided_by)
        skip = fallback_reason is None
        try:
            result = await self.credentials.call(
                preview.team,
                account,
                lambda auth: self._backend.execute(request, skip_param_guessing=skip, auth=auth),
                write=True,
            )
        except BotError as exc:
            self._metrics.execution("failed")
            log.info("run of preview %s failed: %s", preview.id, type(exc).__name__)
            raise
        self._metrics.execution(result.status.value)
        log.info("run of preview %s: %s (log %s)", preview.id, result.status.value, result.execution_log_id)
        return RunOutcome(result, fallback_reason)

    def run_fields(self, preview: Preview, result: ActionResult) -> dict[str, str]:
        """What is kept of a confirmed run's execution (its message is added when posted)."""
        fields = self._execution_fields(preview, result, confirmed_by=preview.decided_by, message_ts="")
        fields["result"] = result_to_json(result)
        return fields

    async def expire_due(self) -> list[Preview]:
        """Previews past their expiry that this replica should mark expired in Slack."""
        expired = []
        for preview_id in await self._store.take_due_expiries(self._clock()):
            claim = await self._store.claim_preview(
                preview_id,
                team="",
                channel="",
                to=PreviewState.EXPIRED,
                by="",
                now=self._clock(),
                any_place=True,
            )
            if claim.outcome == "expired_now" and claim.preview is not None:
                expired.append(claim.preview)
        return expired

    async def full_result(self, execution_log_id: str) -> str | None:
        return (await self._store.get_execution(execution_log_id)).get("result")

    def _execution_fields(
        self, preview: Preview, result: ActionResult, *, confirmed_by: str, message_ts: str
    ) -> dict[str, str]:
        # Whose Zapier account made this execution: its rating is sent with the same credentials
        # (bot/ratings/delivery.py). A Slack user ID, or "shared" for ZAPIER_API_KEY.
        if confirmed_by:
            account = self.credentials.run_account(preview.run_as, preview.requested_by, confirmed_by)
        else:
            account = self.credentials.preview_account(preview.run_as, preview.requested_by)
        return {
            "zapier_account": account or "shared",
            "execution_log_id": result.execution_log_id,
            "kind": "preview" if result.status is RunStatus.PREVIEW else "run",
            "app": preview.request.app,
            "action": preview.request.action,
            "action_type": preview.request.action_type.value,
            "action_used": result.action_used,
            "status": result.status.value,
            "team": preview.team,
            "channel": preview.channel,
            "message_ts": message_ts,
            "thread_ts": preview.thread_ts or preview.message_ts,
            "requested_by": preview.requested_by,
            "confirmed_by": confirmed_by,
            "preview_id": preview.id,
            "created_at": f"{self._clock():.3f}",
        }


def locked_request(preview: Preview) -> tuple[ActionRequest, str | None]:
    """The previewed params, all locked, for a run with no guessing; or the original request and why not."""
    given = preview.request.params
    resolved = preview.result.resolved_params
    if not resolved:
        return (
            preview.request,
            "The preview resolved no params, so Zapier worked them out again when running.",
        )
    params: dict[str, Param] = {
        key: param for key, param in given.items() if param.mode in (ParamMode.LOCKED, ParamMode.IGNORED)
    }
    for key, value in resolved.items():
        if key in params:
            continue
        locked = lockable(value)
        if locked is None:
            reason = f"The previewed `{key}` could not be pinned down, so Zapier resolved the params again."
            return preview.request, reason
        params[key] = Param(ParamMode.LOCKED, locked)
    missing = [key for key in given if key not in params]
    if missing:
        reason = (
            f"The preview did not resolve `{missing[0]}`, so Zapier resolved the params again when running."
        )
        return preview.request, reason
    return replace(preview.request, params=params), None


def lockable(value: Any) -> ParamValue:
    """A resolved value in a form Zapier accepts as `locked`, or None when there is none."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool | int | float):
        return str(value).lower() if isinstance(value, bool) else str(value)
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [str(v) for v in value]
    if isinstance(value, dict):
        if "value" in value and isinstance(value["value"], str | int | float):
            return str(value["value"])
        if all(isinstance(v, str | int | float) for v in value.values()):
            return {str(k): str(v) for k, v in value.items()}
    return None
