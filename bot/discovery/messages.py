"""Pure rendering for finding actions: guessed previews with their alternatives, look-up lists, shortcuts.

Like `bot.render.messages`, every string that did not come from the bot is escaped, and Slack's limits
are kept.
"""

from __future__ import annotations

from typing import Any

from bot.actions import ActionRequest, ActionType, Param, ParamMode
from bot.discovery.finder import ActionChoice, AppChoice, Candidates
from bot.discovery.shortcuts import Shortcut
from bot.render.budget import fit
from bot.render.messages import MAX_BLOCKS, Message, clip, entities, escape, flat, preview_message, user
from bot.render.text_safety import reveal
from bot.runs.records import Preview

SWITCH = "zap_switch_"  # + the candidate's index: one action_id per button, as Slack requires in a block
BUTTON_CHARS = 75
LIST_LIMIT = 15  # apps or actions listed in one answer
TEXT_CHARS = 3000
_NEEDS_QUOTES = frozenset('"“”„[!,')  # and any space: what the /zap grammar reads specially

NO_MATCH_HINT = (
    "Try saying what to do and where, naming the app: "
    "`/zap send a Slack message to #general saying the build is green`, "
    "or find the app and action keys with `/zap apps QUERY` and `/zap actions APP`."
)


def _mrkdwn(text: str) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, TEXT_CHARS), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    return fit({"text": clip(text, TEXT_CHARS), "blocks": blocks[:MAX_BLOCKS]})


def _code(text: str) -> str:
    # A `/zap` line people copy: nothing formats inside a code span, so only hidden characters are shown
    # and `&<>` escaped. Backticks cannot be escaped there; a stray one would only end the span early.
    return "`" + entities(reveal(text)).replace("`", "'") + "`"


# /zap lines -----------------------------------------------------------------------------------------
def action_word(action: str, action_type: ActionType) -> str:
    """`send_email`, or `find_email:search` when the type is not the default `write`."""
    return action if action_type is ActionType.WRITE else f"{action}:{action_type.value}"


def command_line(request: ActionRequest) -> str:
    """The `/zap` line that asks for exactly this request (not escaped)."""
    words = [request.app, action_word(request.action, request.action_type)]
    words += [_param_text(key, param) for key, param in request.params.items()]
    if request.instructions:
        words.append(request.instructions)
    return "/zap " + " ".join(words)


def _param_text(key: str, param: Param) -> str:
    value = param.value
    if param.mode is ParamMode.IGNORED:
        return f"{key}=!"
    if isinstance(value, list):
        return f"{key}=[{','.join(_quoted(v) for v in value)}]"
    operator = "~=" if param.mode is ParamMode.GUESS else "="
    return f"{key}{operator}{_quoted(str(value or ''))}"


def _quoted(value: str) -> str:
    if value and not any(c in _NEEDS_QUOTES or c.isspace() for c in value):
        return value
    return f"“{value}”" if '"' in value else f'"{value}"'


# guessed previews -----------------------------------------------------------------------------------
def guessed_preview_message(preview: Preview, candidates: Candidates, *, note: str | None = None) -> Message:
    """The usual preview, plus buttons to switch to the other candidates for the same words."""
    message = preview_message(preview)
    current = candidates.items[candidates.current]
    intro = note or f":mag: *{flat(current.name)}* looked like the best fit for your words."
    mine: list[dict[str, Any]] = [
        _context(f"{intro} Not this? Pick another and the preview changes; nothing runs until confirmed.")
    ]
    others = candidates.others()
    if others:
        mine.append(
            {
                "type": "actions",
                "block_id": "zap_alternatives",
                "elements": [
                    {
                        "type": "button",
                        "text": {"type": "plain_text", "text": clip(reveal(choice.name), BUTTON_CHARS)},
                        "action_id": f"{SWITCH}{index}",
                        "value": f"{preview.id}:{index}",
                    }
                    for index, choice in others
                ],
            }
        )
    else:
        mine = [_context(f"{intro} Check it is the right action before you confirm.")]
    blocks = message["blocks"]
    head, tail = blocks[:-2], blocks[-2:]  # the expiry note and the Confirm/Cancel buttons stay last
    head = head[: MAX_BLOCKS - len(tail) - len(mine)]
    return fit({"text": message["text"], "blocks": [*head, *mine, *tail]})


def switched_note(user_id: str, choice: ActionChoice) -> str:
    return f":twisted_rightwards_arrows: {user(user_id)} switched this preview to *{flat(choice.name)}*."


def no_match_message(text: str) -> Message:
    said = clip(flat(text), 200)
    return _message(
        "No Zapier action fits that",
        [_section(f":shrug: I couldn't find a Zapier action for “{said}”.\n{NO_MATCH_HINT}")],
    )


def alternatives_lines(choices: list[ActionChoice], instructions: str) -> str:
    """Other candidates as runnable `/zap` lines, for when the best one could not be previewed."""
    lines = [
        f"• {flat(c.name)}: "
        + _code(command_line(ActionRequest(c.app, c.action, instructions, c.action_type)))
        for c in choices
    ]
    return "\n".join(lines)


