"""Pure rendering: previews, results and errors -> Slack messages (text + Block Kit).

Every string that did not come from the bot itself is escaped here (`&`, `<`, `>`), so nothing a user types
or an action returns can ping `@channel` or break the layout; every size is kept within Slack's limits.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal, cast

from bot.accounts.errors import AccountError
from bot.actions import ActionResult, ParamMode, RunStatus
from bot.approvals.policy import ConfirmBy
from bot.errors import (
    BotError,
    SharedKeyMissing,
    StoreError,
    ZapierAuthError,
    ZapierConnectionError,
    ZapierRateLimited,
    ZapierRejected,
    ZapierResponseError,
    ZapierServerError,
)
from bot.render.budget import BUDGET, PARTIAL_ENTITY, block_text_length, fit
from bot.render.budget import clip as clip  # noqa: PLC0414 - re-exported: other features clip with it
from bot.render.text_safety import code_block_text, has_hidden, neutralise_mrkdwn, reveal
from bot.runs.records import Preview

Message = dict[str, Any]
Stage = Literal["preview", "run"]

CONFIRM = "zap_confirm"
CANCEL = "zap_cancel"
FULL_RESULT = "zap_full_result"
EDIT = "zap_edit"
FEEDBACK = "zap_feedback"

SECTION_CHARS = 3000
FIELD_CHARS = 2000
FIELDS_PER_SECTION = 10
MAX_BLOCKS = 50
TEXT_CHARS = 3000  # the notification text; Slack allows 40,000 but nobody reads that in a notification
VALUE_CHARS = 500  # one shown value; longer ones are shortened and the full result is offered
MAX_RESULTS_SHOWN = 5
FULL_RESULT_CHUNK = 2900

_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")
_GROUP_ID = re.compile(r"^S[A-Z0-9]{1,20}$")

USAGE = """*Usage:* `/zap APP ACTION[:TYPE] [PARAM]... INSTRUCTIONS`
• `TYPE` is `write` (the default), `search`, `read` or `read_bulk`.
• Each `PARAM` sets one of the action's needs: `need=value` uses exactly that value, \
`need~=value` lets the AI find the best match, `need=[a,b,c]` lets it choose one of those, \
`need=!` leaves it empty. Quote a value to hold spaces: `title="Weekly report"`.
• Everything after the params is the instructions, in plain words.
*Examples:*
• `/zap SlackAPI channel_message channel~="#general" Send a joke about pirates delivering pizza`
• `/zap GoogleSheetsV2API add_row spreadsheet~="Leads" Add Ada Lovelace, ada@example.com`
• `/zap GmailV2API find_email:search Find the last email from Bob`
*Don't know the keys?* Just say it: `/zap send a Slack message to #general saying hi`. \
zapbot previews the action that fits best and offers the next ones as buttons.
• `/zap apps QUERY` finds app keys; `/zap actions APP [QUERY]` lists an app's actions.
• `/zap save NAME = APP ACTION ...` saves a shortcut; `/zap NAME [more words]` runs it; \
`/zap shortcuts` lists them; `/zap forget NAME` removes one. `/zap form` opens a form.
*On a preview:* *Confirm* runs exactly what it shows (the channel's policy may ask for more than one \
person, or for someone else than you); *Edit* changes its params; *Cancel* drops it. Previews expire.
*Rate results:* react to a result with :+1: (also :heart:, :tada:, :white_check_mark:…) or :-1: \
(also :x:, :no_entry:…); the vote goes to Zapier with the execution. *Feedback* adds words to it.
• `/zap ratings [APP]` shows how actions have been rated; `/zap audit [N]` the last N steps in this channel \
(who asked, previewed, approved, ran, rated), only to you.
• `/zap connect` links your own Zapier account (where this zapbot allows it); `/zap disconnect` unlinks it.
You will see a preview first; nothing runs until someone clicks *Confirm*."""


def entities(text: str) -> str:
    """Escape the three characters Slack encodes (`&`, `<`, `>`), and nothing else: for text that
    becomes input, as Slack would send it (the console), not for text to show."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def escape(text: str) -> str:
    """Text from outside the bot, made safe to show in mrkdwn: hidden characters shown as `<U+…>`, and
    `&`, `<`, `>` escaped (no mention, no link). Its markup still formats: see `flat` for values."""
    return entities(reveal(text))


def flat(text: str) -> str:
    """A value from outside (instructions, a param, a result, a name, Zapier's words), shown so that its
    markup cannot format it or what follows: `escape`, and delimiters that would format made look-alikes."""
    return entities(neutralise_mrkdwn(reveal(text)))


def code(text: str) -> str:
    """Outside text for the inside of a `code span` or ``` block: only a backtick could end it early."""
    return entities(code_block_text(reveal(text)))


HIDDEN_NOTE = (
    ":warning: *Hidden characters found*: invisible or direction-changing characters are shown as "
    "`&lt;U+…&gt;`. They are sent exactly as they are: check the text before you confirm."
)
HIDDEN_IN_RESULT = ":warning: This result contains hidden characters, shown as `&lt;U+…&gt;`."


def user(user_id: str) -> str:
    """A mention of a Slack user ID that came in a request; anything else is shown as plain text."""
    return f"<@{user_id}>" if _USER_ID.match(user_id) else escape(user_id)


def shown(value: Any) -> str:
    """A resolved param or result value as one line of plain text (not yet escaped)."""
    if isinstance(value, str):
        return value
    if isinstance(value, dict) and "label" in value and "value" in value:
        return f"{value['label']} ({value['value']})"
    return json.dumps(value, ensure_ascii=False, default=str)


def _mrkdwn(text: str, limit: int = SECTION_CHARS) -> dict[str, Any]:
    return {"type": "mrkdwn", "text": clip(text, limit), "verbatim": True}


def _section(text: str) -> dict[str, Any]:
    return {"type": "section", "text": _mrkdwn(text)}


def _context(text: str) -> dict[str, Any]:
    return {"type": "context", "elements": [_mrkdwn(text)]}


def _fields_sections(fields: list[str]) -> list[dict[str, Any]]:
    return [
        {"type": "section", "fields": [_mrkdwn(f, FIELD_CHARS) for f in fields[i : i + FIELDS_PER_SECTION]]}
        for i in range(0, len(fields), FIELDS_PER_SECTION)
    ]


def _message(text: str, blocks: list[dict[str, Any]]) -> Message:
    """A message within every limit of Slack's, its blocks' total (bot/render/budget.py) included."""
    return fit({"text": clip(text, TEXT_CHARS), "blocks": blocks[:MAX_BLOCKS]})


def help_message(problem: str | None = None) -> Message:
    text = (f":warning: {escape(problem)}\n\n" if problem else "") + USAGE
    return _message(problem or "How to use /zap", [_section(text)])


def _title(preview: Preview) -> str:
    request = preview.request
    return f"`{code(request.app)}` · *{flat(preview.result.action_used)}* ({request.action_type.value})"


def preview_has_hidden(preview: Preview) -> bool:
    """Whether anything a preview shows (instructions, keys, values given or resolved, names) holds a
    hidden character."""
    request, result = preview.request, preview.result
    texts = [request.app, request.action, request.instructions, result.action_used]
    texts += [key for key in [*request.params, *result.resolved_params]]
    texts += [shown(param.value) for param in request.params.values()]
    texts += [shown(value) for value in result.resolved_params.values()]
    return any(has_hidden(text) for text in texts)


def _param_lines(preview: Preview) -> list[str]:
    given = preview.request.params
    resolved = preview.result.resolved_params
    lines = []
    for key in list(dict.fromkeys([*given, *resolved])):
        param = given.get(key)
        if param is not None and param.mode is ParamMode.IGNORED:
            lines.append(f"*{flat(key)}*\n_left empty (you asked)_")
            continue
        value = clip(flat(shown(resolved[key])), VALUE_CHARS) if key in resolved else "_not resolved_"
        if param is None:
            origin = "guessed by the AI"
        elif param.mode is ParamMode.LOCKED:
            origin = "given by you"
        elif param.mode is ParamMode.GUESS:
            origin = f"guessed by the AI from “{clip(flat(shown(param.value)), 100)}”"
        else:
            origin = "chosen by the AI from your list"
        lines.append(f"*{flat(key)}*\n{value}\n_{origin}_")
    return lines


def preview_message(preview: Preview, *, closed: str | None = None) -> Message:
    """The preview: who asked, what would run, every param and where it came from, and the buttons."""
    blocks: list[dict[str, Any]] = [
        _section(f"{user(preview.requested_by)} wants to run {_title(preview)}"),
        _section(">>> " + flat(preview.request.instructions)),
    ]
    lines = _param_lines(preview)
    blocks.extend(_fields_sections(lines) if lines else [_context("The AI resolved no params.")])
    if preview_has_hidden(preview):
        blocks.append(_context(HIDDEN_NOTE))
    if closed is None:
        expires = int(preview.expires_at)
        if needs := needs_text(preview):
            blocks.append(_context(needs))
        blocks.append(
            _context(
                f"Preview only: nothing has run yet. Expires <!date^{expires}^{{time}}|in a few minutes>. "
                f"`{code(preview.result.execution_log_id)}`"
            )
        )
        if account := account_text(preview):
            blocks.append(_context(account))
        blocks.append(
            {
                "type": "actions",
                "block_id": "zap_preview",
                "elements": [
                    # The fingerprint of the params shown: a click runs these params or nothing.
                    button("Confirm", CONFIRM, f"{preview.id}:{preview.fingerprint}", style="primary"),
                    button("Edit", EDIT, preview.id),
                    button("Cancel", CANCEL, preview.id),
                ],
            }
        )
    else:
        blocks.append(_context(closed))
    text = f"Preview: {preview.request.app} · {preview.result.action_used}"
    return _message(escape(text), blocks)


def account_text(preview: Preview) -> str:
    """Whose Zapier account will run it (the policy's `run_as`); "" for the shared account."""
    if preview.run_as == "requester":
        return f":bust_in_silhouette: Runs with {user(preview.requested_by)}'s own Zapier account."
    if preview.run_as == "confirmer":
        return ":bust_in_silhouette: Runs with the Zapier account of the person who confirms it."
    return ""


CONNECT_LINK = "zap_connect_link"  # the link button's action id: Slack reports its clicks, which are acked


def connect_button(url: str, text: str = "Connect Zapier") -> dict[str, Any]:
    """A button that opens Zapier's authorize page (Slack still reports the click: ack `CONNECT_LINK`)."""
    return {
        "type": "button",
        "action_id": CONNECT_LINK,
        "text": {"type": "plain_text", "text": text},
        "url": url,
        "style": "primary",
    }


def connect_message(url: str | None, why: str) -> Message:
    """A person must connect (or reconnect) their Zapier account: why, and the button to do it."""
    blocks: list[dict[str, Any]] = [_section(f":link: {why} Nothing was sent to Zapier.")]
    if url:
        link = connect_button(url, "Connect your Zapier account")
        blocks.append({"type": "actions", "block_id": "zap_connect", "elements": [link]})
    return _message(why, blocks)


def button(label: str, action_id: str, value: str, *, style: str | None = None) -> dict[str, Any]:
    """A Block Kit button (the label is the bot's own words)."""
    button: dict[str, Any] = {
        "type": "button",
        "text": {"type": "plain_text", "text": label},
        "action_id": action_id,
        "value": value,
    }
    if style:
        button["style"] = style
    return button


# team confirmation (bot/approvals/policy.py)
# --------------------------------------------------------------------
def group(group_id: str) -> str:
    """A user group, shown as its @handle (Slack notifies its members where the message is posted)."""
    return f"<!subteam^{group_id}>" if _GROUP_ID.match(group_id) else escape(group_id)


def confirmers(confirm_by: ConfirmBy, requester: str) -> str:
    """Who may confirm, in words: "anyone", "<@U1>", "anyone but <@U1>", "<!subteam^S1> or <@U2>"."""
    if confirm_by.kind == "requester":
        return user(requester)
    if confirm_by.kind == "others":
        return f"anyone but {user(requester)}"
    if confirm_by.kind == "listed":
        names = [group(g) for g in confirm_by.groups] + [user(u) for u in confirm_by.users]
        return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]
    return "anyone"


