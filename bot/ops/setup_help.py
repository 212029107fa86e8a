"""What to tell someone whose settings are incomplete: which variables to set, and where to get each.

Used by `python -m bot` and the console instead of a bare validation error, so that the first run on a
fresh machine ends with instructions rather than a puzzle. A placeholder left from .env.example counts as
unset. `fallback_mode` says what can run meanwhile: the console (a Zapier key but no Slack app yet) or
the demo (nothing set at all).
"""

from __future__ import annotations

from typing import Literal, get_args, get_origin

from annotated_types import Ge, Gt, Le, Lt
from pydantic import ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from bot.settings import Settings, describe_settings_error

SLACK_TOKENS = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN")
ZAPIER_KEY = "ZAPIER_API_KEY"
ZAPIER_CREDENTIALS = "https://actions.zapier.com/credentials/"

HOW_TO_GET = {
    "SLACK_SIGNING_SECRET": "Slack app -> Basic Information -> App Credentials -> Signing Secret",
    "SLACK_BOT_TOKEN": (
        "Slack app -> OAuth & Permissions -> Install to Workspace, then the Bot User OAuth Token (xoxb-...)"
    ),
    "SLACK_APP_TOKEN": (
        "Slack app -> Basic Information -> App-Level Tokens, scope connections:write (xapp-...); "
        "or leave it unset for HTTP mode"
    ),
    ZAPIER_KEY: (
        f"your AI Actions API key, from {ZAPIER_CREDENTIALS}; or, to run actions with each person's "
        "own Zapier account instead, ZAPIER_OAUTH_CLIENT_ID and ZAPIER_OAUTH_CLIENT_SECRET (docs/accounts.md)"
    ),
}

CREATE_THE_APP = """\
No Slack app yet? Create it from this repository's manifest: https://api.slack.com/apps -> Create New App
-> From an app manifest -> paste manifest.yml, with YOUR-HOST replaced by the public host of the bot."""

TRY_THE_CONSOLE = "Meanwhile, try the bot in a terminal, no Slack needed: scripts/run console"
TRY_THE_DEMO = (
    "Meanwhile, try the whole loop with nothing set up: scripts/run demo\n"
    "(the console against a built-in simulator of Zapier, labelled DEMO: nothing real is sent)"
)


def _unset(item: ErrorDetails) -> tuple[str, bool] | None:
    """(variable, is a placeholder) when this validation error says a secret is unset, else None."""
    name = str(item["loc"][0]).upper() if item["loc"] else ""
    placeholder = item["type"] == "placeholder"
    blank = placeholder or item["type"] == "missing" or "must not be empty" in item["msg"]
    return (name, placeholder) if name in HOW_TO_GET and blank else None


def missing_settings(error: ValidationError) -> list[str] | None:
    """The unset (blank, or placeholder) secrets this error is about, or None if anything else is wrong."""
    found = [_unset(item) for item in error.errors()]
    if any(f is None for f in found):
        return None
    return [f[0] for f in found if f is not None]


def fallback_mode(error: ValidationError) -> Literal["console", "demo"] | None:
    """What can run while only secrets are missing: the demo when the Zapier key is missing with Slack's,
    the console when only Slack's are; None when something else is wrong (or only the Zapier key)."""
    missing = missing_settings(error) or []
    if not any(name in SLACK_TOKENS for name in missing):
        return None
    return "demo" if ZAPIER_KEY in missing else "console"


def needs_slack_setup(error: ValidationError) -> bool:
    """True when only secrets are missing and a Slack one is among them: the console or the demo could run."""
    return fallback_mode(error) is not None


def describe_setup_error(error: ValidationError, *, console: bool = False) -> str:
    """Which settings to set and how to get each; the plain one-line error when it is something else."""
    found = [_unset(item) for item in error.errors()]
    if not found or any(f is None for f in found):
        return describe_settings_error(error)
    unset = dict(f for f in found if f is not None)
    width = max(len(name) for name in unset)
    lines = ["zapbot needs these settings (set them in the environment, or in a .env file where you run it):"]
    for name, placeholder in unset.items():
        now = " (now a placeholder from .env.example)" if placeholder else ""
        lines.append(f"  {name.ljust(width)}  {HOW_TO_GET[name]}{now}")
    if any(name in SLACK_TOKENS for name in unset):
        lines += ["", CREATE_THE_APP, "", TRY_THE_DEMO if ZAPIER_KEY in unset else TRY_THE_CONSOLE]
    if console:
        lines += [
            "",
            "The console needs only ZAPIER_API_KEY (and REDIS_URL, ZAPIER_BASE_URL if not the defaults).",
            "No key yet? scripts/run demo runs the console against a built-in simulator of Zapier.",
        ]
    return "\n".join(lines)


def describe_settings() -> list[str]:
    """One line per setting of the Settings class: its variable, its default, what values it takes."""
    rows = []
    for name, field in Settings.model_fields.items():
        if field.is_required():
            default = "required"
        elif field.default is None:
            default = "unset"
        elif field.default == "":
            default = '""'
        elif isinstance(field.default, frozenset):  # a word list (ZAPBOT_FAST_PATHS), as one types it
            default = ",".join(sorted(field.default))
        else:
            default = str(field.default)
        rows.append((name.upper(), default, _allowed(field)))
    rows.insert(0, ("VARIABLE", "DEFAULT", "VALUES"))
    width = max(len(variable) for variable, _, _ in rows)
    deflen = max(len(default) for _, default, _ in rows)
    return [
        f"  {variable.ljust(width)}  {default.ljust(deflen)}  {allowed}".rstrip()
        for variable, default, allowed in rows
    ]


_BOUNDS: tuple[tuple[type[object], str, str], ...] = (
    (Ge, "ge", ">="),
    (Gt, "gt", ">"),
    (Le, "le", "<="),
    (Lt, "lt", "<"),
)


def _allowed(field: FieldInfo) -> str:
    """What values a setting takes, from its type and constraints (and its description, if it has one)."""
    parts = []
    choices = [arg for arg in get_args(field.annotation) if isinstance(arg, str)]
    if get_origin(field.annotation) is Literal:
        parts.append(" | ".join(choices))
    for constraint in field.metadata:
        for kind, attribute, sign in _BOUNDS:
            if isinstance(constraint, kind):
                parts.append(f"{sign} {getattr(constraint, attribute)}")
    if field.description:
        parts.append(field.description)
    return ", ".join(parts)