# look-ups -------------------------------------------------------------------------------------------
def apps_message(query: str, apps: list[AppChoice]) -> Message:
    if not apps:
        text = f"No Zapier app matches “{flat(query)}”. Try a shorter or different name."
        return _message("No apps found", [_section(text)])
    blocks = [_section(f"*Apps matching “{clip(flat(query), 100)}”*")]
    for app in apps[:LIST_LIMIT]:
        counts = " · ".join(f"{n} {kind}" for kind, n in app.action_counts.items() if n)
        line = f"*{flat(app.name)}* {_code(app.app)}" + (f" — {escape(counts)} actions" if counts else "")
        if app.description:
            line += f"\n{clip(flat(app.description), 200)}"
        line += f"\nIts actions: {_code(f'/zap actions {app.app}')}"
        blocks.append(_section(line))
    if len(apps) > LIST_LIMIT:
        blocks.append(_context(f"{len(apps) - LIST_LIMIT} more not shown: narrow the search."))
    return _message(f"Apps matching {query}", blocks)


def actions_message(app: str, query: str | None, actions: list[ActionChoice]) -> Message:
    about = f" matching “{clip(flat(query), 100)}”" if query else ""
    if not actions:
        text = f"No actions of {_code(app)}{about}. Check the app key with `/zap apps NAME`."
        return _message("No actions found", [_section(text)])
    blocks = [_section(f"*Actions of {_code(app)}{about}*")]
    for choice in actions[:LIST_LIMIT]:
        line = f"*{flat(choice.name)}* ({choice.action_type.value})"
        if choice.description:
            line += f"\n{clip(flat(choice.description), 200)}"
        run = f"/zap {choice.app} {action_word(choice.action, choice.action_type)}"
        line += f"\n{_code(run)} _then say what to do_"
        blocks.append(_section(line))
    if len(actions) > LIST_LIMIT:
        blocks.append(_context(f"{len(actions) - LIST_LIMIT} more not shown: add words to narrow the list."))
    return _message(f"Actions of {app}", blocks)


def lookup_failed_message(what: str, detail: str) -> Message:
    """`detail` is the bot's own mrkdwn (`describe_failure`, or a response error in the bot's words), whose
    outside parts are escaped already: escaping it again would show `&amp;lt;` and flatten its markup."""
    text = f":warning: I couldn't {escape(what)}: {detail}"
    return _message(f"Could not {what}", [_section(text)])


# shortcuts ------------------------------------------------------------------------------------------
def _saved(shortcut: Shortcut) -> str:
    when = int(shortcut.saved_at)
    return f"saved by {user(shortcut.saved_by)} <!date^{when}^{{date_short}}|on {when}>"


def shortcut_saved_message(shortcut: Shortcut) -> Message:
    name = shortcut.name
    runs = "" if shortcut.request.instructions else " what to do"
    text = (
        f":white_check_mark: Saved the shortcut {_code(name)}: {_code(command_line(shortcut.request))}\n"
        f"Run it with {_code(f'/zap {name}')}{runs}; words you add go after its instructions."
    )
    return _message(f"Saved the shortcut {name}", [_section(text)])


def shortcut_exists_message(name: str, existing: Shortcut | None) -> Message:
    who = f" ({_saved(existing)})" if existing else ""
    text = (
        f":warning: A shortcut called {_code(name)} already exists{who}. "
        f"Pick another name, or `/zap forget {escape(name)}` first."
    )
    return _message(f"{name} already exists", [_section(text)])


def shortcuts_message(shortcuts: list[Shortcut]) -> Message:
    if not shortcuts:
        text = "This workspace has no shortcuts yet. Save one with `/zap save NAME = APP ACTION ...`."
        return _message("No shortcuts", [_section(text)])
    blocks = [_section(f"*Shortcuts of this workspace* ({len(shortcuts)})")]
    lines = [f"{_code(s.name)} → {_code(command_line(s.request))}\n_{_saved(s)}_" for s in shortcuts]
    # A section holds 3,000 characters: group lines so that none is cut and the blocks stay few.
    chunk = ""
    for line in lines:
        if chunk and len(chunk) + len(line) + 1 > TEXT_CHARS - 100:
            blocks.append(_section(chunk))
            chunk = ""
        chunk = f"{chunk}\n{line}" if chunk else line
    blocks.append(_section(chunk))
    blocks.append(
        _context("Run one with `/zap NAME [more instructions]`; remove one with `/zap forget NAME`.")
    )
    return _message("Shortcuts", blocks)


def shortcut_forgotten_message(shortcut: Shortcut) -> Message:
    text = f":wastebasket: Forgot the shortcut {_code(shortcut.name)} ({_saved(shortcut)})."
    return _message(f"Forgot {shortcut.name}", [_section(text)])


def plain(text: str) -> Message:
    """A short message of the bot's own words, with user-supplied parts already escaped by the caller."""
    return _message(text, [_section(text)])
