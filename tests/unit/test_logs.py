"""Logs: secrets redacted wherever they appear, the secrets collected from the settings, and the request
id of its context on each line."""

from __future__ import annotations

import asyncio
import io
import json
import logging

from bot.ops.logs import (
    REDACTED,
    JsonFormatter,
    RequestIdFilter,
    SecretsFilter,
    new_request_id,
    secret_values,
)
from bot.settings import Settings


def json_logger(name: str, secrets: list[str]) -> tuple[logging.Logger, io.StringIO]:
    """A logger writing JSON lines into a buffer through our filters (not the root logger)."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.addFilter(RequestIdFilter())
    handler.addFilter(SecretsFilter(secrets))
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(name)
    logger.handlers = [handler]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, buffer


def test_secrets_are_redacted_wherever_they_appear_in_a_record() -> None:
    """Message, %-args, URL-encoded forms, `extra` fields, exception text: each secret becomes [redacted]."""
    key, token = "zk-Secret/Key+1", "xoxb-123-abc"
    logger, buffer = json_logger("test.redact", [key, token, ""])
    logger.info("calling with %s", key, extra={"header": f"x-api-key: {key}"})
    logger.info("url ?key=zk-Secret%2FKey%2B1 and token " + token)
    try:
        raise RuntimeError(f"boom {token}")
    except RuntimeError:
        logger.exception("failed")
    text = buffer.getvalue()
    assert key not in text and token not in text and "zk-Secret%2FKey%2B1" not in text
    lines = [json.loads(line) for line in text.splitlines()]
    assert lines[0]["message"] == f"calling with {REDACTED}"
    assert lines[0]["header"] == f"x-api-key: {REDACTED}"
    assert lines[1]["message"] == f"url ?key={REDACTED} and token {REDACTED}"
    assert lines[2]["message"] == "failed" and f"RuntimeError: boom {REDACTED}" in lines[2]["exception"]


def test_every_secret_setting_and_a_redis_password_are_collected() -> None:
    """secret_values finds each SecretStr setting and the password of a Redis URL, so none is forgotten."""
    settings = Settings(
        _env_file=None,
        slack_bot_token="xoxb-1",
        slack_signing_secret="sig-2",
        zapier_api_key="zap-3",
        redis_url="redis://:p%40ss@127.0.0.1:6379/0",
    )
    assert set(secret_values(settings)) == {"xoxb-1", "sig-2", "zap-3", "p%40ss", "p@ss"}


def test_a_line_carries_the_request_id_of_its_context() -> None:
    """Inside a request every line has its id; outside any request the id is '-'."""
    logger, buffer = json_logger("test.request_id", [])
    logger.info("outside")

    async def request() -> str:
        request_id = new_request_id()
        await asyncio.create_task(asyncio.sleep(0))  # a task started from here inherits the id
        logger.info("inside")
        return request_id

    request_id = asyncio.run(request())
    first, second = (json.loads(line) for line in buffer.getvalue().splitlines())
    assert first["request_id"] == "-" and second["request_id"] == request_id
