"""Per-edge and per-service trace statistics before vs after the anomaly start.

In the spirit of trace-based RCA such as TraceRCA (Li et al., IWQoS 2021) and MicroRank (Yu et al., WWW 2021):
for each caller->callee edge, latency p50/p95 and error rate before and after; for each service its *self*
time (span duration minus its children's) and its *own* errors (error spans none of whose children
failed), which point at where latency and errors originate rather than where they surface.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tracehound.engine.types import Span, TimeRange


@dataclass(frozen=True, slots=True)
class TraceConfig:
    min_spans: int = 5


@dataclass(frozen=True, slots=True)
class EdgeStats:
    caller: str
    callee: str
    before_p50: float
    before_p95: float
    after_p50: float
    after_p95: float
    before_error: float
    after_error: float
    before_n: int
    after_n: int


@dataclass(frozen=True, slots=True)
class ServiceTraceStats:
    service: str
    before_self_p50: float
    after_self_p50: float
    before_own_error: float
    after_own_error: float
    score: float


@dataclass(frozen=True, slots=True)
class TraceAnalysis:
    edges: tuple[EdgeStats, ...]
    services: dict[str, ServiceTraceStats]


def _p(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


def analyze_traces(
    spans: Sequence[Span],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: TraceConfig = TraceConfig(),
) -> TraceAnalysis:
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    child_ms: dict[tuple[str, str], float] = defaultdict(float)
    child_err: set[tuple[str, str]] = set()
    for s in spans:
        if s.parent_id is not None:
            child_ms[(s.trace_id, s.parent_id)] += s.duration_ms
            if s.error:
                child_err.add((s.trace_id, s.parent_id))
    edge_d: dict[tuple[str, str, int], list[float]] = defaultdict(list)
    edge_e: dict[tuple[str, str, int], list[bool]] = defaultdict(list)
    self_d: dict[tuple[str, int], list[float]] = defaultdict(list)
    own_e: dict[tuple[str, int], list[bool]] = defaultdict(list)
    for s in spans:
        phase = 0 if baseline.start <= s.start < baseline.end else 1 if anomaly_start <= s.start < end else -1
        if phase < 0:
            continue
        key = (s.trace_id, s.span_id)
        self_d[(s.service, phase)].append(max(s.duration_ms - child_ms.get(key, 0.0), 0.0))
        own_e[(s.service, phase)].append(s.error and key not in child_err)
        parent = by_id.get((s.trace_id, s.parent_id)) if s.parent_id else None
        if parent is not None and parent.service != s.service:
            edge_d[(parent.service, s.service, phase)].append(s.duration_ms)
            edge_e[(parent.service, s.service, phase)].append(s.error)
    return TraceAnalysis(_edges(edge_d, edge_e, config), _services(self_d, own_e, config))


def _edges(
    d: dict[tuple[str, str, int], list[float]], e: dict[tuple[str, str, int], list[bool]], config: TraceConfig
) -> tuple[EdgeStats, ...]:
    out = []
    for caller, callee in sorted({(a, b) for a, b, _ in d}):
        b, a = d.get((caller, callee, 0), []), d.get((caller, callee, 1), [])
        if len(b) < config.min_spans or len(a) < config.min_spans:
            continue
        be, ae = e[(caller, callee, 0)], e[(caller, callee, 1)]
        out.append(
            EdgeStats(
                caller,
                callee,
                _p(b, 50),
                _p(b, 95),
                _p(a, 50),
                _p(a, 95),
                sum(be) / len(be),
                sum(ae) / len(ae),
                len(b),
                len(a),
            )
        )
    return tuple(out)


def _services(
    d: dict[tuple[str, int], list[float]], e: dict[tuple[str, int], list[bool]], config: TraceConfig
) -> dict[str, ServiceTraceStats]:
    out = {}
    for service in sorted({s for s, _ in d}):
        b, a = d.get((service, 0), []), d.get((service, 1), [])
        if len(b) < config.min_spans or len(a) < config.min_spans:
            continue
        b50, a50 = _p(b, 50), _p(a, 50)
        be = sum(e[(service, 0)]) / len(b)
        ae = sum(e[(service, 1)]) / len(a)
        latency = max(0.0, math.log2((a50 + 1.0) / (b50 + 1.0))) * 3.0
        errors = max(0.0, ae - be) * 20.0
        out[service] = ServiceTraceStats(service, b50, a50, be, ae, max(latency, errors))
    return out