def needs_text(preview: Preview) -> str | None:
    """What a pending preview still needs ("Needs 2 approvals from @ops-team, 1 so far: @ann"), and who
    edited it; None when one click by anyone runs it (no policy) and it was not edited."""
    confirm_by = ConfirmBy.decode(preview.confirm_by)
    needed = preview.approvals_needed
    parts = []
    if confirm_by.kind != "anyone" or needed > 1:
        who = confirmers(confirm_by, preview.requested_by)
        text = f"Needs {needed} approvals from {who}" if needed > 1 else f"Needs a confirmation from {who}"
        if preview.approved_by:
            text += f", {len(preview.approved_by)} so far: " + ", ".join(user(u) for u in preview.approved_by)
        parts.append(f":busts_in_silhouette: {text}.")
    if preview.revision and preview.edited_by:
        parts.append(f":pencil2: Edited by {user(preview.edited_by)}: a new preview, approvals start over.")
    return " ".join(parts) or None


def confirmed_note(user_id: str) -> str:
    return f":white_check_mark: Confirmed by {user(user_id)}"


def cancelled_note(user_id: str) -> str:
    return f":x: Cancelled by {user(user_id)}. Nothing was run."


def expired_note() -> str:
    return ":hourglass: Expired. Nothing was run; send the command again to get a new preview."


