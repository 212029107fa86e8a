"""`/zap audit`: the channel's audit trail, to the caller only. (Approvals and every other policy check of
a preview belong to the run lifecycle, bot/runs/lifecycle.py.)"""

from __future__ import annotations

import logging

from bot.errors import BotError
from bot.handlers.deps import CommandContext, Deps
from bot.team_messages import (
    AUDIT_USAGE,
    audit_count,
    audit_message,
)

log = logging.getLogger(__name__)

AUDIT_UNAVAILABLE = "The audit trail is unavailable right now (zapbot's database did not answer). Try later."


def register(deps: Deps) -> None:
    deps.subcommands["audit"] = show_audit


async def show_audit(deps: Deps, args: str, ctx: CommandContext) -> None:
    """`/zap audit [N]`: the last N steps in this channel, to the caller only."""
    count = audit_count(args)
    if count is None:
        await ctx.privately.say(deps, AUDIT_USAGE)
        return
    try:
        recent = await deps.audit.recent(ctx.where.channel, count)
    except BotError as exc:
        log.warning("could not read the audit trail: %s", type(exc).__name__)
        await ctx.privately.say(deps, AUDIT_UNAVAILABLE)
        return
    await ctx.privately.send(deps, audit_message(recent, count))
