"""Per-edge and per-service trace statistics before vs after the anomaly start.

In the spirit of trace-based RCA such as TraceRCA (Li et al., IWQoS 2021), MicroRank (Yu et al., WWW 2021) and
the trace side of Nezha (Yu et al., FSE 2023). Three views, each pointing at where a fault *originates* rather
than where it surfaces:

- **edge gap**: for a client span (a span nested in its own service's span) whose child span runs in another
  service, the client span's time not covered by its children is the time spent on the wire and in the
  callee's network stack (a server span that parents its callees directly also holds its own processing). A
  network delay injected into a service grows the gap of every edge into it while its own (server-side) spans
  stay fast, so the gap increase is credited to the callee. Its reference is the *quietest* minute of the
  recent history or of a healthy reference stretch (the lowest per-minute median), and the rise is counted in
  units of that minute's own spread: a delay that was already present just before the incident (an earlier
  fault that has not ended) must become neither the baseline nor its spread. When one caller's calls to two or
  more callees are delayed, the caller is the common cause (its CPU, its network) and takes the blame.
- **operation latency**: the median duration of each (service, operation) after vs before, as a log ratio, but
  no more than the lower confidence bound of the change in mean log duration (few, heavy-tailed spans make a
  large ratio by chance); a service's score is its most slowed-down operation (CPU starvation, slow code paths).
- **own errors**: error spans none of whose children failed (when the source reports span status).

Baselines are short on real data (often a minute of spans), so every statistic is a median and needs
``min_spans`` spans on both sides.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import numpy as np

from tracehound.engine.types import Span, TimeRange


@dataclass(frozen=True, slots=True)
class TraceConfig:
    min_spans: int = 3
    gap_floor_ms: float = 1.0  # added to the baseline IQR of an edge gap: sub-millisecond jitter is not a delay
    latency_offset_ms: float = 0.5  # added to both medians of the latency ratio (guards ~0 ms spans)
    latency_confidence: float = 2.0  # standard errors below the mean log-duration change an operation must clear
    bucket_seconds: float = 60.0  # history is cut into buckets of this size for the quietest-minute reference
    # an edge gap this many IQRs (of its quietest stretch) up is a delayed edge; when the calls of one caller to
    # two or more different callees are delayed, the caller is the common factor (its CPU, its network) and takes
    # the blame
    delayed_gap: float = 3.0


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
    before_gap: float = 0.0  # median caller-minus-callee time (ms)
    after_gap: float = 0.0
    gap_score: float = 0.0  # gap increase in IQRs of the quietest stretch (>= 0)


@dataclass(frozen=True, slots=True)
class ServiceTraceStats:
    service: str
    before_self_p50: float  # median duration of the most slowed-down operation (ms), before
    after_self_p50: float
    before_own_error: float
    after_own_error: float
    score: float  # max(latency, errors): the service's own trace anomaly
    operation: str = ""
    latency: float = 0.0  # log2 ratio of the slowest operation's median duration
    errors: float = 0.0  # increase of the own-error rate, scaled
    gap: float = 0.0  # strongest gap increase on an edge into the service


@dataclass(frozen=True, slots=True)
class TraceAnalysis:
    edges: tuple[EdgeStats, ...]
    services: dict[str, ServiceTraceStats]
    signals: dict[str, dict[str, float]] = field(default_factory=dict)  # "gap" | "latency" | "errors" -> scores


@dataclass(slots=True)
class _Acc:
    edge_d: dict[tuple[str, str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    edge_g: dict[tuple[str, str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    edge_e: dict[tuple[str, str, int], list[bool]] = field(default_factory=lambda: defaultdict(list))
    op_d: dict[tuple[str, str, int], list[float]] = field(default_factory=lambda: defaultdict(list))
    own_e: dict[tuple[str, int], list[bool]] = field(default_factory=lambda: defaultdict(list))
    # (caller, callee) -> bucket -> gaps, over the history window
    hist_g: dict[tuple[str, str], dict[int, list[float]]] = field(
        default_factory=lambda: defaultdict(lambda: defaultdict(list))
    )


def _p(values: Sequence[float], q: float) -> float:
    return float(np.percentile(values, q)) if len(values) else 0.0


def _covered(intervals: list[tuple[float, float]]) -> float:
    """Length of the union of ``(start, end)`` intervals."""
    total, end = 0.0, float("-inf")
    for a, b in sorted(intervals):
        if b > end:
            total += b - max(a, end)
            end = b
    return total


def _accumulate(
    spans: Sequence[Span],
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    history: TimeRange,
    bucket: float,
) -> _Acc:
    # the hot loop of an investigation (every span of the window, twice with a reference): times as floats,
    # computed once per span, and spans found by index
    starts = [s.start.timestamp() for s in spans]
    index = {(s.trace_id, s.span_id): i for i, s in enumerate(spans)}
    child_err: set[tuple[str, str]] = set()
    children: dict[tuple[str, str], list[tuple[float, float]]] = defaultdict(list)
    for s, t in zip(spans, starts, strict=True):
        if s.parent_id is not None:
            t0 = t * 1000.0
            children[(s.trace_id, s.parent_id)].append((t0, t0 + s.duration_ms))
            if s.error:
                child_err.add((s.trace_id, s.parent_id))
    # the caller's time not covered by any of its children: with one child (a client span around the call) the
    # time on the wire; with several (a handler calling a database, then a cache) it must not include the other
    # callees' time, or a slow database reads as a network delay into the cache
    covered = {k: _covered(v) for k, v in children.items()}
    b0, b1 = baseline.start.timestamp(), baseline.end.timestamp()
    a0, a1 = anomaly_start.timestamp(), end.timestamp()
    h0, h1 = history.start.timestamp(), history.end.timestamp()
    acc = _Acc()
    for s, t in zip(spans, starts, strict=True):
        phase = 0 if b0 <= t < b1 else 1 if a0 <= t < a1 else -1
        in_history = h0 <= t < h1
        if phase < 0 and not in_history:
            continue
        i = index.get((s.trace_id, s.parent_id)) if s.parent_id else None
        parent = spans[i] if i is not None else None
        remote = parent is not None and parent.service != s.service
        client, gap = False, 0.0
        if remote and parent is not None:
            # only a client span (nested in its own service's span) has nothing but the call in it; a server
            # span that directly parents the callee's span also holds its own service's processing time
            g = index.get((s.trace_id, parent.parent_id)) if parent.parent_id else None
            client = g is not None and spans[g].service == parent.service
            gap = parent.duration_ms - covered[(s.trace_id, parent.span_id)]
            if client and in_history:
                acc.hist_g[(parent.service, s.service)][int(t // bucket)].append(gap)
        if phase < 0:
            continue
        acc.op_d[(s.service, s.operation, phase)].append(s.duration_ms)
        acc.own_e[(s.service, phase)].append(s.error and (s.trace_id, s.span_id) not in child_err)
        if remote and parent is not None:
            key = (parent.service, s.service, phase)
            acc.edge_d[key].append(s.duration_ms)
            if client:
                acc.edge_g[key].append(gap)
            acc.edge_e[key].append(s.error)
    return acc


def analyze_traces(
    spans: Sequence[Span],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    history: TimeRange | None = None,
    reference: Sequence[Span] = (),
    skip_ops: frozenset[tuple[str, str]] = frozenset(),
    config: TraceConfig = TraceConfig(),
) -> TraceAnalysis:
    """Edge and service statistics of ``spans`` in ``baseline`` vs ``[anomaly_start, end)``.

    ``history`` (default: ``baseline``) is the longer stretch before the start where the quietest minute of
    each edge gap is looked for."""
    hist = history or baseline
    acc = _accumulate(spans, baseline, anomaly_start, end, hist, config.bucket_seconds)
    if reference:
        # healthy reference stretches: their minutes are candidates for the quietest minute of each edge gap
        lo = min(s.start for s in reference)
        hi = max(s.start for s in reference)
        whole = TimeRange(lo, hi + timedelta(seconds=1))
        ref_acc = _accumulate(reference, TimeRange(lo, lo), hi, hi, whole, config.bucket_seconds)
        for edge, buckets in ref_acc.hist_g.items():
            for b, gaps in buckets.items():
                acc.hist_g[edge][b].extend(gaps)
    edges = _edges(acc, config)
    services = _services(acc, edges, config, skip_ops)
    signals = {
        "gap": {s: v.gap for s, v in services.items() if v.gap > 0},
        "latency": {s: v.latency for s, v in services.items() if v.latency > 0},
        "errors": {s: v.errors for s, v in services.items() if v.errors > 0},
    }
    return TraceAnalysis(edges, services, {k: v for k, v in signals.items() if v})


def _edges(acc: _Acc, config: TraceConfig) -> tuple[EdgeStats, ...]:
    out = []
    for caller, callee in sorted({(a, b) for a, b, _ in acc.edge_d}):
        b, a = acc.edge_d.get((caller, callee, 0), []), acc.edge_d.get((caller, callee, 1), [])
        hist = acc.hist_g.get((caller, callee), {})
        gb, ga = acc.edge_g.get((caller, callee, 0), []), acc.edge_g[(caller, callee, 1)]
        # the rise is measured from the quietest stretch (the recent baseline, a minute of the history or of a
        # healthy reference) and in units of that stretch's own spread: a history that holds an earlier delay
        # has a wide spread that would make a second delay of the same size look like noise
        quiet = [v for v in hist.values() if len(v) >= config.min_spans]
        if len(gb) >= config.min_spans:
            quiet.append(gb)
        if len(a) < config.min_spans or (len(b) < config.min_spans and not quiet):
            continue  # no reference: neither a recent baseline nor a quiet minute of history
        ref = min(quiet, key=lambda v: _p(v, 50)) if quiet else []
        level, iqr = _p(ref, 50), _p(ref, 75) - _p(ref, 25)
        rise = max(0.0, _p(ga, 50) - level) if ref else 0.0  # a gap with nothing to compare it to is no rise
        be, ae = acc.edge_e.get((caller, callee, 0), []), acc.edge_e[(caller, callee, 1)]
        out.append(
            EdgeStats(
                caller,
                callee,
                _p(b, 50),
                _p(b, 95),
                _p(a, 50),
                _p(a, 95),
                sum(be) / max(len(be), 1),
                sum(ae) / len(ae),
                len(b),
                len(a),
                _p(ref, 50),
                _p(ga, 50),
                rise / (iqr + config.gap_floor_ms),
            )
        )
    return tuple(out)


def _op_latency(
    acc: _Acc, service: str, config: TraceConfig, skip_ops: frozenset[tuple[str, str]]
) -> tuple[float, str, float, float]:
    """(log2 ratio, operation, before median, after median) of the service's most slowed-down operation (other
    than ``skip_ops``: operations of endpoints that recovered, see :mod:`tracehound.engine.rca.flows`)."""
    best = (0.0, "", 0.0, 0.0)
    for svc, op, phase in list(acc.op_d):
        if svc != service or phase != 1 or (svc, op) in skip_ops:
            continue
        b, a = acc.op_d.get((svc, op, 0), []), acc.op_d[(svc, op, 1)]
        if len(b) < config.min_spans or len(a) < config.min_spans:
            continue
        mb, ma = _p(b, 50), _p(a, 50)
        ratio = math.log2((ma + config.latency_offset_ms) / (mb + config.latency_offset_ms))
        # what the spans show with confidence: the lower bound (two standard errors) of the change in mean log
        # duration. A handful of spans of a heavy-tailed database call no longer look like a slowdown.
        lb = np.log2(np.asarray(b) + config.latency_offset_ms)
        la = np.log2(np.asarray(a) + config.latency_offset_ms)
        se = math.sqrt(float(np.var(lb, ddof=1)) / len(lb) + float(np.var(la, ddof=1)) / len(la))
        ratio = min(ratio, float(np.mean(la) - np.mean(lb)) - config.latency_confidence * se)
        if ratio > best[0]:
            best = (ratio, op, mb, ma)
    return best


def _common_delays(edges: Sequence[EdgeStats], config: TraceConfig) -> dict[str, float]:
    """Caller -> the largest gap rise of its calls, for callers whose calls to two or more different callees are
    delayed. A network delay into one service delays the calls into it, from whichever caller; a caller starved of
    CPU, or whose own network is slow, delays its calls to every callee it waits on. One cause in the caller
    explains what would otherwise take a separate fault in each callee."""
    delayed: dict[str, list[float]] = defaultdict(list)
    for e in edges:
        if e.gap_score >= config.delayed_gap and e.caller != e.callee:
            delayed[e.caller].append(e.gap_score)
    return {c: max(v) for c, v in delayed.items() if len(v) >= 2}


def _services(
    acc: _Acc, edges: Sequence[EdgeStats], config: TraceConfig, skip_ops: frozenset[tuple[str, str]]
) -> dict[str, ServiceTraceStats]:
    out = {}
    common = _common_delays(edges, config)
    gaps: dict[str, float] = defaultdict(float, common)
    for e in edges:
        if e.caller not in common:  # a common delay of the caller's calls is the caller's, not each callee's
            gaps[e.callee] = max(gaps[e.callee], e.gap_score)
    for service in sorted({s for s, _, _ in acc.op_d}):
        b, a = acc.own_e.get((service, 0), []), acc.own_e.get((service, 1), [])
        if len(a) < config.min_spans:
            continue
        if len(b) < config.min_spans:
            # no recent baseline of the service's own spans (exported trace minutes can be sparse): its latency
            # and errors cannot be compared, but the gap of its edges has the quietest minute of the history
            if gaps.get(service, 0.0) > 0:
                out[service] = ServiceTraceStats(service, 0.0, 0.0, 0.0, 0.0, 0.0, gap=gaps[service])
            continue
        latency, op, mb, ma = _op_latency(acc, service, config, skip_ops)
        be, ae = sum(b) / len(b), sum(a) / len(a)
        errors = max(0.0, ae - be) * 20.0
        out[service] = ServiceTraceStats(
            service, mb, ma, be, ae, max(latency * 3.0, errors), op, latency, errors, gaps.get(service, 0.0)
        )
    return out