def not_posted_note() -> str:
    """On a preview that landed though Slack never confirmed it: its requester was told it was not posted."""
    return ":warning: Slack did not confirm this post, so it was taken as not posted. Nothing was run."


# results -------------------------------------------------------------------------------------------
_STATUS_LINE = {
    RunStatus.SUCCESS: ":white_check_mark: *{action}* ran: `success`",
    RunStatus.EMPTY: ":mag: *{action}* ran and found nothing: `empty`",
    RunStatus.ERROR: ":warning: *{action}* failed: `error`",
}


def result_message(preview: Preview, result: ActionResult, *, fallback_reason: str | None = None) -> Message:
    """The outcome of a confirmed run, as a reply in the preview's thread (see `fitted_result_message`)."""
    return fitted_result_message(preview, result, fallback_reason=fallback_reason)[0]


def fitted_result_message(
    preview: Preview, result: ActionResult, *, fallback_reason: str | None = None
) -> tuple[Message, bool]:
    """The outcome of a confirmed run, and whether records or fields were left out to keep it within
    Slack's total (bot/render/budget.py): then it says so, and the whole result must go into the thread as
    a file (`full_result_text`). Values cut to `VALUE_CHARS` or results past `MAX_RESULTS_SHOWN` are one
    "Show full result" click away, as always."""
    action = flat(result.action_used or preview.result.action_used)
    line = _STATUS_LINE.get(result.status, ":warning: *{action}* did not run as expected: `{status}`")
    head = [_section(line.format(action=action, status=code(result.status.value)))]
    if result.error:
        head.append(_section("Zapier says: " + flat(result.error)))
    if fallback_reason:
        head.append(_context(":information_source: " + escape(fallback_reason)))
    shortened = False
    records: list[dict[str, Any]] = []
    for index, item in enumerate(result.results[:MAX_RESULTS_SHOWN]):
        fields, cut = _result_fields(item, result.result_field_labels)
        shortened = shortened or cut
        if len(result.results) > 1:
            records.append(_context(f"Result {index + 1} of {len(result.results)}"))
        records.extend(_fields_sections(fields[: FIELDS_PER_SECTION * 2]))
        shortened = shortened or len(fields) > FIELDS_PER_SECTION * 2
    shortened = shortened or len(result.results) > MAX_RESULTS_SHOWN
    if _result_has_hidden(result):
        head.append(_context(HIDDEN_IN_RESULT))
    footer = f"execution_log_id `{code(result.execution_log_id)}`{RATE_HINT}"
    # Feedback on every result: its text goes to Zapier with the rating (bot.slack.listeners.feedback).
    feedback = button("Feedback", FEEDBACK, result.execution_log_id[:2000])
    full = button("Show full result", FULL_RESULT, result.execution_log_id[:2000])
    actions = {"type": "actions", "block_id": "zap_result", "elements": [full, feedback]}
    tail: list[dict[str, Any]] = [actions, _context(footer)]
    kept, left_out = _within_budget(head, records, tail)
    if left_out:
        kept.append(_context(CUT_NOTE))
    elif not shortened:  # all of it is shown
        actions["elements"] = [feedback]
    blocks = kept + tail
    text = f"{result.action_used or preview.result.action_used}: {result.status.value}"
    return _message(escape(text), blocks), bool(left_out)


