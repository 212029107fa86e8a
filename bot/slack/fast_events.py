"""Reaction events counted before Bolt's middleware chain, where that provably changes nothing.

A burst of reactions is thousands of small events, and for each Bolt runs its whole dispatch (middleware
chain, matching every listener, building the listener's arguments by introspection): more CPU than the
count itself (bench/). On the same terms as the `/zap` fast path (bot/slack/fast_ack.py: no custom
middleware, our own `own_middleware` run here, Bolt's own signature verifier and `AsyncAck`),
`FastReactions` answers a request itself when:

- it is an Events API JSON body, `type: event_callback`, whose `event.type` is `reaction_added` or
  `reaction_removed` (so never Bolt's `ssl_check` or `url_verification`, which only look at other types);
- the signature is valid (else Bolt answers its 401);
- Bolt has already answered a reaction event with 200 *and* its authorization had passed: the fast path
  keeps that request's authorization result (single-workspace authorization makes one `auth.test` and
  caches it for good, so every later result is the same);
- the event is not the bot's own: Bolt's `IgnoringSelfEvents` drops an event whose user (as Bolt's
  `extract_user_id` finds it) is the bot user, or whose `event.bot_id` is the bot's, both taken from that
  authorization result. Such an event goes to Bolt, which acks it and runs nothing;
- Bolt processes before responding (`process_before_response=True`, as bot/slack/app.py sets it), so its
answer
  waits for the listener as ours does.

The remaining built-in step, `AttachingFunctionToken`, only swaps the Web API token for workflow function
events; the count does not call Slack. Then it runs what Bolt's listener runs (`reactions.count`) and
answers as Bolt does: its auto-ack (200, empty body) when the count returned, a plain 500 with no body,
logged, when it raised, so that Slack re-delivers the event. Every other request goes through Bolt.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_user_id
from slack_bolt.response import BoltResponse

from bot.slack.fast_ack import FastPath, no_next
from bot.slack.listeners.reactions import EVENT_TYPES, count

log = logging.getLogger(__name__)

JSON = "application/json"


class FastReactions(FastPath):
    kind = "reactions"
    # The bot's user ID and bot ID from Bolt's authorization result, once Bolt has authorized a reaction
    # (set on the instance).
    _bot: tuple[str | None, str | None] | None = None

    def usable_with(self, bolt: AsyncApp) -> bool:
        return bolt.process_before_response  # Bolt's answer waits for the listener, as ours does

    def event_of(self, request: web.Request, raw: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The body and event of the reaction event this request carries, or None for anything else."""
        if not self.enabled or request.content_type != JSON or not raw.startswith("{"):
            return None
        if '"reaction_' not in raw:  # most other events are not worth parsing
            return None
        try:
            body = json.loads(raw)
        except ValueError:
            return None  # Bolt's answer to that is the one to give
        event = body.get("event") if isinstance(body, dict) else None
        if body.get("type") != "event_callback" or not isinstance(event, dict):
            return None
        return (body, event) if event.get("type") in EVENT_TYPES else None

    async def answer(self, request: web.Request, raw: str) -> web.Response | None:
        """Bolt's answer to a reaction event, without Bolt, or None to let Bolt handle the request."""
        bot = self._bot
        found = self.event_of(request, raw) if bot is not None else None
        if bot is None or found is None or not self.signed(request.headers, raw):
            return None
        body, event = found
        if _is_self_event(bot, body, event):
            return None
        try:
            for step in self._own:
                await step(body, no_next)  # e.g. the log request id, as Bolt would have run it
            await count(self._deps, body, event)
        except Exception as error:
            # As Bolt does for a listener that raises: log it, and a plain 500 with no body.
            log.error("unhandled error in a Slack handler: %s", type(error).__name__, exc_info=error)
            return await to_aiohttp_response(BoltResponse(status=500, body=""))
        ack = AsyncAck()  # type: ignore[no-untyped-call]  # Bolt leaves its __init__ unannotated
        log.debug("counted a reaction before Bolt's chain")
        return await to_aiohttp_response(await ack())

    def learn(self, request: web.Request, bolt_request: AsyncBoltRequest, response: BoltResponse) -> None:
        """After Bolt answered: a reaction event answered 200 with an authorization result means Bolt's
        authorization passed (and is cached); keep who the bot is, as `IgnoringSelfEvents` sees it."""
        if self._bot is not None or response.status != 200:
            return
        auth = bolt_request.context.authorize_result
        if auth is not None and self.event_of(request, bolt_request.raw_body) is not None:
            self._bot = (auth.bot_user_id, auth.bot_id)


def _is_self_event(bot: tuple[str | None, str | None], body: dict[str, Any], event: dict[str, Any]) -> bool:
    """`IgnoringSelfEvents._is_self_event` for a reaction, on the user ID Bolt's context would hold."""
    bot_user_id, bot_id = bot
    user_id = extract_user_id(body) or None  # Bolt's context keeps only a non-empty one
    by_user = user_id is not None and user_id == bot_user_id
    by_bot = event.get("bot_id") is not None and event.get("bot_id") == bot_id
    return by_user or by_bot
