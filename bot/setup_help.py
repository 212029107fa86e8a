"""What to tell someone whose settings are incomplete: which variables to set, and where to get each.

Used by `python -m bot` and the console instead of a bare validation error, so that the first run on a
fresh machine ends with instructions rather than a puzzle.
"""

from __future__ import annotations

from pydantic import ValidationError

from bot.settings import describe_settings_error

SLACK_TOKENS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET")

HOW_TO_GET = {
    "SLACK_SIGNING_SECRET": "Slack app -> Basic Information -> App Credentials -> Signing Secret",
    "SLACK_BOT_TOKEN": (
        "Slack app -> OAuth & Permissions -> Install to Workspace, then the Bot User OAuth Token (xoxb-...)"
    ),
    "ZAPIER_API_KEY": "your AI Actions API key, from https://actions.zapier.com/credentials/",
}

CREATE_THE_APP = """\
No Slack app yet? Create it from this repository's manifest: https://api.slack.com/apps -> Create New App
-> From an app manifest -> paste manifest.yml, with YOUR-HOST replaced by the public host of the bot."""


def missing_settings(error: ValidationError) -> list[str] | None:
    """The unset (or blank) secrets this error is about, or None if anything else is wrong too."""
    missing: list[str] = []
    for item in error.errors():
        name = str(item["loc"][0]).upper() if item["loc"] else ""
        blank = item["type"] == "missing" or "must not be empty" in item["msg"]
        if name not in HOW_TO_GET or not blank:
            return None
        missing.append(name)
    return missing


def needs_slack_setup(error: ValidationError) -> bool:
    """True when only secrets are missing and a Slack one is among them: the console could run instead."""
    missing = missing_settings(error) or []
    return any(name in SLACK_TOKENS for name in missing)


def describe_setup_error(error: ValidationError, *, console: bool = False) -> str:
    """Which settings to set and how to get each; the plain one-line error when it is something else."""
    missing = missing_settings(error)
    if not missing:
        return describe_settings_error(error)
    width = max(len(name) for name in missing)
    lines = ["zapbot needs these settings (set them in the environment, or in a .env file where you run it):"]
    lines += [f"  {name.ljust(width)}  {HOW_TO_GET[name]}" for name in missing]
    if any(name in SLACK_TOKENS for name in missing):
        lines += [
            "",
            CREATE_THE_APP,
            "",
            "Meanwhile, try the bot in a terminal, no Slack needed: python -m bot console",
        ]
    if console:
        lines += [
            "",
            "The console needs only ZAPIER_API_KEY (and REDIS_URL, ZAPIER_BASE_URL if not the defaults).",
        ]
    return "\n".join(lines)