CUT_NOTE = (
    ":scissors: Only part of this result fits in one Slack message. The whole result is attached to this "
    "thread as a file, and *Show full result* sends it to you."
)
RATE_HINT = " · react :+1: or :-1: to rate this result"
TOO_BIG_NOTE = "The result is too big to show here: the whole of it is attached to this thread as a file."
# The same notes in the private copy of an outcome the channel refused (`undelivered_message`): a DM has
# no such thread, and a reaction on a DM rates nothing.
PRIVATE_NOTES = {
    CUT_NOTE: (
        ":scissors: Only part of this result fits in one Slack message: *Show full result* sends you "
        "the whole of it."
    ),
    TOO_BIG_NOTE: "The result is too big to show here: *Show full result* sends you the whole of it.",
    RATE_HINT: "",
}


def _within_budget(
    head: list[dict[str, Any]], records: list[dict[str, Any]], tail: list[dict[str, Any]]
) -> tuple[list[dict[str, Any]], int]:
    """`head` and as many of the `records` blocks, in order, as fit Slack's block count and the total with
    `tail` (and, if any are left out, the note that says so); returns them and how many were left out."""
    if len(head) + len(records) + len(tail) <= MAX_BLOCKS and (
        block_text_length([*head, *records, *tail]) <= BUDGET
    ):
        return [*head, *records], 0
    room = BUDGET - block_text_length([*head, *tail, _context(CUT_NOTE)])
    slots = MAX_BLOCKS - len(head) - len(tail) - 1
    kept = list(head)
    for block in records[: max(0, slots)]:
        size = block_text_length(block)
        if size > room:
            break
        kept.append(block)
        room -= size
    if len(kept) > len(head) and kept[-1]["type"] == "context":  # a "Result 3 of 5" with nothing after it
        kept.pop()
    return kept, len(records) - (len(kept) - len(head))


