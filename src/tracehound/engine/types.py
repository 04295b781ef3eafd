"""Value types shared by the engine, its sources and its callers. All frozen; all JSON-friendly via ``to_dict``."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

Confidence = Literal["High", "Medium", "Low"]


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open UTC interval [start, end)."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Incident:
    """What the user told us: free text, an optional explicit time, and when they said it (UTC, aware)."""

    text: str
    created_at: datetime
    time: datetime | None = None
    title: str | None = None
    context: str | None = None  # extra instructions (e.g. an agent's system prompt)


# Labels of a per-edge latency series (service = the callee): who called, and which end of the call measured it
# ("source": the caller's side, "destination": the callee's side), as a service mesh reports it.
CALLER_LABEL = "caller"
REPORTER_LABEL = "reporter"


@dataclass(frozen=True, slots=True)
class Series:
    """One metric time series of one service. ``timestamps`` are UTC epoch seconds, ascending."""

    name: str
    service: str
    timestamps: tuple[float, ...]
    values: tuple[float, ...]
    labels: tuple[tuple[str, str], ...] = ()
    unit: str = ""
    query: str = ""  # the exact query that produced it (for citations)


@dataclass(frozen=True, slots=True)
class LogRecord:
    ts: datetime
    service: str
    level: str  # DEBUG/INFO/WARN/ERROR/FATAL (upper case)
    message: str
    trace_id: str | None = None


@dataclass(frozen=True, slots=True)
class Span:
    trace_id: str
    span_id: str
    parent_id: str | None
    service: str
    operation: str
    start: datetime
    duration_ms: float
    error: bool = False


@dataclass(frozen=True, slots=True)
class Change:
    """A deployment, config change, feature flag flip or scaling event."""

    ts: datetime
    service: str
    kind: str  # deploy | config | flag | scale | other
    description: str
    author: str | None = None


@dataclass(frozen=True, slots=True)
class SourceFailure:
    """A data source that failed while the engine read it: the investigation goes on without it."""

    source: str  # e.g. "metrics:prometheus"
    error: str


@dataclass(frozen=True, slots=True)
class ProgressEvent:
    """Emitted by the engine while it works; the worker turns these into session events and logs."""

    kind: Literal["step.started", "step.completed", "evidence.found"]
    step: str
    detail: str = ""
    data: dict[str, Any] = field(default_factory=dict)
