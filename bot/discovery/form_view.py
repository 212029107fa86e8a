"""The `/zap form` modal, pure: the view, the options its menus offer, and reading what was submitted.

Slack's menus of external data ask us for options as people type (block_suggestion), but such a request does
not reliably carry what was chosen in the modal's other menus. So choosing an app updates the view (the app
menu dispatches an action) and the action menu's block_id then names the app: `action:SlackAPI`. The
request for action options reads the app from there, and the submission checks that both agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from bot.actions import ActionRequest, ActionType, Param, ParamMode
from bot.discovery.finder import ActionChoice, AppChoice
from bot.discovery.grammar import MAX_PARAMS, MAX_VALUE_CHARS, is_app_key
from bot.render.messages import clip
from bot.render.text_safety import reveal

FORM_SHORTCUT = "zap_form"  # the global shortcut's callback_id (manifest.yml)
FORM_SUBMIT = "zap_form_submit"  # the modal's callback_id
APP_SELECT = "zap_form_app"
ACTION_SELECT = "zap_form_action"
TYPE_SELECT = "zap_form_type"
INSTRUCTIONS_INPUT = "zap_form_instructions"
PARAMS_INPUT = "zap_form_params"
CHANNEL_SELECT = "zap_form_channel"

APP_BLOCK = "app"
ACTION_BLOCK = "action"  # alone before an app is chosen; `action:{app}` after
TYPE_BLOCK = "type"
INSTRUCTIONS_BLOCK = "instructions"
PARAMS_BLOCK = "params"
CHANNEL_BLOCK = "channel"

OPTION_TEXT_CHARS = 75
OPTION_VALUE_CHARS = 150
MAX_OPTIONS = 100
_PARAM_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.\-]*$")  # as in the /zap grammar
INSTRUCTIONS_CHARS = 3000
PARAMS_CHARS = 3000


@dataclass(frozen=True)
class FormPlace:
    """Where the preview goes: the channel (and thread) the form was opened from, if any."""

    channel: str | None = None
    thread_ts: str | None = None

    def to_metadata(self) -> str:
        return json.dumps({k: v for k, v in (("channel", self.channel), ("thread_ts", self.thread_ts)) if v})

    @classmethod
    def from_metadata(cls, text: str) -> FormPlace:
        try:
            data = json.loads(text or "{}")
        except ValueError:
            return cls()
        if not isinstance(data, dict):
            return cls()
        channel, thread_ts = data.get("channel"), data.get("thread_ts")
        return cls(
            channel if isinstance(channel, str) and channel else None,
            thread_ts if isinstance(thread_ts, str) and thread_ts else None,
        )


def _text(text: str) -> dict[str, Any]:
    return {"type": "plain_text", "text": text}


def _option(text: str, value: str) -> dict[str, Any]:
    # App and action names come from Zapier: their hidden characters are shown (bot.render.text_safety).
    return {"text": _text(clip(reveal(text), OPTION_TEXT_CHARS)), "value": value}


def form_view(place: FormPlace, *, app: str | None = None, app_name: str | None = None) -> dict[str, Any]:
    """The modal; with `app`, the action menu lists that app's actions."""
    app_select: dict[str, Any] = {
        "type": "external_select",
        "action_id": APP_SELECT,
        "placeholder": _text("Type to search Zapier apps"),
        "min_query_length": 2,
    }
    if app:
        app_select["initial_option"] = _option(f"{app_name or app} ({app})", app)
    action_label = f"Action of {app_name or app}" if app else "Action"
    blocks: list[dict[str, Any]] = [
        {
            "type": "input",
            "block_id": APP_BLOCK,
            "dispatch_action": True,  # choosing an app updates the view, so the action menu knows it
            "label": _text("App"),
            "element": app_select,
        },
        {
            "type": "input",
            "block_id": f"{ACTION_BLOCK}:{app}" if app else ACTION_BLOCK,
            "label": _text(clip(action_label, 200)),
            "element": {
                "type": "external_select",
                "action_id": ACTION_SELECT,
                "placeholder": _text("Search the app's actions" if app else "Choose an app first"),
                "min_query_length": 0,
            },
        },
        {
            "type": "input",
            "block_id": TYPE_BLOCK,
            "optional": True,
            "label": _text("Action type"),
            "hint": _text("Leave empty to use the chosen action's own type."),
            "element": {
                "type": "static_select",
                "action_id": TYPE_SELECT,
                "placeholder": _text("The action's own type"),
                "options": [_option(t.value, t.value) for t in ActionType],
            },
        },
        {
            "type": "input",
            "block_id": INSTRUCTIONS_BLOCK,
            "label": _text("Instructions"),
            "element": {
                "type": "plain_text_input",
                "action_id": INSTRUCTIONS_INPUT,
                "multiline": True,
                "max_length": INSTRUCTIONS_CHARS,
                "placeholder": _text("Say in plain words what the action should do"),
            },
        },
        {
            "type": "input",
            "block_id": PARAMS_BLOCK,
            "optional": True,
            "label": _text("Fixed values (optional)"),
            "hint": _text("One per line, as need=value: the action uses exactly these values."),
            "element": {
                "type": "plain_text_input",
                "action_id": PARAMS_INPUT,
                "multiline": True,
                "max_length": PARAMS_CHARS,
                "placeholder": _text("channel=C0123456789"),
            },
        },
    ]
    if place.channel is None:
        blocks.append(
            {
                "type": "input",
                "block_id": CHANNEL_BLOCK,
                "label": _text("Post the preview in"),
                "element": {
                    "type": "conversations_select",
                    "action_id": CHANNEL_SELECT,
                    "default_to_current_conversation": True,
                    "filter": {"include": ["public", "private"], "exclude_bot_users": True},
                },
            }
        )
    return {
        "type": "modal",
        "callback_id": FORM_SUBMIT,
        "title": _text("Run a Zapier action"),
        "submit": _text("Preview"),
        "close": _text("Cancel"),
        "private_metadata": place.to_metadata(),
        "blocks": blocks,
    }


