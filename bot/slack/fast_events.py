"""Reaction events counted in front of Bolt's adapter, through public seams (ZAPBOT_FAST_PATHS: `reactions`).

A burst of reactions is thousands of small events, and for each Bolt runs its whole dispatch (middleware
chain, matching every listener, building the listener's arguments by introspection): more CPU than the
count itself (bench/README.md has the figure, on and off). On the same terms as the `/zap` fast path
(bot/slack/fast_ack.py: the route's gate has verified the signature with `SignatureVerifier`, our own
global middleware is run here, Bolt's public `AsyncAck` answers), `FastReactions` answers a request when:

- it is an Events API JSON body, `type: event_callback`, whose `event.type` is `reaction_added` or
  `reaction_removed` (so never Bolt's `ssl_check` or `url_verification`, which only look at other types);
- Bolt has already answered a reaction event with 200 *and* its authorization had passed: the fast path
  keeps that request's authorization result (`context.authorize_result`; single-workspace authorization
  makes one `auth.test` and caches it for good, so every later result is the same);
- the event is not the bot's own: Bolt's `IgnoringSelfEvents` drops an event whose user (as Bolt's public
  `extract_user_id` finds it) is the bot user, or whose `event.bot_id` is the bot's. Such an event goes to
  Bolt, which acks it and runs nothing.

Bolt processes before responding (`process_before_response=True`, as bot/slack/app.py sets it), so its answer
waits for the listener as ours does. The remaining built-in step, `AttachingFunctionToken`, only swaps the
Web API token for workflow function events; the count does not call Slack. Then it runs what Bolt's
listener runs (`reactions.count`) and answers as Bolt does: its auto-ack (200, empty body) when the count
returned, a plain 500 with no body, logged, when it raised, so that Slack re-delivers the event.
"""

from __future__ import annotations

import logging
from typing import Any

from aiohttp import web
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.internals import extract_user_id
from slack_bolt.response import BoltResponse

from bot.slack.fast_ack import FastPath, bolt_ack, listener_failed
from bot.slack.listeners.reactions import EVENT_TYPES, count
from bot.slack.request import Checked

log = logging.getLogger(__name__)


class FastReactions(FastPath):
    # The bot's user ID and bot ID from Bolt's authorization result, once Bolt has authorized a reaction
    # (set on the instance).
    _bot: tuple[str | None, str | None] | None = None

    @staticmethod
    def event_of(request: Checked) -> dict[str, Any] | None:
        """The event of the reaction event this request carries, or None for anything else."""
        body = request.body
        event = body.get("event")
        if body.get("type") != "event_callback" or not isinstance(event, dict):
            return None
        return event if event.get("type") in EVENT_TYPES else None

    async def answer(self, request: Checked) -> web.Response | None:
        bot = self._bot
        event = self.event_of(request) if bot is not None else None
        if bot is None or event is None or _is_self_event(bot, request.body, event):
            return None
        try:
            await self.run_own_middleware(request.body)
            await count(self._deps, request.body, event)
        except Exception as error:
            return await listener_failed(error)
        log.debug("counted a reaction in front of Bolt")
        return await bolt_ack()

    def learn(self, request: Checked, bolt_request: AsyncBoltRequest, response: BoltResponse) -> None:
        """A reaction event answered 200 with an authorization result means Bolt's authorization passed
        (and is cached); keep who the bot is, as `IgnoringSelfEvents` sees it."""
        if self._bot is not None or response.status != 200:
            return
        auth = bolt_request.context.authorize_result
        if auth is not None and self.event_of(request) is not None:
            self._bot = (auth.bot_user_id, auth.bot_id)


def _is_self_event(bot: tuple[str | None, str | None], body: dict[str, Any], event: dict[str, Any]) -> bool:
    """What `IgnoringSelfEvents` decides for a reaction, on the user ID Bolt's context would hold."""
    bot_user_id, bot_id = bot
    user_id = extract_user_id(body) or None  # Bolt's context keeps only a non-empty one
    by_user = user_id is not None and user_id == bot_user_id
    by_bot = event.get("bot_id") is not None and event.get("bot_id") == bot_id
    return by_user or by_bot
