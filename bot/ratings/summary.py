"""Executions -> how each app and action has been rated, and the worst-rated recent runs. Pure: no I/O.

An execution is *rated* when at least one person votes on it; its 👍 or 👎 is its rating (+1 or -1), so a
tie counts as rated but as neither. Runs (the confirmed actions) and previews (the AI's guesses, which
people can rate too) are counted apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

WORST_SHOWN = 5


@dataclass
class Counts:
    executions: int = 0
    up: int = 0  # executions rated 👍
    down: int = 0  # executions rated 👎
    rated: int = 0  # executions with at least one vote

    def add(self, rating: int, voters: int) -> None:
        self.executions += 1
        self.up += rating > 0
        self.down += rating < 0
        self.rated += voters > 0

    @property
    def share_rated(self) -> float:
        return self.rated / self.executions if self.executions else 0.0


@dataclass
class ActionFigures:
    app: str
    action: str
    runs: Counts = field(default_factory=Counts)
    previews: Counts = field(default_factory=Counts)


@dataclass(frozen=True)
class RatedRun:
    execution_log_id: str
    app: str
    action_used: str
    rating: int
    up: int
    down: int
    channel: str
    message_ts: str
    thread_ts: str
    requested_by: str
    created_at: float


@dataclass(frozen=True)
class Summary:
    app: str | None  # the filter asked for, as typed
    actions: list[ActionFigures]  # most runs first
    worst: list[RatedRun]  # rated 👎, most net 👎 first, then newest
    considered: int  # executions looked at
    window: int  # at most this many of the newest are looked at


def summarise(rows: Iterable[Mapping[str, str]], *, app: str | None, window: int) -> Summary:
    """Figures per app+action over `rows` (the newest executions, newest first), optionally for one app."""
    wanted = app.lower() if app else None
    by_action: dict[tuple[str, str], ActionFigures] = {}
    worst: list[RatedRun] = []
    considered = 0
    for row in rows:
        considered += 1
        if wanted is not None and row.get("app", "").lower() != wanted:
            continue
        key = (row.get("app", ""), row.get("action", ""))
        figures = by_action.setdefault(key, ActionFigures(*key))
        rating, up, down = _int(row.get("rating")), _int(row.get("up")), _int(row.get("down"))
        is_preview = row.get("kind") == "preview"
        (figures.previews if is_preview else figures.runs).add(rating, up + down)
        if not is_preview and rating < 0:
            worst.append(_rated_run(row, rating, up, down))
    worst.sort(key=lambda run: (run.up - run.down, -run.created_at))
    ordered = sorted(by_action.values(), key=lambda f: (-f.runs.executions, -f.previews.executions, f.app))
    return Summary(app, ordered, worst[:WORST_SHOWN], considered, window)


def _rated_run(row: Mapping[str, str], rating: int, up: int, down: int) -> RatedRun:
    return RatedRun(
        execution_log_id=row.get("execution_log_id", ""),
        app=row.get("app", ""),
        action_used=row.get("action_used") or row.get("action", ""),
        rating=rating,
        up=up,
        down=down,
        channel=row.get("channel", ""),
        message_ts=row.get("message_ts", ""),
        thread_ts=row.get("thread_ts", ""),
        requested_by=row.get("requested_by", ""),
        created_at=_float(row.get("created_at")),
    )


def _int(value: str | None) -> int:
    try:
        return int(value or 0)
    except ValueError:
        return 0


def _float(value: str | None) -> float:
    try:
        return float(value or 0)
    except ValueError:
        return 0.0