def app_options(apps: list[AppChoice]) -> list[dict[str, Any]]:
    return [_option(f"{a.name} ({a.app})", a.app) for a in apps if len(a.app) <= OPTION_VALUE_CHARS][
        :MAX_OPTIONS
    ]


def action_options(actions: list[ActionChoice]) -> list[dict[str, Any]]:
    options = []
    for choice in actions:
        value = f"{choice.action}:{choice.action_type.value}"
        if len(value) <= OPTION_VALUE_CHARS:
            options.append(_option(f"{choice.name} ({choice.action_type.value})", value))
    return options[:MAX_OPTIONS]


def app_of_action_block(block_id: str) -> str | None:
    """The app an action menu belongs to, from its block_id (`action:SlackAPI`)."""
    head, _, app = block_id.partition(":")
    return app if head == ACTION_BLOCK and app else None


@dataclass(frozen=True)
class Submitted:
    request: ActionRequest
    place: FormPlace


def read_submission(values: dict[str, Any], place: FormPlace) -> Submitted | dict[str, str]:
    """The request the form asks for, or errors by block_id for Slack to show next to the fields."""
    errors: dict[str, str] = {}
    app = _selected(values, APP_BLOCK, APP_SELECT)
    if not app or not is_app_key(app):
        errors[APP_BLOCK] = "Choose an app from the list."
    action_block = next((b for b in values if b == ACTION_BLOCK or b.startswith(ACTION_BLOCK + ":")), "")
    action_value = _selected(values, action_block, ACTION_SELECT) if action_block else None
    action, _, type_name = (action_value or "").partition(":")
    if not action:
        errors[action_block or ACTION_BLOCK] = "Choose an action from the list."
    elif app and app_of_action_block(action_block) != app:
        errors[action_block] = "The app changed: choose the action again."
    chosen_type = _selected(values, TYPE_BLOCK, TYPE_SELECT) or type_name or ActionType.WRITE.value
    try:
        action_type = ActionType(chosen_type)
    except ValueError:
        errors[TYPE_BLOCK] = "Choose one of the types in the list."
        action_type = ActionType.WRITE
    instructions = (_typed(values, INSTRUCTIONS_BLOCK, INSTRUCTIONS_INPUT) or "").strip()
    if not instructions:
        errors[INSTRUCTIONS_BLOCK] = "Say in words what the action should do."
    params, problem = read_params(_typed(values, PARAMS_BLOCK, PARAMS_INPUT) or "")
    if problem:
        errors[PARAMS_BLOCK] = problem
    channel = place.channel or _conversation(values)
    if not channel:
        errors[CHANNEL_BLOCK] = "Choose where to post the preview."
    if errors or not app or not channel:
        return errors or {APP_BLOCK: "Choose an app from the list."}
    request = ActionRequest(app, action, instructions, action_type, params)
    return Submitted(request, FormPlace(channel, place.thread_ts))


def read_params(text: str) -> tuple[dict[str, Param], str | None]:
    """`need=value` lines -> locked params, or the first problem found."""
    params: dict[str, Param] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        key, equals, value = line.partition("=")
        key, value = key.strip(), value.strip()
        if not equals or not key or not value:
            return {}, f"Line {number}: write need=value."
        if not _PARAM_KEY.match(key):
            return {}, f"Line {number}: `{clip(key, 40)}` is not a need's key (like channel or title)."
        if key in params:
            return {}, f"Line {number}: {clip(key, 40)} is given twice."
        if len(value) > MAX_VALUE_CHARS:
            return {}, f"Line {number}: the value is longer than {MAX_VALUE_CHARS:,} characters."
        params[key] = Param(ParamMode.LOCKED, value)
        if len(params) > MAX_PARAMS:
            return {}, f"At most {MAX_PARAMS} values."
    return params, None


def _state(values: dict[str, Any], block: str, action_id: str) -> dict[str, Any]:
    found = (values.get(block) or {}).get(action_id)
    return found if isinstance(found, dict) else {}


def _selected(values: dict[str, Any], block: str, action_id: str) -> str | None:
    option = _state(values, block, action_id).get("selected_option")
    value = option.get("value") if isinstance(option, dict) else None
    return value if isinstance(value, str) and value else None


def _typed(values: dict[str, Any], block: str, action_id: str) -> str | None:
    value = _state(values, block, action_id).get("value")
    return value if isinstance(value, str) else None


def _conversation(values: dict[str, Any]) -> str | None:
    value = _state(values, CHANNEL_BLOCK, CHANNEL_SELECT).get("selected_conversation")
    return value if isinstance(value, str) and value else None
