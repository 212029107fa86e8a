"""Logging: JSON lines or readable text, a request id that follows a command, and secrets redacted.

The request id lives in a context variable. The Slack edge sets a fresh one for each request from Slack;
asyncio copies it into every task started from there, so the preview's background work logs the same id.
The preview record stores it, and a Confirm click (on any replica) adopts it once it has loaded the
preview: the command, its preview, the confirm and the result all log one id.

`SecretsFilter` is a safety net under the rule that secrets are never formatted into messages: it replaces
every known secret value (and its URL-encoded form) in each record, exception text included, before any
handler writes it.
"""

from __future__ import annotations

import contextvars
import json
import logging
import random
import sys
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import IO, Any, Literal
from urllib.parse import quote, unquote, urlsplit

from pydantic import BaseModel, SecretStr

LogFormat = Literal["text", "json"]
REDACTED = "[redacted]"
MIN_SECRET_CHARS = 6  # shorter values would redact ordinary words; no real token is that short

_request_id: contextvars.ContextVar[str] = contextvars.ContextVar("zapbot_request_id", default="")

# Attributes every LogRecord has; anything else on a record came from `extra=` and goes into the JSON.
_STANDARD = set(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {"message", "asctime"}
_STANDARD.add("request_id")


# Seeded from os.urandom; request ids need to be distinct, not secret, and this takes no syscall per id.
_ids = random.Random()  # noqa: S311


def new_request_id() -> str:
    """Start a new request: a fresh id for this context (and the tasks it starts). Returns it."""
    request_id = f"{_ids.getrandbits(48):012x}"
    _request_id.set(request_id)
    return request_id


def adopt_request_id(request_id: str) -> None:
    """Carry on a request begun elsewhere (e.g. the command a Confirm click belongs to)."""
    if request_id:
        _request_id.set(request_id)


def current_request_id() -> str:
    return _request_id.get()


class RequestIdFilter(logging.Filter):
    """Puts the current request id on every record, as `request_id` (`-` outside any request)."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = _request_id.get() or "-"
        return True


class SecretsFilter(logging.Filter):
    """Replaces known secret values wherever they appear in a record: message, args, exception, stack."""

    def __init__(self, values: Iterable[str]) -> None:
        super().__init__()
        found = {v for value in values for v in (value, quote(value, safe=""))}
        # Longest first, so a secret that contains another is replaced whole.
        self._values = sorted((v for v in found if len(v) >= MIN_SECRET_CHARS), key=len, reverse=True)

    def redact(self, text: str) -> str:
        for value in self._values:
            if value in text:
                text = text.replace(value, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self._values:
            return True
        try:
            message = record.getMessage()
        except (TypeError, ValueError):  # bad %-args: logging would report it later; keep the raw text
            message = f"{record.msg} {record.args}"
        record.msg, record.args = self.redact(message), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self.redact(record.exc_text)
        if record.stack_info:
            record.stack_info = self.redact(record.stack_info)
        for key in record.__dict__.keys() - _STANDARD:  # the `extra=` fields
            value = getattr(record, key)
            if isinstance(value, str):
                setattr(record, key, self.redact(value))
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, request_id, any `extra=` fields, exception."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD:
                entry[key] = value
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False, default=str)


TEXT_FORMAT = "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"


def redacted_url(url: str) -> str:
    """A URL fit for a log line or a terminal: no user name or password."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname or ''}{port}{parts.path}"


def secret_values(*sources: BaseModel | str) -> list[str]:
    """Every secret in these settings objects (each `SecretStr` field, and any password in a URL field)."""
    values: list[str] = []
    for source in sources:
        if isinstance(source, str):
            values.append(source)
            continue
        for name in type(source).model_fields:
            value = getattr(source, name)
            if isinstance(value, SecretStr):
                values.append(value.get_secret_value())
            elif isinstance(value, str) and "://" in value:
                password = urlsplit(value).password
                if password:
                    values += [password, unquote(password)]
    return [v for v in values if v]


def configure_logging(
    log_format: LogFormat,
    level: str | int = logging.INFO,
    *,
    redact: Iterable[str] = (),
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Send all logging to `stream` (stderr) in `log_format`, with request ids and secrets redacted."""
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretsFilter(redact))
    handler.setFormatter(JsonFormatter() if log_format == "json" else logging.Formatter(TEXT_FORMAT))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    # httpx logs each request at INFO; ours are measured in /metrics, so only its warnings are worth a line.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    return handler


def skip_unlogged_fields() -> None:
    """Stop logging from looking up what neither format shows: the thread and the process (the logging
    HOWTO's "Optimization", through its public switches; the caller's file and line would need a private
    one, and no record is written per request any more at INFO). For the bot's own process only."""
    logging.logThreads = False
    logging.logProcesses = False
    logging.logMultiprocessing = False
