"""User groups for `confirm_by`: members from Slack's `usergroups.users.list`, cached in Redis so that a
burst of clicks (on any replica) costs one Slack call per group per USERGROUP_CACHE_SECONDS."""

from __future__ import annotations

import logging

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.approvals.rules import GroupLookupError
from bot.approvals.store import TeamStore

log = logging.getLogger(__name__)


class SlackGroups:
    """A `GroupDirectory` backed by Slack (needs the `usergroups:read` scope)."""

    def __init__(self, slack: AsyncWebClient, store: TeamStore, *, cache_seconds: int) -> None:
        self._slack = slack
        self._store = store
        self._cache_seconds = cache_seconds

    async def members(self, team: str, group: str) -> frozenset[str]:
        cached = await self._store.cached_group(team, group)
        if cached is not None:
            return frozenset(cached)
        try:
            response = await self._slack.usergroups_users_list(usergroup=group, team_id=team or None)
        except SlackApiError as exc:
            code = str(exc.response.get("error", "unknown_error"))
            log.warning("could not list the members of user group %s: %s", group, code)
            raise GroupLookupError(group, code) from exc
        except (aiohttp.ClientError, TimeoutError) as exc:  # no answer, after slack-sdk's own retry
            raise GroupLookupError(group, type(exc).__name__) from exc
        users = [str(u) for u in response.get("users") or []]
        await self._store.cache_group(team, group, users, seconds=self._cache_seconds)
        return frozenset(users)
