"""What every follow-up handler shares: the answer type, its context, usage counters and source reads."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from tracehound.engine.ports import Sources
from tracehound.engine.rca.edges import split_edges
from tracehound.engine.rca.robust import MetricScore, robust_scores
from tracehound.engine.report import Report
from tracehound.engine.types import LogRecord, Series, TimeRange


@dataclass(frozen=True, slots=True)
class FollowUpAnswer:
    """The Markdown answer, what was read to give it, and ``meta``: the intent, the path taken and, for yes/no
    checks, the ``verdict``."""

    markdown: str
    usage: dict[str, int]
    meta: dict[str, Any] = field(default_factory=dict)


class SourceError(Exception):
    """A source failed while answering: the message is shown to the user."""


@dataclass(slots=True)
class Ctx:
    report: Report
    sources: Sources
    now: datetime
    known: Sequence[str]
    usage: dict[str, int] = field(default_factory=lambda: {"data_points": 0, "log_lines": 0, "spans": 0, "queries": 0})

    def answer(self, markdown: str, **meta: Any) -> FollowUpAnswer:
        return FollowUpAnswer(markdown, dict(self.usage), meta)

    @property
    def window(self) -> TimeRange:
        return self.report.window or TimeRange(self.now - timedelta(hours=1), self.now)

    @property
    def start(self) -> datetime:
        """The anomaly start, or the middle of the window when the report found none."""
        w = self.window
        return self.report.anomaly_start or w.start + (w.end - w.start) / 2

    @property
    def baseline(self) -> TimeRange:
        return TimeRange(self.window.start, self.start)

    async def metrics(self, window: TimeRange, services: Sequence[str] | None = None) -> list[Series]:
        if self.sources.metrics is None:
            return []
        self.usage["queries"] += 1
        try:
            series = list(await self.sources.metrics.query(window, services=services))
        except Exception as exc:  # shown to the user by the handler
            raise SourceError(f"the metrics source failed: {exc}") from exc
        self.usage["data_points"] += sum(len(s.values) for s in series)
        return split_edges(series)[0]  # per-edge latency pairs are read by the investigation, not scored alone

    async def logs(self, window: TimeRange, services: Sequence[str] | None = None) -> list[LogRecord]:
        if self.sources.logs is None:
            return []
        self.usage["queries"] += 1
        try:
            records = list(await self.sources.logs.logs(window, services=services))
        except Exception as exc:  # shown to the user by the handler
            raise SourceError(f"the log source failed: {exc}") from exc
        self.usage["log_lines"] += len(records)
        return records

    async def scores(self, services: Sequence[str] | None = None) -> list[MetricScore]:
        """Every series of ``services`` scored after the anomaly start against the report's baseline."""
        series = await self.metrics(self.window, services)
        return robust_scores(series, baseline=self.baseline, anomaly_start=self.start, end=self.window.end)


def num(v: float) -> str:
    """A value for prose: 4 significant digits, thousands separated."""
    if v != v:  # NaN
        return "n/a"
    if abs(v) >= 1000:
        return f"{v:,.0f}"
    return f"{v:.4g}"