def _result_has_hidden(result: ActionResult) -> bool:
    texts = [result.action_used, result.error or ""]
    texts += [f"{key}{shown(value)}" for item in result.results for key, value in item.items()]
    return any(has_hidden(text) for text in texts)


def _result_fields(item: dict[str, Any], labels: dict[str, str]) -> tuple[list[str], bool]:
    fields, cut = [], False
    for key, value in item.items():
        text = flat(shown(value))
        cut = cut or len(text) > VALUE_CHARS
        label = flat(labels.get(key) or key)
        fields.append(f"*{clip(label, 100)}*\n{clip(text, VALUE_CHARS)}")
    return fields, cut


def pretty_json(result_json: str) -> str:
    """The stored result, indented for people (the file attached when it is too long for messages)."""
    return json.dumps(json.loads(result_json), indent=2, ensure_ascii=False)


def full_result_text(result: ActionResult) -> str:
    """A run's whole result as the file attached to its thread when the message cannot hold it."""
    return json.dumps(result.results, indent=2, ensure_ascii=False, default=str)


def full_result_messages(result_json: str) -> list[Message]:
    """The whole result, pretty-printed in code blocks, split across as many messages as it takes."""
    raw = json.dumps(json.loads(result_json), indent=2, ensure_ascii=False)
    # Inside a code block nothing formats but a backtick fence; hidden characters are shown as usual.
    pretty = entities(code_block_text(reveal(raw)))
    chunks = [pretty[i : i + FULL_RESULT_CHUNK] for i in range(0, len(pretty), FULL_RESULT_CHUNK)] or [""]
    # Cut only on chunk boundaries that do not split an entity: move the split back before any '&'.
    fixed: list[str] = []
    carry = ""
    for piece in chunks:
        chunk = carry + piece
        match = PARTIAL_ENTITY.search(chunk)
        carry = chunk[match.start() :] if match else ""
        fixed.append(chunk[: match.start()] if match else chunk)
    if carry:
        fixed.append(carry)
    # Each message within Slack's total as well (bot/render/budget.py): a response_url may be held to it too.
    messages: list[Message] = []
    blocks: list[dict[str, Any]] = []
    for chunk in fixed:
        block = _section(f"```{chunk}```")
        if blocks and block_text_length([*blocks, block]) > BUDGET:
            messages.append(_message("Full result", blocks))
            blocks = []
        blocks.append(block)
    messages.append(_message("Full result", blocks))
    return messages


