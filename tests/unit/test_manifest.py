"""The Slack app manifest (manifest.yml) against Slack's published schema and what the bot needs.

The schema is tests/spec/slack-app-manifest.schema.json (vendored; its source is in tests/spec/README.md).
It checks structure and lengths but not everything: it does not enumerate event names or
scopes, and it spells the background colour rule ``regex`` (not a JSON Schema keyword, so validators
ignore it). Those are pinned by the tests below instead.
"""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml
from jsonschema.protocols import Validator

REPO = Path(__file__).resolve().parents[2]
MANIFEST_PATH = REPO / "manifest.yml"
SCHEMA_PATH = Path(__file__).resolve().parents[1] / "spec" / "slack-app-manifest.schema.json"

EVENTS_PATH = "/slack/events"
BOT_SCOPES = {
    "commands",
    "app_mentions:read",
    "chat:write",
    "files:write",
    "reactions:read",
    "usergroups:read",
    "channels:history",
    "groups:history",
}
BOT_EVENTS = {
    "app_mention",
    "reaction_added",
    "reaction_removed",
    "app_uninstalled",
    "tokens_revoked",
    "app_home_opened",
}
FORM_SHORTCUT = {"type": "global", "callback_id": "zap_form"}  # bot/discovery/form_view.py FORM_SHORTCUT

Manifest = dict[str, Any]


@pytest.fixture(scope="module")
def schema() -> dict[str, Any]:
    assert SCHEMA_PATH.is_file(), (
        f"Slack manifest schema not found at {SCHEMA_PATH} (see tests/spec/README.md)"
    )
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


@pytest.fixture(scope="module")
def validator(schema: dict[str, Any]) -> Validator:
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


@pytest.fixture
def manifest() -> Manifest:
    loaded = yaml.safe_load(MANIFEST_PATH.read_text(encoding="utf-8"))
    assert isinstance(loaded, dict), "manifest.yml must be a YAML mapping"
    return loaded


def _errors(validator: Validator, instance: Manifest) -> list[str]:
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in sorted(validator.iter_errors(instance), key=lambda e: list(map(str, e.absolute_path)))
    ]


def _zap_command(manifest: Manifest) -> dict[str, Any]:
    commands: list[dict[str, Any]] = [
        c for c in manifest["features"]["slash_commands"] if c["command"] == "/zap"
    ]
    assert len(commands) == 1, "manifest must declare /zap exactly once"
    return commands[0]


def _urls(node: Any, path: str = "") -> Iterator[tuple[str, str]]:
    """Every (location, value) in the manifest whose key names a URL."""
    if isinstance(node, dict):
        for key, value in node.items():
            where = f"{path}.{key}" if path else str(key)
            if isinstance(value, str) and key.endswith("url"):
                yield where, value
            else:
                yield from _urls(value, where)
    elif isinstance(node, list):
        for i, item in enumerate(node):
            yield from _urls(item, f"{path}[{i}]")


def test_validator_matches_the_schemas_draft(schema: dict[str, Any], validator: Validator) -> None:
    """The schema declares JSON Schema draft-07, and the validator used is the draft-07 one."""
    assert schema["$schema"] == "http://json-schema.org/draft-07/schema#"
    assert isinstance(validator, jsonschema.Draft7Validator)


def test_manifest_validates_against_slack_schema(validator: Validator, manifest: Manifest) -> None:
    """manifest.yml is a valid Slack app manifest according to Slack's published schema."""
    assert _errors(validator, manifest) == []


def _drop_command_description(m: Manifest) -> None:
    del m["features"]["slash_commands"][0]["description"]


def _command_without_slash(m: Manifest) -> None:
    m["features"]["slash_commands"][0]["command"] = "zap"


def _request_url_without_scheme(m: Manifest) -> None:
    m["settings"]["event_subscriptions"]["request_url"] = "YOUR-HOST/slack/events"


def _empty_shortcuts(m: Manifest) -> None:
    m["features"]["shortcuts"] = []


def _unknown_settings_key(m: Manifest) -> None:
    m["settings"]["not_a_setting"] = True


def _missing_interactivity_switch(m: Manifest) -> None:
    del m["settings"]["interactivity"]["is_enabled"]


def _name_too_long(m: Manifest) -> None:
    m["display_information"]["name"] = "z" * 36


@pytest.mark.parametrize(
    "break_it",
    [
        _drop_command_description,
        _command_without_slash,
        _request_url_without_scheme,
        _empty_shortcuts,
        _unknown_settings_key,
        _missing_interactivity_switch,
        _name_too_long,
    ],
)
def test_broken_manifest_fails_validation(
    validator: Validator, manifest: Manifest, break_it: Callable[[Manifest], None]
) -> None:
    """Validation can fail: each deliberately broken copy of the manifest is rejected by the schema."""
    broken = copy.deepcopy(manifest)
    break_it(broken)
    assert _errors(validator, broken), f"{break_it.__name__} should make the manifest invalid"


