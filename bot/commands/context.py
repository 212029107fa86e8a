"""What a `/zap` word's handler gets: the services it may use, and who asked, where."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from bot.accounts import Accounts, NotConnected, ReconnectNeeded
from bot.approvals.audit import Audit
from bot.discovery.finder import Finder
from bot.discovery.shortcuts import ShortcutBook
from bot.ratings.service import Ratings
from bot.render.messages import connect_message
from bot.runs.lifecycle import Runs
from bot.runs.ports import Person
from bot.runs.service import Where
from bot.zapier.client import Auth

T = TypeVar("T")


@dataclass(frozen=True)
class Asked:
    """Who asked, where, and how to answer them. `thread_ts`: the mention's thread a preview goes in
    (None for /zap: a preview starts its own); `trigger_id`: for a Slack modal, valid 3 s after the ask."""

    where: Where
    person: Person
    thread_ts: str | None = None
    trigger_id: str | None = None


AccountChanged = Callable[[str, str], Coroutine[Any, Any, None]]


@dataclass(frozen=True)
class Services:
    runs: Runs
    audit: Audit
    finder: Finder | None = None
    shortcuts: ShortcutBook | None = None
    ratings: Ratings | None = None
    accounts: Accounts | None = None  # per-user Zapier accounts (bot/accounts/); None: one shared account
    # Told (team, user) after a person's connection changed, so a surface can refresh what shows it (Slack:
    # the App Home). Best effort: it must not raise.
    account_changed: AccountChanged | None = None


# A `/zap WORD ARGS` handler (`ARGS` as typed, after the word); plain English gets the whole text. What it
# returns is for surfaces that want it (the console keeps a preview it made); Slack ignores it.
Handler = Callable[[Services, str, Asked], Coroutine[Any, Any, object]]


async def as_person(
    accounts: Accounts | None, team: str, user: str, call: Callable[[Auth | None, str], Awaitable[T]]
) -> T:
    """`call(auth, owner)` for a read (a look-up, a menu) with this person's own Zapier account when
    per-user accounts are on (so it finds what *their* account exposes; `owner` keys its cache), else with
    the shared key (`owner` ""). Raises NotConnected / ReconnectNeeded, sending nothing, when they must
    connect first."""
    if accounts is None:
        return await call(None, "")
    owner = f"{team}/{user}"
    return await accounts.call_as(team, user, lambda auth: call(auth, owner), retry_if_rejected=True)


async def as_asker(
    services: Services, context: Asked, call: Callable[[Auth | None, str], Awaitable[T]]
) -> T | None:
    """`as_person` for the asking person. None when they must connect first: they have been told so, with
    the button, and nothing was sent."""
    accounts = services.accounts
    team, user = context.where.team, context.where.user
    try:
        return await as_person(accounts, team, user, call)
    except (NotConnected, ReconnectNeeded) as exc:
        assert accounts is not None  # only raised with per-user accounts on
        again = isinstance(exc, ReconnectNeeded)
        why = (
            "Your Zapier account must be connected again." if again else "Connect your Zapier account first:"
        )
        url = await accounts.connect_url(team, user)
        await context.person.send(connect_message(url, why + " Look-ups use your own account."))
        return None