# failures ------------------------------------------------------------------------------------------
def describe_failure(error: BotError, stage: Stage) -> str:  # noqa: PLR0911 - one answer per kind
    """What went wrong, in words a user can act on. Never a stack trace, never a secret."""
    ran = "Nothing was run." if stage == "preview" else ""
    unknown = (
        "The outcome is unknown: the action may or may not have run. Check in the app before you try again."
    )
    if isinstance(error, ZapierAuthError) and error.personal:
        return (
            "Zapier refused the Zapier account this runs with, even after renewing its access. Nothing was "
            "run; connect it again with `/zap connect`, then try again."
        )
    if isinstance(error, ZapierAuthError):
        return "Zapier rejected zapbot's API key. Nothing was run; an admin needs to check `ZAPIER_API_KEY`."
    if isinstance(error, ZapierRejected):
        detail = f" ({flat(error.detail)})" if error.detail else ""
        return f"Zapier refused the request: {flat(error.error)}{detail}. Nothing was run."
    if isinstance(error, ZapierRateLimited):
        return f"Zapier is rate-limiting zapbot. {ran or unknown} Try again in a minute."
    if isinstance(error, ZapierConnectionError):
        what = "did not answer in time" if error.timed_out else "could not be reached"
        return f"Zapier {what}. {ran or unknown}"
    if isinstance(error, ZapierServerError):
        return f"Zapier had an internal error (HTTP {error.status_code}). {ran or unknown}"
    if isinstance(error, ZapierResponseError):
        return f"Zapier's answer could not be read. {ran or unknown}"
    if isinstance(error, SharedKeyMissing):
        return (
            "This action runs with zapbot's shared Zapier account (`run_as: shared` in the policy), but this "
            "zapbot has no shared key. Nothing was sent to Zapier; an admin needs to set `ZAPIER_API_KEY` "
            "or change `run_as` in the policy file."
        )
    if isinstance(error, AccountError):
        return (
            f"zapbot could not use the Zapier account this runs with ({escape(str(error))}). "
            "Nothing was sent to Zapier; connect it with `/zap connect`, then try again."
        )
    if isinstance(error, StoreError):
        return "zapbot is temporarily unavailable (its database did not answer). Nothing was run; try later."
    return f"Something went wrong. {ran or unknown}"


def failure_message(title: str, error: BotError, stage: Stage) -> Message:
    text = f":warning: *{flat(title)}*\n{describe_failure(error, stage)}"
    return _message(escape(f"{title}: failed"), [_section(text)])


# What to tell a person when Slack refuses to post where they asked, by Slack's error code.
_POST_ERRORS = {
    "not_in_channel": "I'm not a member of this channel. Invite me with `/invite @zapbot`, then try again.",
    "channel_not_found": (
        "I can't post in this conversation (a DM or a private channel I'm not in). "
        "Invite me with `/invite @zapbot`, or use `/zap` in a channel I'm in."
    ),
    "is_archived": "This channel is archived, so I can't post in it.",
    "msg_too_long": "The message was too long for Slack.",
    "ratelimited": (
        "Slack is taking messages in this channel slower than they come, and the preview could not be "
        "posted before it expired. Send the command again in a little while."
    ),
    "restricted_action": "A workspace setting stops me from posting here.",
}


