"""`/zap connect` and `/zap disconnect` through the real bot (signed Slack requests), and the Slack DM that
tells a person their Zapier account is connected.

Zapier's OAuth endpoints are the local stand-in that checks PKCE (tests/support/fakes/zapier_oauth.py); the
"browser" opens the connect button's link there and brings Zapier's redirect back to the bot.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
import pytest

from bot.accounts import Accounts
from bot.settings import Settings
from tests.support.bot_server import PUBLIC_URL, RunningBot, running_bot
from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_oauth import follow_authorize
from tests.support.fakes.zapier_server import FakeZapier
from tests.support.helpers import text_of

TEAM, ADA = "T0TEAM", "U0ADA"


@pytest.fixture
async def bot(
    accounts_settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> AsyncIterator[RunningBot]:
    """The real bot with per-user accounts on and its own Slack notifier (no test hook)."""
    async with running_bot(accounts_settings, http_session, fake_slack.response_url_base) as running:
        yield running


async def ask(bot: RunningBot, slack: FakeSlack, words: str, key: str, user: str = ADA) -> dict[str, Any]:
    """`/zap WORDS` from `user`; what the bot posted to that command's response URL."""
    before = len(slack.response_posts)
    response = await bot.slack.command(words, user=user, team=TEAM, response_url=slack.response_url(key))
    assert response.status == 200, response.text
    posts = await slack.wait_for_response_posts(before + 1)
    [post] = [p for p in posts[before:] if p.key == key]
    answer: dict[str, Any] = post.json
    return answer


def link_button(message: dict[str, Any]) -> dict[str, Any]:
    button: dict[str, Any]
    [button] = [
        element
        for block in message.get("blocks") or []
        for element in block.get("elements", [])
        if element.get("type") == "button"
    ]
    return button


@pytest.mark.realistic_slack
async def test_connect_answers_privately_with_a_button_to_zapiers_authorize_page(
    bot: RunningBot,
    fake_slack: FakeSlack,
    fake_zapier: FakeZapier,
    replica_accounts: Accounts,
    http_session: Any,
) -> None:
    """`/zap connect` answers only the person who asked (an ephemeral on the command's response URL) with a
    button whose link is Zapier's authorize page for them (code flow, PKCE S256, a state naming no Slack
    id); following that link connects their account, and posts nothing in the channel."""
    answer = await ask(bot, fake_slack, "connect", "c1")
    assert answer["response_type"] == "ephemeral"
    assert "Connect your Zapier account" in text_of(answer)
    button = link_button(answer)
    url = urlsplit(button["url"])
    query = {name: values[0] for name, values in parse_qs(url.query).items()}
    assert f"{url.scheme}://{url.netloc}{url.path}" == fake_zapier.url + "/oauth/authorize/"
    assert query["response_type"] == "code" and query["code_challenge_method"] == "S256"
    assert query["redirect_uri"] == PUBLIC_URL + "/zapier/oauth/callback"
    assert ADA not in button["url"] and TEAM not in button["url"]
    assert not await replica_accounts.connected(TEAM, ADA)

    callback = await follow_authorize(http_session, button["url"])
    async with http_session.get(bot.url + callback) as page:
        assert page.status == 200, await page.text()
    assert await replica_accounts.connected(TEAM, ADA)
    assert fake_slack.of("chat.postEphemeral") == []
    assert [c.args["channel"] for c in fake_slack.of("chat.postMessage")] == [ADA]  # the DM, below


@pytest.mark.realistic_slack
async def test_connecting_tells_the_person_in_a_dm_and_refreshes_their_home(
    bot: RunningBot, fake_slack: FakeSlack, replica_accounts: Accounts, http_session: Any
) -> None:
    """After the OAuth callback, the person gets a DM from zapbot (chat.postMessage to their user id)
    saying their Zapier account is connected, and their Home is re-published showing it, with a
    Disconnect button."""
    callback = await follow_authorize(http_session, await replica_accounts.connect_url(TEAM, ADA))
    async with http_session.get(bot.url + callback) as page:
        assert page.status == 200
    [dm] = await fake_slack.wait_for_accepted("chat.postMessage")
    assert dm.args["channel"] == ADA
    assert "Zapier account is connected" in dm.args["text"]
    [published] = await fake_slack.wait_for_accepted("views.publish")
    assert published.args["user_id"] == ADA
    home = text_of(published.args["view"])
    assert "Your Zapier account is connected" in home and "zap_home_disconnect" in home


@pytest.mark.realistic_slack
async def test_disconnect_deletes_the_tokens_and_says_so(
    bot: RunningBot, fake_slack: FakeSlack, replica_accounts: Accounts, http_session: Any
) -> None:
    """`/zap disconnect` deletes the person's tokens and tells them (privately) that it did, and how to
    cut zapbot off at Zapier's side; a second one says there was nothing to disconnect."""
    callback = await follow_authorize(http_session, await replica_accounts.connect_url(TEAM, ADA))
    async with http_session.get(bot.url + callback) as page:
        assert page.status == 200
    assert await replica_accounts.connected(TEAM, ADA)

    answer = await ask(bot, fake_slack, "disconnect", "d1")
    assert answer["response_type"] == "ephemeral"
    assert "disconnected" in text_of(answer) and "deleted your tokens" in text_of(answer)
    assert not await replica_accounts.connected(TEAM, ADA)
    again = await ask(bot, fake_slack, "disconnect", "d2")
    assert "nothing to disconnect" in text_of(again)


async def test_another_persons_disconnect_leaves_your_account_alone(
    bot: RunningBot, fake_slack: FakeSlack, replica_accounts: Accounts, http_session: Any
) -> None:
    """`/zap disconnect` acts on the person who typed it only: Bob's disconnect keeps Ada connected."""
    callback = await follow_authorize(http_session, await replica_accounts.connect_url(TEAM, ADA))
    async with http_session.get(bot.url + callback) as page:
        assert page.status == 200
    answer = await ask(bot, fake_slack, "disconnect", "d1", user="U0BOB")
    assert "nothing to disconnect" in text_of(answer)
    assert await replica_accounts.connected(TEAM, ADA)


@pytest.mark.parametrize("word", ["connect", "disconnect"])
async def test_with_accounts_off_both_say_the_account_is_shared(
    word: str, bot_settings: Settings, http_session: aiohttp.ClientSession, fake_slack: FakeSlack
) -> None:
    """Without per-user accounts, `/zap connect` and `/zap disconnect` each tell the person (privately)
    that this zapbot uses one shared Zapier account; no link, no button."""
    async with running_bot(bot_settings, http_session, fake_slack.response_url_base) as running:
        answer = await ask(running, fake_slack, word, "s1")
    assert answer["response_type"] == "ephemeral"
    assert "one shared Zapier account" in text_of(answer)
    assert "button" not in text_of(answer)
