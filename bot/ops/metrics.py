"""Every Prometheus metric the bot exports, defined in one place on a registry of its own.

Each `Metrics` owns a `CollectorRegistry` (never prometheus-client's global one), so several apps in one
process, as in the tests, count separately. `GET /metrics` renders `registry`.

    zapbot_commands_total{kind}                      /zap commands and @mentions, by what they asked for:
                                                     run, help, usage_error, subcommand, busy
    zapbot_previews_total{outcome}                   previews asked of Zapier: shown, refused, failed
    zapbot_confirmations_total{decision,outcome}     Confirm/Cancel clicks (decision: confirm, cancel) by
                                                     outcome: claimed, or why not (running, done, cancelled,
                                                     expired, expired_now, unknown, failed)
    zapbot_executions_total{status}                  confirmed runs by Zapier's status (success, error,
                                                     empty, ...) or `failed` when no status came back
    zapbot_ratings_total{vote,change}                rating reactions (vote: up, down; change: added,
                                                     removed), counted by the ratings feature via `rating()`
    zapbot_rating_deliveries_skipped_total{reason}   ratings kept but not sent, as the account that ran the
                                                     execution cannot be used: disconnected, reconnect,
                                                     no_shared_key, accounts_off (bot/ratings/delivery.py)
    zapbot_home_refreshes_total{outcome}             Home tabs to re-publish after a preview changed:
                                                     queued, coalesced, over_bound (bot/home/refresh.py)
    zapbot_zapier_request_seconds{operation}         Zapier HTTP latency (histogram), one per attempt
    zapbot_zapier_errors_total{operation,error}      failed attempts: http_<status>, timeout, connection
    zapbot_slack_request_seconds{method}             Slack Web API (and response_url) latency (histogram)
    zapbot_slack_errors_total{method,error}          failed Slack calls: Slack's error code or the exception
    zapbot_background_tasks_in_flight                work started after an ack and not yet finished
    zapbot_busy_total{surface}                       work refused at a limit (the person was told):
                                                     command, mention, click, flood (over the
                                                     per-person or per-channel request limit)
    zapbot_outbox_total{outcome}                     outbox sends: delivered, retried, rate_limited,
                                                     undeliverable, given_up, found_posted (a post
                                                     whose answer was lost, found in its thread)
    zapbot_runs_ended_unknown_total{reason}          runs ended as `unknown`: stopped, unreadable, error
    zapbot_slack_token_revoked                       1 while Slack refuses the bot token (uninstalled,
                                                     revoked: bot/slack/access.py), else 0
    process_* (resident memory, CPU, open fds)       from prometheus-client's ProcessCollector

Label values are always from small fixed sets (never user text, ids or URLs): the series count stays bounded.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Protocol

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.exposition import choose_encoder
from prometheus_client.process_collector import ProcessCollector

# Zapier gives an action ~30 s plus AI time, and our read timeout is 90 s: buckets reach past both.
ZAPIER_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 30.0, 45.0, 60.0, 90.0, 120.0)
SLACK_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class InFlight(Protocol):
    @property
    def in_flight(self) -> int: ...


class Metrics:
    """The bot's metrics on their own registry. Cheap to create; one per running app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.commands = Counter("zapbot_commands", "/zap commands and mentions by kind", ["kind"], registry=r)
        self.previews = Counter("zapbot_previews", "Previews asked of Zapier", ["outcome"], registry=r)
        self.confirmations = Counter(
            "zapbot_confirmations", "Confirm/Cancel clicks by outcome", ["decision", "outcome"], registry=r
        )
        self.executions = Counter("zapbot_executions", "Confirmed runs by status", ["status"], registry=r)
        self.ratings = Counter("zapbot_ratings", "Rating reactions", ["vote", "change"], registry=r)
        self.ratings_skipped = Counter(
            "zapbot_rating_deliveries_skipped",
            "Ratings not sent: the account that ran the execution cannot be used",
            ["reason"],
            registry=r,
        )
        self.home_refreshes = Counter(
            "zapbot_home_refreshes", "Home tabs re-published after a preview changed", ["outcome"], registry=r
        )
        self.zapier_seconds = Histogram(
            "zapbot_zapier_request_seconds",
            "Zapier API request latency",
            ["operation"],
            buckets=ZAPIER_BUCKETS,
            registry=r,
        )
        self.zapier_errors = Counter(
            "zapbot_zapier_errors", "Failed Zapier API requests", ["operation", "error"], registry=r
        )
        self.slack_seconds = Histogram(
            "zapbot_slack_request_seconds",
            "Slack API request latency",
            ["method"],
            buckets=SLACK_BUCKETS,
            registry=r,
        )
        self.slack_errors = Counter(
            "zapbot_slack_errors", "Failed Slack calls", ["method", "error"], registry=r
        )
        self.tasks_in_flight = Gauge(
            "zapbot_background_tasks_in_flight", "Background tasks started and not yet finished", registry=r
        )
        self.busy = Counter("zapbot_busy", "Work refused at a limit, by surface", ["surface"], registry=r)
        self.outbox_sends = Counter("zapbot_outbox", "Outbox sends by outcome", ["outcome"], registry=r)
        self.unknown_runs = Counter(
            "zapbot_runs_ended_unknown", "Runs ended with an unknown outcome", ["reason"], registry=r
        )
        self.token_revoked = Gauge(
            "zapbot_slack_token_revoked", "1 while Slack refuses the bot token, else 0", registry=r
        )
        ProcessCollector(registry=r)

    # the counting calls the rest of the bot makes ---------------------------------------------------
    def command(self, kind: str) -> None:
        self.commands.labels(kind).inc()

    def preview(self, outcome: str) -> None:
        self.previews.labels(outcome).inc()

    def confirmation(self, decision: str, outcome: str) -> None:
        self.confirmations.labels(decision, outcome).inc()

    def execution(self, status: str) -> None:
        self.executions.labels(status).inc()

    def refused_busy(self, surface: str) -> None:
        self.busy.labels(surface).inc()

    def outbox(self, outcome: str) -> None:
        self.outbox_sends.labels(outcome).inc()

    def ended_unknown(self, reason: str) -> None:
        self.unknown_runs.labels(reason).inc()

    def slack_token_revoked(self, revoked: bool) -> None:
        self.token_revoked.set(1 if revoked else 0)

    def rating(self, vote: str, change: str = "added") -> None:
        """For the ratings feature: one counting reaction added or removed (`vote` is `up` or `down`)."""
        self.ratings.labels(vote, change).inc()

    def rating_skipped(self, reason: str) -> None:
        """A rating kept in Redis but not sent: the account that ran its execution cannot be used."""
        self.ratings_skipped.labels(reason).inc()

    def home_refresh(self, outcome: str, count: int = 1) -> None:
        """Home tabs to re-publish after a preview changed: queued, coalesced (one is queued already) or
        over_bound (past the per-change bound: they see it when they next open the tab)."""
        self.home_refreshes.labels(outcome).inc(count)

    def track_tasks(self, tasks: InFlight) -> None:
        """Read the gauge from `tasks.in_flight` at each scrape, so it can never drift."""
        self.tasks_in_flight.set_function(lambda: tasks.in_flight)

    @contextmanager
    def slack_call(self, method: str) -> Iterator[None]:
        """Time one Slack call; the caller reports a failure with `slack_error`."""
        started = time.perf_counter()
        try:
            yield
        finally:
            self.slack_seconds.labels(method).observe(time.perf_counter() - started)

    def slack_error(self, method: str, error: str) -> None:
        self.slack_errors.labels(method, error).inc()

    def zapier_request(self, operation: str, seconds: float, error: str | None) -> None:
        self.zapier_seconds.labels(operation).observe(seconds)
        if error is not None:
            self.zapier_errors.labels(operation, error).inc()

    # exposition ---------------------------------------------------------------------------------------
    def render(self, accept: str = "") -> tuple[bytes, str]:
        """The registry in the format the scraper asked for (Prometheus text 0.0.4 by default)."""
        encoder, content_type = choose_encoder(accept)
        return encoder(self.registry), content_type
