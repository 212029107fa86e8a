"""`/zap help` covers every feature a person can use, and every word it names is one zapbot answers."""

from __future__ import annotations

import re

from tests.support.bot_server import RunningBot


async def test_help_names_every_feature_and_every_word_it_names_works(bot: RunningBot) -> None:
    """The help (the ack of `/zap help`) explains previews, Confirm/Edit/Cancel, plain English, look-ups,
    shortcuts, the form, what the rating reactions mean, `/zap ratings` and `/zap audit`; and each
    `/zap WORD` it shows is a word zapbot serves (sent through the endpoint, none is "not available")."""
    response = await bot.slack.command("help")
    body = response.json()
    text = body["text"] + str(body["blocks"])
    for feature in ("Confirm", "Edit", "Cancel", "Just say it", ":+1:", ":-1:", "Feedback", "expire"):
        assert feature in text, feature
    words = set(re.findall(r"`/zap ([a-z]+)", text)) - {"send"}  # `/zap send a Slack message…` is English
    assert {"apps", "actions", "save", "shortcuts", "forget", "form", "ratings", "audit"} <= words
    for word in sorted(words):
        answer = await bot.slack.command(word)
        assert "not available in this version" not in answer.text, word
