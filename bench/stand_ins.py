"""`python -m bench.stand_ins`: the tests' Slack and Zapier stand-ins in a process of their own.

Run apart from the load generator so that neither steals the other's event loop. It talks to the benchmark
over its standard streams, one JSON object per line:

- out, first line: `{"ready": {"slack_api": ..., "response_base": ..., "zapier": ...}}`;
- out, then one line per thing the benchmark times or checks: a `chat.postMessage` (`"e": "post"`, with
  the time it arrived, the channel, the new ts, the thread and the Confirm button's value), a post to a
  response URL (`"e": "reply"`: something only the user sees, which the benchmark's flows never expect,
  so a failure; the key names the request), and a Zapier
  call (`"e": "zap"`, with its operation, the tag the benchmark put in the instructions, the
  execution_log_id, the rating, and when the stand-in received and answered it);
- in: `{"latency": seconds}` (Zapier's delay for each call), `{"clear": true}` (drop what the stand-ins
  recorded, so that a long run does not grow them), `{"cpu": true}` (answers `{"cpu": seconds}`).
  The process stops at the end of its input.

Times are `time.monotonic()`, the same clock in every process on the machine (CLOCK_MONOTONIC).

The Zapier stand-in checks every exchange against the OpenAPI document, which costs about 20 ms of CPU per
call (openapi-core): more than the bot spends on a whole command. Here it keeps the first
`--validate-first` calls of each operation and then one in `--validate-every`, and checks them when the
benchmark asks for its status (untimed), so that the benchmark measures the bot and not the checker; the
benchmark reports any violation and the run fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
import time
from typing import Any

from aiohttp import web

from tests.support.fakes.slack_server import FakeSlack
from tests.support.fakes.zapier_server import FakeZapier, ZapierRequest, _SpecRequest

TAG = re.compile(r"\(bench (\w+)\)")


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")


class BenchSlack(FakeSlack):
    """FakeSlack that reports each chat.postMessage as it arrives, and each post to a response URL."""

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        response = await super()._handle_response_url(request)
        emit({"e": "reply", "key": request.match_info["key"], "t": time.monotonic()})
        return response

    def _post_message(self, args: dict[str, Any]) -> dict[str, Any]:
        arrived = time.monotonic()
        answer = super()._post_message(args)
        if answer.get("ok"):
            emit(
                {
                    "e": "post",
                    "t": arrived,
                    "ch": args.get("channel"),
                    "ts": answer["ts"],
                    "thread": args.get("thread_ts"),
                    "confirm": _button(args.get("blocks"), "zap_confirm"),
                }
            )
        return answer


class BenchZapier(FakeZapier):
    """FakeZapier that reports each call with its timing, and checks a sample of calls against the spec.

    The check is deferred until the benchmark asks for the status (between phases, untimed): run inline,
    openapi-core's ~20 ms per call would stall every other request to the stand-ins behind it.
    """

    def __init__(self, validate_first: int, validate_every: int) -> None:
        super().__init__()
        self._validate_first = validate_first
        self._validate_every = max(1, validate_every)
        self._seen: dict[str, int] = {}
        self._sampled: set[int] = set()  # id() of the records whose exchange is kept for checking
        self._deferred: list[tuple[str, Any]] = []
        self.checked = 0

    def _request_problems(self, spec_request: _SpecRequest, record: ZapierRequest) -> list[str]:
        seen = self._seen[record.operation] = self._seen.get(record.operation, 0) + 1
        if seen <= self._validate_first or seen % self._validate_every == 0:
            self._sampled.add(id(record))
            self._deferred.append(("request", (spec_request, record)))
        return []

    def _check_response(
        self, spec_request: _SpecRequest, record: ZapierRequest, status: int, data: bytes, content_type: str
    ) -> None:
        if id(record) in self._sampled:
            self._sampled.discard(id(record))
            self._deferred.append(("response", (spec_request, record, status, data, content_type)))

    def check_deferred(self) -> None:
        """Check the sampled exchanges now; problems land in `violations`, as in the tests."""
        deferred, self._deferred = self._deferred, []
        for kind, args in deferred:
            if kind == "request":
                self.checked += 1
                spec_request, record = args
                problems = super()._request_problems(spec_request, record)
                self.violations += [f"{record.method} {record.path}: {p}" for p in problems]
            else:
                super()._check_response(*args)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        arrived = time.monotonic()
        raw = await request.read()  # aiohttp keeps the body: the stand-in reads the same bytes again
        response = await super()._handle(request)
        answered = time.monotonic()
        sent = _json(raw) or {}
        answer = _json(getattr(response, "body", None) or b"") or {}
        tag = TAG.search(str(sent.get("instructions", "")))
        log_id = answer.get("execution_log_id") if isinstance(answer, dict) else None
        emit(
            {
                "e": "zap",
                "op": _operation(request),
                "tag": tag.group(1) if tag else None,
                "log": log_id,
                "rating": request.query.get("rating"),
                "status": response.status,
                "t_in": arrived,
                "t_out": answered,
            }
        )
        return response


def _operation(request: web.Request) -> str:
    if "/rate/" in request.path:
        return "rate"
    return "preview" if request.query.get("preview_only") == "true" else "execute"


def _button(blocks: Any, action_id: str) -> str | None:
    for block in blocks if isinstance(blocks, list) else []:
        for element in block.get("elements", []) if isinstance(block, dict) else []:
            if isinstance(element, dict) and element.get("action_id") == action_id:
                return str(element.get("value"))
    return None


def _json(raw: bytes) -> Any:
    try:
        return json.loads(raw) if raw else None
    except ValueError:
        return None


async def serve(args: argparse.Namespace) -> None:
    slack = BenchSlack()
    zapier = BenchZapier(args.validate_first, args.validate_every)
    zapier.latency = args.latency
    await slack.start()
    await zapier.start()
    emit(
        {
            "ready": {
                "slack_api": slack.api_url,
                "response_base": slack.response_url_base,
                "zapier": zapier.url,
            }
        }
    )
    sys.stdout.flush()
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    flusher = asyncio.create_task(_flush_often())
    try:
        while line := await reader.readline():
            command = json.loads(line)
            if "latency" in command:
                zapier.latency = float(command["latency"])
            if command.get("clear"):
                slack.calls.clear()
                slack.response_posts.clear()
                zapier.requests.clear()
            if command.get("cpu"):
                zapier.check_deferred()
                emit({"cpu": time.process_time(), "checked": zapier.checked, "violations": zapier.violations})
    finally:
        flusher.cancel()
        await slack.stop()
        await zapier.stop()
        sys.stdout.flush()


async def _flush_often() -> None:
    # Lines are buffered and written every few milliseconds, not one write per event.
    while True:
        await asyncio.sleep(0.002)
        sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--latency", type=float, default=1.0)
    parser.add_argument("--validate-first", type=int, default=50)
    parser.add_argument("--validate-every", type=int, default=50)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
