"""The Web API methods the Slack stand-in answers, each shaped as slack-sdk expects.

``realistic`` adds Slack's rules (NOTES.md): channel membership, the block limits, trigger ids valid 3 s
and once, messages that must exist to be updated. Without it (the polite stand-in) every well-formed call
succeeds, as before. Either way the workspace records what was posted, so threads and files are known.
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable
from typing import Any

from tests.support.fakes.slack_blocks import check_message, check_view
from tests.support.fakes.slack_workspace import Message, UploadedFile, Workspace

BOT_USER_ID = "UBOT"
BOT_ID = "BBOT"
TEAM_ID = "T1"

Answer = dict[str, Any]


class _Timestamps:
    """Slack's message timestamps: its clock's Unix time when the message was stored, in microseconds,
    unique and increasing (conversations.history's ``oldest``/``latest`` compare them with times)."""

    def __init__(self) -> None:
        self._last = 0

    def next_ts(self) -> str:
        self._last = max(int(time.time() * 1_000_000), self._last + 1)
        return f"{self._last // 1_000_000}.{self._last % 1_000_000:06d}"


class WebApi:
    """Answers one Web API method call given its merged arguments."""

    def __init__(self, workspace: Workspace, *, realistic: bool, upload_url: Callable[[str], str]) -> None:
        self.workspace = workspace
        self.realistic = realistic
        self.users_in_group: dict[str, list[str]] = {}
        self._upload_url = upload_url
        self._ts = _Timestamps()
        self._views = 0
        self.answers: dict[str, Callable[[dict[str, Any]], Answer]] = {
            "auth.test": self._auth_test,
            "chat.postMessage": self._post_message,
            "chat.update": self._update,
            "chat.postEphemeral": self._post_ephemeral,
            "chat.getPermalink": self._permalink,
            "conversations.replies": self._replies,
            "conversations.history": self._history,
            "views.open": self._view_with_trigger,
            "views.push": self._view_with_trigger,
            "views.update": self._view,
            "views.publish": self._view,
            "usergroups.users.list": self._group_users,
            "files.getUploadURLExternal": self._upload_url_for,
            "files.completeUploadExternal": self._complete_upload,
            "files.info": self._file_info,
        }

    def answer(self, method: str, args: dict[str, Any]) -> Answer:
        return self.answers[method](args) if method in self.answers else {"ok": True}

    # ---- auth and messages ----------------------------------------------------------------------------

    def _auth_test(self, args: dict[str, Any]) -> Answer:
        return {
            "ok": True,
            "url": "https://test.slack.com/",
            "team": "Test",
            "user": "zapbot",
            "team_id": TEAM_ID,
            "user_id": BOT_USER_ID,
            "bot_id": BOT_ID,
            "is_enterprise_install": False,
        }

    def _refusal(self, channel: str, args: dict[str, Any], *, content: bool = True) -> Answer | None:
        """Slack's error for posting this in ``channel`` (realistic only), else None."""
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not self.realistic:
            return None
        if error := self.workspace.channels.error_for_posting(channel):
            return {"ok": False, "error": error}
        if content and (refusal := check_message(args)):
            return refusal.body()
        return None

    def _post_message(self, args: dict[str, Any]) -> Answer:
        channel = str(args.get("channel", ""))
        if refused := self._refusal(channel, args):
            return refused
        if not any(args.get(k) for k in ("text", "blocks", "attachments")):
            return {"ok": False, "error": "no_text"}
        metadata = args.get("metadata")
        if metadata is not None and self.realistic and not _metadata_well_formed(metadata):
            return {"ok": False, "error": "invalid_metadata_format"}
        ts = self._ts.next_ts()
        self.workspace.messages.append(
            Message(
                channel, ts, BOT_USER_ID, str(args.get("text", "")), _blocks(args), _thread(args),
                metadata=metadata if isinstance(metadata, dict) else None,
            )
        )  # fmt: skip
        content = {k: v for k, v in args.items() if k not in {"channel", "token"}}
        message = {"type": "message", **content, "user": BOT_USER_ID, "bot_id": BOT_ID, "ts": ts}
        return {"ok": True, "channel": channel, "ts": ts, "message": message}

    def _update(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel or not ts:
            return {"ok": False, "error": "message_not_found"}
        if refused := self._refusal(channel, args):
            return refused
        message = self.workspace.find(channel, ts)
        if self.realistic and message is None:
            return {"ok": False, "error": "message_not_found"}
        if self.realistic and message is not None and message.user != BOT_USER_ID:
            return {"ok": False, "error": "cant_update_message"}
        if message is not None:
            message.text, message.blocks = str(args.get("text", message.text)), _blocks(args)
            message.versions += 1
        content = {k: v for k, v in args.items() if k not in {"channel", "token"}}
        return {
            "ok": True,
            "channel": channel,
            "ts": ts,
            "text": args.get("text", ""),
            "message": {"type": "message", **content, "user": BOT_USER_ID, "bot_id": BOT_ID},
        }

    def _post_ephemeral(self, args: dict[str, Any]) -> Answer:
        channel, user = str(args.get("channel", "")), str(args.get("user", ""))
        if refused := self._refusal(channel, args):
            return refused
        if self.realistic and not user:
            return {"ok": False, "error": "user_not_in_channel"}
        ts = self._ts.next_ts()
        self.workspace.add_ephemeral(channel, user, ts, args)
        return {"ok": True, "message_ts": ts}

    def _permalink(self, args: dict[str, Any]) -> Answer:
        channel, ts = str(args.get("channel", "")), str(args.get("message_ts", ""))
        if self.realistic and self.workspace.find(channel, ts) is None:
            return {"ok": False, "error": "message_not_found"}
        link = f"https://test.slack.com/archives/{channel}/p{ts.replace('.', '')}"
        return {"ok": True, "channel": channel, "permalink": link}

    def _replies(self, args: dict[str, Any]) -> Answer:
        """conversations.replies: a thread's root and replies, oldest first, ``limit`` a page (Slack's
        default 1000) with a ``cursor`` to the next; ``metadata`` only with ``include_all_metadata``."""
        channel, ts = str(args.get("channel", "")), str(args.get("ts", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if not ts:
            return {"ok": False, "error": "thread_not_found"}
        if self.realistic and (error := self.workspace.channels.error_for_posting(channel)):
            return {"ok": False, "error": error}
        thread = self.workspace.thread_of(channel, ts)
        if not thread:
            return {"ok": False, "error": "thread_not_found"}
        try:
            start = int(str(args.get("cursor") or "0"))
            limit = int(str(args.get("limit") or "1000"))
        except ValueError:
            return {"ok": False, "error": "invalid_cursor"}
        with_metadata = _flag(args.get("include_all_metadata"))
        page = thread[start : start + max(1, limit)]
        more = start + len(page) < len(thread)
        return {
            "ok": True,
            "messages": [m.as_reply(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "response_metadata": {"next_cursor": str(start + len(page)) if more else ""},
        }

    def _history(self, args: dict[str, Any]) -> Answer:
        """conversations.history: a channel's top-level messages (thread replies are not in it), newest
        first, strictly after ``oldest`` and before ``latest`` (both ends with ``inclusive``), ``limit`` a
        page (default 100, at most 999) with a ``cursor`` to the next; ``metadata`` only with
        ``include_all_metadata``. Malformed times are ``invalid_ts_oldest`` / ``invalid_ts_latest``."""
        channel = str(args.get("channel", ""))
        if not channel:
            return {"ok": False, "error": "channel_not_found"}
        if self.realistic and (error := self.workspace.channels.error_for_reading(channel)):
            return {"ok": False, "error": error}
        oldest, latest = _ts_arg(args.get("oldest"), 0.0), _ts_arg(args.get("latest"), time.time() + 1)
        start, limit = _page_args(args, default_limit=100)
        if oldest is None or latest is None or start is None:
            error = "invalid_ts_oldest" if oldest is None else "invalid_ts_latest" if latest is None else ""
            return {"ok": False, "error": error or "invalid_cursor"}
        inclusive = _flag(args.get("inclusive"))
        listed = [
            m
            for m in self.workspace.messages
            if m.channel == channel
            and not m.is_reply
            and (oldest <= float(m.ts) <= latest if inclusive else oldest < float(m.ts) < latest)
        ]
        listed.sort(key=lambda m: float(m.ts), reverse=True)
        page = listed[start : start + min(999, limit)]
        more = start + len(page) < len(listed)
        with_metadata = _flag(args.get("include_all_metadata"))
        return {
            "ok": True,
            "messages": [m.as_reply(with_metadata=with_metadata) for m in page],
            "has_more": more,
            "pin_count": 0,
            "response_metadata": {"next_cursor": str(start + len(page)) if more else ""},
        }

    # ---- views ----------------------------------------------------------------------------------------

    def _view_with_trigger(self, args: dict[str, Any]) -> Answer:
        if self.realistic and (error := self.workspace.exchange_trigger(str(args.get("trigger_id", "")))):
            return {"ok": False, "error": error}
        return self._view(args)

    def _view(self, args: dict[str, Any]) -> Answer:
        if self.realistic and (refusal := check_view(args.get("view"))):
            return refusal.body()
        self._views += 1
        view = args["view"] if isinstance(args.get("view"), dict) else {}
        view_id = args.get("view_id") or f"V{self._views}"
        return {"ok": True, "view": {**view, "id": view_id, "team_id": TEAM_ID, "hash": f"h{self._views}"}}

    def _group_users(self, args: dict[str, Any]) -> Answer:
        group = args.get("usergroup", "")
        if group not in self.users_in_group:
            return {"ok": False, "error": "no_such_subteam"}
        return {"ok": True, "users": list(self.users_in_group[group])}

    # ---- files v2: getUploadURLExternal, POST the bytes, completeUploadExternal -----------------------

    def _upload_url_for(self, args: dict[str, Any]) -> Answer:
        filename, length = str(args.get("filename", "")), str(args.get("length", ""))
        if not filename or not length.isdigit():
            return {"ok": False, "error": "invalid_arguments"}
        file = self.workspace.new_file(filename, int(length))
        return {"ok": True, "upload_url": self._upload_url(file.id), "file_id": file.id}

    def receive_upload(self, file_id: str, content: bytes) -> bool:
        """The POST of a file's bytes to its upload URL; False for an unknown or finished file."""
        file = self.workspace.files.get(file_id)
        if file is None or file.completed:
            return False
        file.content = content
        return True

    def _complete_upload(self, args: dict[str, Any]) -> Answer:
        listed = args.get("files")
        if isinstance(listed, str):
            try:
                listed = json.loads(listed)
            except ValueError:
                return {"ok": False, "error": "invalid_arguments"}
        if not isinstance(listed, list) or not listed:
            return {"ok": False, "error": "invalid_arguments"}
        channel, thread_ts = str(args.get("channel_id") or ""), str(args.get("thread_ts") or "") or None
        if channel and (refused := self._refusal(channel, args, content=False)):
            return refused
        files: list[UploadedFile] = []
        for item in listed:
            file = self.workspace.files.get(str(item.get("id", ""))) if isinstance(item, dict) else None
            if file is None or file.completed or file.content is None:
                return {"ok": False, "error": "file_not_found"}
            files.append(file)
        for file, item in zip(files, listed, strict=True):
            file.title, file.completed = str(item.get("title") or file.filename), True
            file.channel, file.thread_ts = channel or None, thread_ts
        if channel:
            comment = str(args.get("initial_comment") or "")
            self.workspace.messages.append(
                Message(
                    channel, self._ts.next_ts(), BOT_USER_ID, comment, [], thread_ts, [f.id for f in files]
                )
            )
        return {"ok": True, "files": [{"id": f.id, "title": f.title} for f in files]}

    def _file_info(self, args: dict[str, Any]) -> Answer:
        file = self.workspace.files.get(str(args.get("file", "")))
        if file is None or not file.completed:
            return {"ok": False, "error": "file_not_found"}
        return {"ok": True, "file": file.info(), "content": (file.content or b"").decode("utf-8", "replace")}


def _metadata_well_formed(metadata: Any) -> bool:
    """Slack's shape of message metadata: an ``event_type`` string and an ``event_payload`` object."""
    return (
        isinstance(metadata, dict)
        and isinstance(metadata.get("event_type"), str)
        and bool(metadata["event_type"])
        and isinstance(metadata.get("event_payload"), dict)
    )


def _flag(value: Any) -> bool:
    """A boolean argument as slack-sdk sends it (``true``/``1`` in a form, or JSON ``true``)."""
    return str(value).lower() in {"true", "1"}


def _page_args(args: dict[str, Any], *, default_limit: int) -> tuple[int | None, int]:
    """``cursor`` (None when it is not one this stand-in gave) and ``limit`` (at least 1)."""
    try:
        start = int(str(args.get("cursor") or "0"))
        limit = int(str(args.get("limit") or default_limit))
    except ValueError:
        return None, 1
    return (start if start >= 0 else None), max(1, limit)


def _ts_arg(value: Any, default: float) -> float | None:
    """A message-timestamp argument (``oldest``, ``latest``): a decimal number of seconds, or None when
    it is not one."""
    if value is None or value == "":
        return default
    text = str(value)
    if not re.fullmatch(r"\d{1,12}(\.\d{1,6})?", text):
        return None
    return float(text)


def _thread(args: dict[str, Any]) -> str | None:
    return str(args["thread_ts"]) if args.get("thread_ts") else None


def _blocks(args: dict[str, Any]) -> list[Any]:
    blocks = args.get("blocks")
    return blocks if isinstance(blocks, list) else []