LOST_PREVIEW = (
    "Slack did not confirm that your preview was posted, and I could not find it in the channel, so it "
    "was taken as not posted (if a copy shows up, it cannot be used)."
)


def delivery_problem(error_code: str) -> str:
    """Why a message could not be posted, in words a person can act on (`error_code`: Slack's)."""
    return _POST_ERRORS.get(error_code, f"Slack refused the message (`{code(error_code)}`).")


def notice_message(text: str) -> Message:
    """A short message of the bot's own words (already safe markup)."""
    return _message(text, [_section(text)])


# outcomes the bot cannot show in full, or cannot know -------------------------------------------------
CHECK_WHERE = (
    "Check the app it acts on (or your Zapier AI Actions history) before you try again: "
    "running it twice may do it twice."
)


def outcome_unknown_message(preview: Preview, why: str, execution_log_id: str = "") -> Message:
    """A run whose outcome the bot cannot know: it may or may not have run. Never "nothing was run"."""
    action = flat(preview.result.action_used or f"{preview.request.app} {preview.request.action}")
    log_id = execution_log_id or preview.result.execution_log_id
    lines = [
        f":grey_question: *{action}*: outcome unknown. {why}",
        f"The action may or may not have run. {CHECK_WHERE}",
    ]
    blocks = [_section("\n".join(lines)), _context(f"execution_log_id `{code(log_id)}`")]
    return _message(escape(f"{preview.result.action_used}: outcome unknown"), blocks)


def short_outcome_message(preview: Preview, result: ActionResult) -> Message:
    """The outcome when its full message is too big for Slack: the status, the run's own
    execution_log_id, and the whole result one click away."""
    action = flat(result.action_used or preview.result.action_used)
    line = _STATUS_LINE.get(result.status, ":warning: *{action}* did not run as expected: `{status}`")
    text = line.format(action=action, status=code(result.status.value))
    note = TOO_BIG_NOTE
    full = button("Show full result", FULL_RESULT, result.execution_log_id[:2000])
    blocks = [
        _section(f"{text}\n{note}"),
        {"type": "actions", "block_id": "zap_result", "elements": [full]},
        _context(f"execution_log_id `{code(result.execution_log_id)}`"),
    ]
    return _message(
        escape(f"{result.action_used or preview.result.action_used}: {result.status.value}"), blocks
    )


def undelivered_message(preview: Preview, outcome: Message) -> Message:
    """Told privately to the requester and the confirmer when the channel refused the outcome for good."""
    where = f"<#{preview.channel}>" if preview.channel else "the channel"
    head = _section(
        f":warning: I could not post the outcome of *{flat(preview.request.app)} "
        f"{flat(preview.request.action)}* in {where} (I may have been removed from it). Here it is:"
    )
    blocks = [head, *[_privately(b) for b in outcome.get("blocks", [])]]
    kept = [b for b in blocks if b is not None][:MAX_BLOCKS]
    return _message(f"Outcome not posted in the channel: {outcome.get('text', '')}", kept)


def _privately(block: dict[str, Any]) -> dict[str, Any] | None:
    """A block of a channel's outcome as its private copy shows it: notes that name the thread, its file
    or reactions say what is true in a DM; of the buttons only "Show full result" (it answers wherever it
    is clicked) is kept."""
    if block.get("type") == "actions":
        kept = [e for e in block.get("elements", []) if e.get("action_id") == FULL_RESULT]
        return {**block, "elements": kept} if kept else None
    return cast(dict[str, Any], _say_privately(block))


def _say_privately(value: Any) -> Any:
    if isinstance(value, str):
        for said, instead in PRIVATE_NOTES.items():
            value = value.replace(said, instead)
        return value
    if isinstance(value, dict):
        return {k: _say_privately(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_say_privately(v) for v in value]
    return value