def test_background_color_is_a_hex_colour(schema: dict[str, Any], manifest: Manifest) -> None:
    """The background colour matches the schema's colour rule, which validators skip (spelled `regex`)."""
    rule = schema["definitions"]["app-manifests.v1.display_information.schema"]["properties"][
        "background_color"
    ]
    assert re.fullmatch(rule["regex"], manifest["display_information"]["background_color"])


def test_app_and_bot_user_are_named_zapbot(manifest: Manifest) -> None:
    """The app and its bot user are both called zapbot, and the bot user shows as always online."""
    assert manifest["_metadata"] == {"major_version": 1, "minor_version": 1}
    assert manifest["display_information"]["name"] == "zapbot"
    assert manifest["display_information"]["description"].strip()
    assert manifest["features"]["bot_user"] == {"display_name": "zapbot", "always_online": True}


def test_zap_command_escapes_and_has_usage_hint(manifest: Manifest) -> None:
    """/zap asks Slack to escape mentions and channels (should_escape) and shows a usage hint with `help`."""
    zap = _zap_command(manifest)
    assert zap["should_escape"] is True
    assert zap["description"].strip()
    hint = zap["usage_hint"]
    assert "APP ACTION" in hint
    assert "param=value" in hint
    assert "plain words" in hint
    assert "help" in hint


def test_the_only_shortcut_is_the_global_form(manifest: Manifest) -> None:
    """One global shortcut opens the /zap form; its callback_id is the one the bot listens for."""
    from bot.discovery.form_view import FORM_SHORTCUT as LISTENED_FOR

    [shortcut] = manifest["features"]["shortcuts"]
    assert {k: shortcut[k] for k in FORM_SHORTCUT} == FORM_SHORTCUT
    assert shortcut["callback_id"] == LISTENED_FOR
    assert shortcut["name"].strip() and shortcut["description"].strip()


def test_bot_scopes_are_exactly_the_needed_ones(manifest: Manifest) -> None:
    """The bot asks for exactly commands, app_mentions:read, chat:write, files:write, reactions:read,
    usergroups:read (user groups in the confirmation policy) and channels:history / groups:history (a lost
    post's thread is searched before it is sent again); no user scopes."""
    scopes = manifest["oauth_config"]["scopes"]
    assert sorted(scopes["bot"]) == sorted(BOT_SCOPES)
    assert set(scopes) == {"bot"}


def test_bot_events_are_exactly_the_handled_ones(manifest: Manifest) -> None:
    """The bot subscribes to exactly app_mention, reaction_added and reaction_removed, to app_uninstalled
    and tokens_revoked (which pause its Slack work, bot/slack/access.py), and to app_home_opened (the Home
    tab, bot/slack/listeners/home.py); no user events."""
    events = manifest["settings"]["event_subscriptions"]
    assert sorted(events["bot_events"]) == sorted(BOT_EVENTS)
    assert "user_events" not in events


def test_every_request_url_uses_the_bolt_events_path(manifest: Manifest) -> None:
    """Every request URL (slash command, events, interactivity, menu options) is https://…/slack/events."""
    urls = dict(_urls(manifest))
    assert set(urls) == {
        "features.slash_commands[0].url",
        "settings.event_subscriptions.request_url",
        "settings.interactivity.request_url",
        "settings.interactivity.message_menu_options_url",
    }
    for where, url in urls.items():
        parts = urlsplit(url)
        assert parts.scheme == "https", where
        assert parts.netloc, where
        assert parts.path == EVENTS_PATH, where
        assert not parts.query, where
        assert not parts.fragment, where


def test_app_home_has_the_home_tab_and_a_read_only_messages_tab(manifest: Manifest) -> None:
    """The Home tab is on (zapbot publishes each person's page); the Messages tab is on, for the DMs zapbot
    sends one person (e.g. "connected"), and read-only, since zapbot does not read messages sent to it."""
    assert manifest["features"]["app_home"] == {
        "home_tab_enabled": True,
        "messages_tab_enabled": True,
        "messages_tab_read_only_enabled": True,
    }


def test_settings_describe_an_http_mode_app(manifest: Manifest) -> None:
    """The app runs in HTTP mode: interactivity on; Socket Mode, org deploy and token rotation off."""
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["socket_mode_enabled"] is False
    assert settings["org_deploy_enabled"] is False
    assert settings["token_rotation_enabled"] is False
