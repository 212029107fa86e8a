"""The use cases of a run, called by every surface (Slack's listeners, the console): ask for a preview, post
it, approve, cancel, run, record the outcome, deliver it, expire, end orphans. Switching candidate and
editing a pending preview are `runs.changes` (bot/runs/changes.py), under the same permission check.

What a person reads is what the bot knows. Before an execute request leaves, "nothing was run" is true and
may be said; once it may have reached Zapier, a failure the bot cannot explain is "outcome unknown", with
the execution_log_id and where to check. Outcomes and preview updates go through the durable outbox; when
Redis itself is down they are sent directly, and the outcome is recorded once Redis is back.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import Sequence
from dataclasses import replace

from bot.accounts.errors import NotConnected, ReconnectNeeded
from bot.actions import ActionRequest
from bot.approvals.audit import Audit, Step
from bot.approvals.messages import (
    STALE_CLICK,
    already_approved_text,
    approval_recorded_text,
    approvals_note,
    auto_run_note,
    denied_text,
    refusal_text,
)
from bot.approvals.policy import PolicyDenied
from bot.approvals.rules import Approvals
from bot.approvals.store import ApproveResult, TeamStore
from bot.errors import BotError
from bot.ops.metrics import Metrics
from bot.render.messages import (
    LOST_PREVIEW,
    cancelled_note,
    confirmed_note,
    connect_message,
    delivery_problem,
    describe_failure,
    escape,
    expired_note,
    full_result_messages,
    full_result_text,
    not_posted_note,
    pretty_json,
    preview_message,
    short_outcome_message,
    undelivered_message,
    user,
)
from bot.runs import sweeps
from bot.runs.changes import Changes
from bot.runs.held import Held, HeldWork
from bot.runs.limits import ChannelPace, Limits, slow_down_text
from bot.runs.outbox import Item, Outbox
from bot.runs.outcomes import (
    EXPIRED,
    INTERNAL,
    MAX_PRIVATE_MESSAGES,
    NOT_POSTED,
    STOPPED,
    UNKNOWN,
    Ended,
    OutcomeMessages,
    Unrecorded,
    outcome_messages,
    quietly,
)
from bot.runs.ports import DeliveryError, Message, Person, Surface
from bot.runs.records import Preview, PreviewState
from bot.runs.sending import PreviewWatch, Sender
from bot.runs.service import PreviewRefused, Where, ZapService
from bot.runs.store import Asking, RunStore
from bot.store import Claim

log = logging.getLogger(__name__)


class Runs:
    def __init__(
        self,
        service: ZapService,
        store: TeamStore,
        outbox: Outbox,
        *,
        surface: Surface,
        audit: Audit,
        approvals: Approvals,
        metrics: Metrics | None = None,
        limits: Limits | None = None,
        pace: ChannelPace | None = None,
        on_preview: PreviewWatch | None = None,
    ) -> None:
        self.service = service
        self.store = store
        self.runs = RunStore(store)
        self.outbox = outbox
        self.surface = surface
        self.audit = audit
        self.approvals = approvals
        self.metrics = metrics or Metrics()
        self.limits = limits  # how fast one person or channel may ask (bot/runs/limits.py); None: no limit
        self.pace = pace  # how fast the bot posts in one channel, as Slack allows (bot/runs/limits.py)
        # Outbox, or the surface directly (bot/runs/sending.py); `on_preview` hears of each preview shown
        # or redrawn, and each run ended (Slack re-publishes the App Homes that show it).
        self.sender = Sender(outbox, surface, pace, watch=on_preview)
        # Leases this process holds and renews (bot/runs/keeper.py): runs it executes, previews it asks for.
        self.held: set[str] = set()
        self.asking: set[str] = set()
        # Work people asked for, held back during a burst: marked in Redis until it starts.
        self.held_work = HeldWork(self.runs, self.asking)
        # Outcomes Zapier gave while Redis was down: delivered already, recorded when Redis is back.
        self.unrecorded: list[Unrecorded] = []
        # Switching a guessed preview to another candidate, and editing one (bot/runs/changes.py).
        self.changes = Changes(service, store, audit, approvals, self.sender, may_change=self.may_change)

    def hold(self, where: Where, what: str) -> Held:
        """What keeps work `where.user` asked for (`what`, as they typed it) known to every replica while
        it waits its turn in a burst (bot/runs/held.py): pass it to `BackgroundTasks.spawn`."""
        return self.held_work.hold(where, what)

    # asking for a preview -------------------------------------------------------------------------------
    async def request(
        self, request: ActionRequest, where: Where, person: Person, *, thread_ts: str | None
    ) -> Preview | None:
        """Ask for a preview and post it with its buttons: in the channel, or in the mention's thread."""
        preview = await self.preview(request, where, person)
        if preview is not None:
            await self.show(preview, where, thread_ts=thread_ts, person=person)
        return preview

    async def preview(
        self,
        request: ActionRequest,
        where: Where,
        person: Person,
        *,
        title: str | None = None,
        hint: str = "",
    ) -> Preview | None:
        """The policy check, Zapier's preview and the audit entries; None when the person has been told why
        there is no preview. A preview never runs the action, so "nothing was run" is always true here."""
        title = escape(title or f"{request.app} {request.action}")
        what = {"who": where.user, "team": where.team, "channel": where.channel}
        asking = Asking(secrets.token_hex(8), where.team, where.channel, where.user, title)

        async def save(preview: Preview) -> None:
            # The preview, the end of its asking and its audit entry: one step, one round trip.
            previewed = self.audit.preview_write(Step.PREVIEWED, preview, who=where.user)
            await self.runs.previewed(asking.id, preview, audit=previewed)
            self.asking.discard(asking.id)

        try:
            # Takes the person's and the channel's allowance and marks the asking, so that, if this process
            # dies before Zapier answers, another replica tells the person; it also proves Redis answers
            # before a Zapier call is spent. With the audit entry; one step.
            requested = self.audit.write(Step.REQUESTED, **what, app=request.app, action=request.action)
            limits = (
                self.limits.buckets(where.team, where.channel, where.user) if self.limits else ([], ["0"])
            )
            until = time.time() + self.runs.lease_seconds
            wait = await self.runs.start_asking(asking, until, audit=requested, limits=limits)
            if wait > 0:
                await self._over_limit(where, person, wait)
                return None
            self.asking.add(asking.id)
            preview = await self.service.preview(request, where, redis_checked=True, save=save)
        except Exception as exc:  # each kind is told in its own words (`_no_preview`)
            await self._no_preview(exc, request, where, person, title=title, hint=hint)
            return None
        finally:
            await self._done_asking(asking.id)  # unless `save` cleared it
        return preview

    async def _within_limits(self, where: Where, person: Person) -> bool:
        """Take one request from this person's and this channel's allowance; when there is none left,
        tell them when to try again (nothing goes to Zapier). Raises StoreError when Redis is down."""
        if self.limits is None:
            return True
        wait = await self.limits.wait_for(where.team, where.channel, where.user)
        if wait <= 0:
            return True
        await self._over_limit(where, person, wait)
        return False

    async def _over_limit(self, where: Where, person: Person, wait: float) -> None:
        """This person or this channel has no allowance left: tell them when to try again (nothing went
        to Zapier)."""
        self.metrics.refused_busy("flood")
        log.info("%s in %s is over the request limit; told to wait %.0f s", where.user, where.channel, wait)
        await person.say(slow_down_text(wait))

    async def _no_preview(
        self, exc: Exception, request: ActionRequest, where: Where, person: Person, *, title: str, hint: str
    ) -> None:
        """Tell the person why there is no preview (a preview never runs the action: "nothing was run")."""
        if isinstance(exc, NotConnected | ReconnectNeeded):
            await self._ask_to_connect(where, person, exc)
        elif isinstance(exc, PolicyDenied):
            what = {"who": where.user, "team": where.team, "channel": where.channel}
            await self.audit.append(Step.DENIED, **what, app=request.app, action=request.action)
            await person.say(denied_text(request, exc.denial) + hint)
        elif isinstance(exc, PreviewRefused):
            said = escape(exc.result.error or exc.result.status.value)
            await person.say(f":warning: Zapier could not preview `{title}`: {said}. Nothing was run.{hint}")
        elif isinstance(exc, BotError):
            log.warning("preview of %s failed: %s", title, type(exc).__name__)
            await person.say(f":warning: *Preview of {title}*\n{describe_failure(exc, 'preview')}{hint}")
        else:
            log.error("preview of %s failed unexpectedly", title, exc_info=exc)
            await person.say(f":warning: *Preview of {title}*\nSomething went wrong. Nothing was run.{hint}")

    async def _ask_to_connect(self, where: Where, person: Person, exc: BotError) -> None:
        """The person's own Zapier account is needed and not usable: say so, with the connect button."""
        again = isinstance(exc, ReconnectNeeded)
        why = (
            "Your Zapier account must be connected again." if again else "Connect your Zapier account first:"
        )
        why += " This action runs with your own account."
        try:
            url = await self.service.credentials.connect_url(where.team, where.user)
        except BotError as failed:
            log.warning("could not make a connect link: %s", failed)
            url = None
        await person.send(connect_message(url, why))

    async def _done_asking(self, asking_id: str) -> None:
        if asking_id not in self.asking:
            return
        self.asking.discard(asking_id)
        try:
            await self.runs.done_asking(asking_id)
        except BotError as exc:  # the sweeper may tell the person later; better than nothing
            log.warning("could not clear asking marker %s: %s", asking_id, exc)

    async def show(
        self,
        preview: Preview,
        where: Where,
        *,
        thread_ts: str | None,
        person: Person,
        message: Message | None = None,
    ) -> None:
        """Post a preview (`message`, or the standard one), record where, and run it now if auto_run."""
        at_once = preview.state is PreviewState.RUNNING  # the policy's auto_run: no buttons, it runs now
        if at_once:
            self.held.add(preview.id)
            note = auto_run_note(preview.request.action_type)
            message = preview_message(preview, closed=note + " · running…")
        try:
            shown = message or preview_message(preview)
            # A post whose answer is lost may have landed: the marker lets it be found (bot/runs/sending.py).
            ts = await self.sender.post_now(
                where.channel,
                shown,
                thread_ts=thread_ts,
                before=preview.expires_at,
                marker=f"preview:{preview.id}",
            )
        except DeliveryError as exc:
            log.warning("could not post the preview in %s: %s", where.channel, exc.code)
            if at_once:  # nothing has been sent to Zapier: the run ends here, truthfully
                self.held.discard(preview.id)
                await self._record(preview, Ended(PreviewState.FAILED, why="not posted"), preview.decided_by)
            elif not await self._not_posted(preview, person):
                return
            said = LOST_PREVIEW if exc.maybe_sent else delivery_problem(exc.code)
            await person.say(f":warning: {said} Nothing was run.")
            return
        try:
            await self.service.shown(preview, message_ts=ts, thread_ts=thread_ts or "")
        except BotError as exc:
            # The preview is in Slack but we could not record where: its buttons would not find it.
            log.warning("could not record the preview message: %s", type(exc).__name__)
            self.held.discard(preview.id)
            closed = preview_message(preview, closed=describe_failure(exc, "preview"))
            await self.sender.deliver(
                Item("update", closed, channel=where.channel, ts=ts, key=f"preview:{preview.id}")
            )
            return
        self.sender.watched(preview)
        if at_once:
            await self.audit.preview_step(Step.CONFIRMED, preview, who=where.user, detail="auto_run")
            await self._execute(preview, where.user, note=auto_run_note(preview.request.action_type))

    async def _not_posted(self, preview: Preview, person: Person) -> bool:
        """Record that a pending preview was never posted, so that a copy that landed unseen cannot be
        confirmed (its requester is told it was not posted). False when it had been acted on meanwhile (a
        click proves it was posted after all): the person is told that instead."""
        try:
            claim = await self.store.claim_preview(
                preview.id,
                team=preview.team,
                channel=preview.channel,
                to=PreviewState.UNPOSTED,
                by="",
                now=time.time(),
            )
        except BotError as exc:
            # Redis is down: the record stays pending. A copy that landed could still be confirmed once
            # Redis is back (until it expires); the requester is told what the bot knows now.
            log.warning("could not record preview %s as not posted: %s", preview.id, exc)
            return True
        if claim.outcome in {"claimed", "expired_now", "unposted", "unknown"}:
            return True
        log.info("preview %s was not confirmed posted, but was acted on: %s", preview.id, claim.outcome)
        await person.say(
            ":warning: Slack did not confirm that your preview was posted, but it was: someone has already "
            "acted on it in the channel, where its outcome will appear."
        )
        return False

    # approving, cancelling ------------------------------------------------------------------------------
    async def confirm(self, value: str, where: Where, person: Person) -> None:
        """One click on Confirm (`value` is `preview_id:fingerprint`): one approval. The click that
        completes the approvals the policy asks for wins the claim and runs exactly what was previewed."""
        preview_id = value.partition(":")[0]
        try:
            if not await self._within_limits(where, person):
                return
            claim = await self._approve_click(value, where, person)
        except BotError as exc:
            self.service.decided("confirm", "failed", preview_id, where.user, None)
            await person.say(describe_failure(exc, "preview"))
            return
        if claim is None:
            return
        self.service.decided("confirm", claim.outcome, preview_id, where.user, claim.preview)
        if claim.outcome != "claimed" or claim.preview is None:
            await self._explain_refusal(claim, person, where)
            return
        preview = claim.preview
        self.held.add(preview.id)
        head = confirmed_note(where.user) + approvals_note(preview)
        # The "running…" redraw and the click's audit steps go out beside the Zapier call, not before it.
        running = preview_message(preview, closed=head + " · running…")
        beside = (
            asyncio.create_task(quietly(self.sender.update_preview(preview, running))),
            asyncio.create_task(quietly(self._record_confirmation(preview, where.user))),
        )
        await self._execute(preview, where.user, note=head, beside=beside)

    async def _approve_click(self, value: str, where: Where, person: Person) -> Claim | None:
        """The click as one approval of the params its message showed. A Claim to act on, or None when the
        click was answered here (not allowed, counted, counted before, or made on an edited preview)."""
        preview_id, _, fingerprint = value.partition(":")
        preview = await self.store.get_preview(preview_id)
        if preview is None or preview.channel != where.channel:
            return Claim("unknown", "", None)
        where = replace(where, team=preview.team)  # a shared channel: the clicker's workspace may differ
        if preview.state is PreviewState.PENDING:
            refusal = await self.approvals.refusal(preview, where.user)
            if refusal is not None:
                await self.audit.preview_step(Step.REFUSED, preview, who=where.user, detail="may not confirm")
                await person.say(refusal_text(refusal, "confirm"))
                return None
            if preview.run_as == "confirmer" and not await self.service.credentials.ready(
                where.team, where.user
            ):
                await self._ask_to_connect(where, person, NotConnected(where.team, where.user))
                return None
        result = await self.approvals.approve(preview_id, fingerprint, where)
        if result.preview is not None and await self._answered_here(result, result.preview, where, person):
            return None
        return Claim(result.outcome, result.decided_by, result.preview)

    async def _answered_here(
        self, result: ApproveResult, current: Preview, where: Where, person: Person
    ) -> bool:
        outcome = result.outcome
        if outcome == "claimed":
            return False
        if outcome == "approved":
            progress = f"{len(result.approved_by)}/{current.approvals_needed}"
            await self.audit.preview_step(Step.APPROVED, current, who=where.user, detail=progress)
            await person.say(approval_recorded_text(current))
            # Read again: a click that completed the approvals meanwhile has closed the message.
            latest = await self.store.get_preview(current.id)
            if latest is not None and latest.state is PreviewState.PENDING and latest.message_ts:
                await self.sender.update_preview(latest, preview_message(latest))
            return True
        if outcome == "already":
            await person.say(already_approved_text(current))
            return True
        if outcome == "stale":
            await self.audit.preview_step(
                Step.REFUSED, current, who=where.user, detail="clicked an edited preview"
            )
            await person.say(STALE_CLICK)
            return True
        if outcome == "expired_now":
            await self.audit.preview_step(Step.EXPIRED, current, who="")
        return False

    async def _record_confirmation(self, preview: Preview, who: str) -> None:
        progress = f"{len(preview.approved_by)}/{preview.approvals_needed}"
        await self.audit.preview_step(Step.APPROVED, preview, who=who, detail=progress)
        approvers = " ".join(preview.approved_by)
        account = self.service.credentials.run_account(preview.run_as, preview.requested_by, who) or "shared"
        detail = f"approved by {approvers}; runs with the Zapier account of {account}"
        await self.audit.preview_step(Step.CONFIRMED, preview, who=who, detail=detail)

    async def may_change(self, preview: Preview, who: str, doing: str, person: Person) -> bool:
        """The policy check every change of a preview passes (cancel, edit, switch): the requester, or
        anyone allowed to confirm. A refusal is told and audited."""
        refusal = await self.approvals.refusal(preview, who, to_cancel=True)
        if refusal is None:
            return True
        await self.audit.preview_step(Step.REFUSED, preview, who=who, detail=f"may not {doing}")
        await person.say(refusal_text(refusal, doing))  # type: ignore[arg-type]
        return False

    async def cancel(self, preview_id: str, where: Where, person: Person) -> None:
        try:
            preview = await self.store.get_preview(preview_id)
            if preview is not None and preview.channel == where.channel:
                where = replace(where, team=preview.team)
                if preview.state is PreviewState.PENDING and not await self.may_change(
                    preview, where.user, "cancel", person
                ):
                    return
            claim = await self.service.decide(preview_id, where, confirm=False)
        except BotError as exc:
            await person.say(describe_failure(exc, "preview"))
            return
        if claim.outcome != "claimed" or claim.preview is None:
            await self._explain_refusal(claim, person, where)
            return
        cancelled = claim.preview
        await self.audit.preview_step(Step.CANCELLED, cancelled, who=where.user)
        await self.sender.update_preview(
            cancelled, preview_message(cancelled, closed=cancelled_note(where.user))
        )

    async def _explain_refusal(self, claim: Claim, person: Person, where: Where | None = None) -> None:
        preview = claim.preview
        if claim.outcome == "expired_now" and preview is not None:
            await self.sender.update_preview(preview, preview_message(preview, closed=expired_note()))
        if claim.outcome == "unposted" and preview is not None and where is not None and where.message_ts:
            # The clicked copy landed although its post seemed to fail: close it, so nobody else tries.
            closed = preview_message(preview, closed=not_posted_note())
            await self.sender.deliver(
                Item(
                    "update",
                    closed,
                    channel=preview.channel,
                    ts=where.message_ts,
                    key=f"preview:{preview.id}",
                )
            )
        who = user(claim.decided_by) if claim.decided_by else "someone"
        if claim.outcome == "running":
            text = f"{who} already confirmed this; it is running now. The result will appear in the thread."
        elif claim.outcome in {"succeeded", "empty", "failed", "done"}:
            text = f"{who} already confirmed this and it has run: the outcome is in the thread."
        elif claim.outcome == "outcome_unknown":
            text = f"{who} already confirmed this; its outcome is unknown (see the thread)."
        elif claim.outcome == "cancelled":
            text = f"{who} cancelled this preview, so nothing was run."
        elif claim.outcome in {"expired", "expired_now"}:
            text = EXPIRED
        elif claim.outcome == "unposted":
            text = NOT_POSTED
        else:
            text = UNKNOWN
        await person.say(text)

    # running, and how it ends ---------------------------------------------------------------------------
    async def _execute(
        self, preview: Preview, confirmed_by: str, *, note: str, beside: Sequence[asyncio.Task[None]] = ()
    ) -> None:
        """Run the action (this process holds its lease meanwhile), then record and deliver how it ended.
        Whatever happens (an error, bytes nobody can read, a shutdown), the run ends with a message."""
        self.held.add(preview.id)
        try:
            try:
                outcome = await self.service.run(preview)
            except asyncio.CancelledError:
                # Stopped (a shutdown past its grace): the request may have reached Zapier.
                ended = Ended.unknown(STOPPED, "stopped")
                await asyncio.shield(self._end(preview, confirmed_by, note, ended, beside))
                raise
            except BotError as exc:
                log.warning("run of preview %s failed: %s", preview.id, type(exc).__name__)
                ended = Ended.from_error(exc)
            except Exception:
                log.exception("run of preview %s failed unexpectedly", preview.id)
                ended = Ended.unknown(INTERNAL, "error")
            else:
                ended = Ended.from_outcome(outcome)
            await self._end(preview, confirmed_by, note, ended, beside)
        finally:
            if preview.id not in {u.preview.id for u in self.unrecorded}:
                self.held.discard(preview.id)

    async def _end(
        self,
        preview: Preview,
        confirmed_by: str,
        note: str,
        ended: Ended,
        beside: Sequence[asyncio.Task[None]],
    ) -> None:
        try:
            await asyncio.gather(*beside)  # never raise (`_quietly`)
            thread = preview.thread_ts or preview.message_ts
            try:
                told = outcome_messages(preview, ended)
            except Exception:  # bytes from Zapier that no renderer expected: the short form still says it
                log.exception("could not render the outcome of run %s", preview.id)
                if ended.result is None:
                    raise
                told = OutcomeMessages(
                    short_outcome_message(preview, ended.result), log_id=ended.result.execution_log_id
                )
            outcome, log_id = told.message, told.log_id
            closed = preview_message(preview, closed=f"{note} · {ended.note()}")
            tell = tuple(dict.fromkeys(u for u in (preview.requested_by, confirmed_by) if u))
            elsewhere = preview_message(preview, closed=f"{note} · {ended.note_elsewhere(tell)}")
            if ended.state is PreviewState.UNKNOWN:
                self.metrics.ended_unknown(ended.reason)
            closing = Item(
                "update", closed, channel=preview.channel, ts=preview.message_ts, key=f"preview:{preview.id}"
            )
            if not await self._record(preview, ended, confirmed_by):
                self.unrecorded.append(Unrecorded(preview, ended, confirmed_by, closing))
            await self.sender.deliver(
                Item(
                    "post",
                    outcome,
                    channel=preview.channel,
                    thread_ts=thread,
                    fallback=told.fallback,
                    tell=tell,
                    undelivered=undelivered_message(preview, outcome),
                    record=log_id if ended.result is not None else "",
                    run_id=preview.id,
                    note=elsewhere,
                    note_ts=preview.message_ts,
                    attachment=full_result_text(ended.result) if ended.result is not None else "",
                    attachment_name=f"result-{log_id}.json" if ended.result is not None else "",
                    attach_now=told.cut,
                ),
                closing,
            )
            self.sender.watched(preview, ran_for=tell)  # their recent runs changed
        except Exception:
            log.exception("could not end run %s", preview.id)  # the sweeper ends it if it stays running

    async def _record(self, preview: Preview, ended: Ended, confirmed_by: str) -> bool:
        result = ended.result
        log_id = result.execution_log_id if result else ""
        if result is not None:
            detail = result.status.value
        else:
            cause = type(ended.error).__name__ if ended.error else ended.reason or ended.why
            detail = f"{ended.state.value}: {cause}"
        write = self.audit.write(
            Step.EXECUTED,
            who=confirmed_by,
            team=preview.team,
            channel=preview.channel,
            app=preview.request.app,
            action=preview.request.action,
            execution_log_id=log_id or preview.result.execution_log_id,
            preview_id=preview.id,
            detail=detail,
        )
        try:
            await self.runs.finish(
                preview,
                ended.state,
                detail=ended.why,
                run_log_id=log_id,
                execution=self.service.run_fields(preview, result) if result else None,
                audit=write,
            )
        except BotError as exc:
            log.warning("could not record the outcome of run %s (%s): will retry", preview.id, exc)
            return False
        return True

    async def record_pending(self) -> None:
        """Record outcomes that Redis missed (called by the keeper until it takes them)."""
        pending, self.unrecorded = self.unrecorded, []
        for entry in pending:
            if await self._record(entry.preview, entry.ended, entry.confirmed_by):
                self.held.discard(entry.preview.id)
                # Sent directly while Redis was away; queued again so that it replaces any older update of
                # the preview (e.g. "running…") still waiting in the outbox.
                await self.sender.deliver(entry.closing)
            else:
                self.unrecorded.append(entry)

    # the sweepers (bot/runs/sweeps.py) -----------------------------------------------------------------
    async def expire_due(self) -> int:
        """Mark previews past their time as expired. Any replica may do it; each is done once."""
        return await sweeps.expire_due(self)

    async def end_orphans(self) -> int:
        """End runs (and previews being asked) whose process stopped renewing their lease."""
        return await sweeps.end_orphans(self)

    # reading ----------------------------------------------------------------------------------------------
    async def full_result(self, execution_log_id: str, person: Person) -> None:
        try:
            full = await self.service.full_result(execution_log_id)
        except BotError as exc:
            await person.say(describe_failure(exc, "preview"))
            return
        if full is None:
            await person.say("I no longer have the full result of this run.")
            return
        messages = full_result_messages(full)
        if len(messages) <= MAX_PRIVATE_MESSAGES:
            for message in messages:
                await person.send(message)
            return
        # A response_url takes 5 posts: a longer result goes into its thread as one file instead.
        try:
            execution = await self.store.get_execution(execution_log_id)
            if execution.get("file_in_thread"):
                await person.say("The full result is long: it is attached to the result's thread as a file.")
                return
            await self.surface.upload(
                execution.get("channel", ""),
                pretty_json(full),
                filename=f"result-{execution_log_id}.json",
                title=f"Full result of {execution.get('action_used') or 'the run'}",
                thread_ts=execution.get("thread_ts") or None,
            )
        except (BotError, DeliveryError) as exc:
            log.warning("could not attach the full result of %s: %s", execution_log_id, exc)
            if isinstance(exc, DeliveryError) and exc.permanent:  # e.g. the bot was removed from the channel
                await person.say(
                    "The full result is too long to send here, and I cannot attach it to the result's "
                    f"thread in its channel: {delivery_problem(exc.code)}"
                )
                return
            await person.say("The full result is too long to send here, and attaching it failed. Try again.")
            return
        await person.say("The full result is long, so it is attached to the result's thread as a file.")
