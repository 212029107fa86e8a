"""`python -m bench.stand_ins`: the tests' Slack and Zapier stand-ins in a process of their own.

Run apart from the load generator so that neither steals the other's event loop. It talks to the benchmark
over its standard streams, one JSON object per line:

- out, first line: `{"ready": {"slack_api": ..., "response_base": ..., "zapier": ...}}`;
- out, then one line per thing the benchmark times or checks: a `chat.postMessage` (`"e": "post"`, with
  the time it arrived, the channel, the new ts, the thread and the Confirm button's value; `"e": "429"`
  when the realistic stand-in (`--realistic`) refused one over Slack's per-channel limit), a post to a
  response URL (`"e": "reply"`: something only the user sees, which the benchmark's flows never expect,
  so a failure; the key names the request), and a Zapier
  call (`"e": "zap"`, with its operation, the tag the benchmark put in the instructions, the
  execution_log_id, the rating, and when the stand-in received and answered it);
- in: `{"latency": seconds}` (Zapier's delay for each call), `{"clear": true}` (drop what the stand-ins
  recorded, so that a long run does not grow them), `{"cpu": true}` (answers `{"cpu": seconds}`).
  The process stops at the end of its input.

Times are `time.monotonic()`, the same clock in every process on the machine (CLOCK_MONOTONIC).

The Zapier stand-in checks every exchange against the OpenAPI document, which costs about 10-20 ms of CPU
per call (openapi-core): more than the bot spends on a whole command. Here it keeps the first
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
from tests.support.fakes.zapier_server import ContractCheck, FakeZapier, ZapierRequest

TAG = re.compile(r"\(bench (\w+)\)")


def emit(event: dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(event, separators=(",", ":")) + "\n")


class BenchSlack(FakeSlack):
    """FakeSlack that reports each chat.postMessage as it arrives, and each post to a response URL."""

    async def _handle_response_url(self, request: web.Request) -> web.Response:
        response = await super()._handle_response_url(request)
        emit({"e": "reply", "key": request.match_info["key"], "t": time.monotonic()})
        return response

    def _answer(self, method: str, args: dict[str, Any], token: str | None) -> dict[str, Any] | int:
        arrived = time.monotonic()
        answer = super()._answer(method, args, token)
        if method != "chat.postMessage":
            return answer
        if isinstance(answer, int):  # refused with 429 (the realistic stand-in's per-channel limit)
            emit({"e": "429", "t": arrived, "ch": args.get("channel"), "retry_after": answer})
        elif answer.get("ok"):
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


class SampledContract(ContractCheck):
    """The stand-in's contract check on a sample of the exchanges (the first `validate_first` of each
    operation, then one in `validate_every`), deferred until the benchmark asks for the status (between
    phases, untimed): run inline, openapi-core's ~10 ms per exchange made the stand-in, not the bot, the
    bottleneck of a burst (it then spread 1,000 preview calls over 15 s)."""

    def __init__(self, validate_first: int, validate_every: int) -> None:
        super().__init__()
        self._validate_first = validate_first
        self._validate_every = max(1, validate_every)
        self._seen: dict[str, int] = {}
        self._sampled: set[int] = set()  # id() of the records whose exchange is kept for checking
        self._deferred: list[tuple[str, tuple[Any, ...]]] = []
        self.checked = 0

    def request_problems(self, record: ZapierRequest, raw: bytes) -> list[str]:
        seen = self._seen[record.operation] = self._seen.get(record.operation, 0) + 1
        if seen <= self._validate_first or seen % self._validate_every == 0:
            self._sampled.add(id(record))
            self._deferred.append(("request", (record, raw)))
        return []

    def answer_problems(
        self, record: ZapierRequest, raw: bytes, status: int, data: bytes, content_type: str
    ) -> list[str]:
        if id(record) in self._sampled:
            self._sampled.discard(id(record))
            self._deferred.append(("answer", (record, raw, status, data, content_type)))
        return []

    def check_deferred(self) -> list[str]:
        """Check the sampled exchanges now; the problems, as FakeZapier words them in `violations`."""
        deferred, self._deferred = self._deferred, []
        problems: list[str] = []
        for kind, args in deferred:
            if kind == "request":
                self.checked += 1
                record, raw = args
                found = super().request_problems(record, raw)
                problems += [f"{record.method} {record.path}: {p}" for p in found]
            else:
                problems += super().answer_problems(*args)
        return problems


class BenchZapier(FakeZapier):
    """FakeZapier that reports each call with its timing, and checks a sample of calls against the spec
    (`SampledContract`)."""

    def __init__(self, validate_first: int, validate_every: int) -> None:
        super().__init__()
        self.contract = self._contract = SampledContract(validate_first, validate_every)

    def check_deferred(self) -> None:
        self.violations += self.contract.check_deferred()

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
    slack = BenchSlack(realistic=args.realistic)
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
                slack.workspace.messages.clear()
                zapier.requests.clear()
            if command.get("cpu"):
                zapier.check_deferred()
                emit(
                    {
                        "cpu": time.process_time(),
                        "checked": zapier.contract.checked,
                        "violations": zapier.violations,
                    }
                )
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
    parser.add_argument("--realistic", action="store_true", help="the Slack stand-in's realistic mode")
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(serve(args))
    else:
        uvloop.run(serve(args))


if __name__ == "__main__":
    main()
