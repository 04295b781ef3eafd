"""Edge latency gaps from metrics: the same call's latency as its caller and as its callee report it.

A service mesh reports every call twice: Istio's ``istio_request_duration_milliseconds`` carries
``reporter="source"`` (measured by the caller's proxy) and ``reporter="destination"`` (measured by the callee's
proxy); the Nezha dataset ships the medians of both per edge (``source_50`` / ``destination_50``). Their
difference is the time on the wire and in the network stacks between the two proxies, the metric twin of the
client-span gap of :mod:`tracehound.engine.rca.traces`. A network delay into a service grows that difference on
every edge into it while the callee's own view stays fast, and it works when no trace was sampled.

A series takes part when it is labelled ``caller=<service>`` and ``reporter=source|destination``, its service
being the callee (:func:`edge_of`). Each (caller, callee, series name) with both reporters gives a gap series;
its rise from the baseline is counted in units of the baseline's spread (IQR), but at least ``level_share`` of the
callee-side latency: a delay must be large next to the call itself, not next to a flat line. As for trace gaps,
when one caller's calls to two or more callees are delayed, the caller is the common cause and takes the blame.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tracehound.engine.rca.robust import sampling_step
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, Series, TimeRange

REPORTERS = ("source", "destination")


@dataclass(frozen=True, slots=True)
class EdgeGapConfig:
    min_points: int = 3  # baseline samples a gap needs
    level_share: float = 0.5  # the scale is at least this share of the callee-side baseline latency
    cap: float = 50.0
    delayed: float = 3.0  # a gap this many scale units up is a delayed edge (as ``TraceConfig.delayed_gap``)


@dataclass(frozen=True, slots=True)
class EdgeGap:
    caller: str
    callee: str
    name: str  # the series name both reporters share
    before: float  # median gap in the baseline (series unit)
    after: float  # median gap in the scored window
    score: float  # median rise of the gap over the window (one spike is not a delay), in scale units; >= 0
    queries: tuple[str, str]  # the source-side and destination-side series, for citations
    unit: str = ""


def edge_of(series: Series) -> tuple[str, str] | None:
    """(caller, reporter) of an edge latency series, else None."""
    labels = dict(series.labels)
    caller, reporter = labels.get(CALLER_LABEL), labels.get(REPORTER_LABEL)
    if caller and reporter in REPORTERS:
        return caller, reporter
    return None


def split_edges(series: Sequence[Series]) -> tuple[list[Series], list[Series]]:
    """(ordinary series, edge latency series)."""
    plain: list[Series] = []
    edges: list[Series] = []
    for s in series:
        (edges if edge_of(s) is not None else plain).append(s)
    return plain, edges


def edge_pairs(series: Sequence[Series]) -> set[tuple[str, str]]:
    """The (caller, callee) pairs edge latency series name: call graph edges known from metrics alone."""
    return {(edge[0], s.service) for s in series if (edge := edge_of(s)) is not None}


def _by_step(s: Series, step: float) -> dict[int, float]:
    out: dict[int, float] = {}
    for t, v in zip(s.timestamps, s.values, strict=True):
        if np.isfinite(v):
            out[round(t / step)] = float(v)
    return out


def edge_gaps(
    series: Sequence[Series],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: EdgeGapConfig = EdgeGapConfig(),
) -> list[EdgeGap]:
    """Every edge with both reporters' series, scored; highest score first."""
    pairs: dict[tuple[str, str, str], dict[str, Series]] = defaultdict(dict)
    for s in series:
        edge = edge_of(s)
        if edge is not None:
            pairs[(edge[0], s.service, s.name)][edge[1]] = s
    step = max(sampling_step(series, sample=None), 1e-3)
    b0, b1 = round(baseline.start.timestamp() / step), round(baseline.end.timestamp() / step)
    w0, w1 = round(anomaly_start.timestamp() / step), round(end.timestamp() / step)
    out: list[EdgeGap] = []
    for (caller, callee, name), sides in pairs.items():
        if caller == callee or set(sides) != set(REPORTERS):
            continue
        src, dst = _by_step(sides["source"], step), _by_step(sides["destination"], step)
        common = sorted(set(src) & set(dst))
        base = np.array([src[k] - dst[k] for k in common if b0 <= k < b1])
        after = np.array([src[k] - dst[k] for k in common if w0 <= k < w1])
        level = np.array([dst[k] for k in common if b0 <= k < b1])
        if len(base) < config.min_points or len(after) == 0:
            continue
        median = float(np.median(base))
        q75, q25 = np.percentile(base, [75, 25])
        scale = max(float(q75 - q25), config.level_share * abs(float(np.median(level))), 1e-12)
        rise = float(np.median(np.clip((after - median) / scale, -config.cap, config.cap)))
        queries = (sides["source"].query, sides["destination"].query)
        gap = EdgeGap(
            caller, callee, name, median, float(np.median(after)), max(rise, 0.0), queries, sides["source"].unit
        )
        out.append(gap)
    out.sort(key=lambda g: g.score, reverse=True)
    return out


def gap_signal(gaps: Sequence[EdgeGap], config: EdgeGapConfig = EdgeGapConfig()) -> dict[str, float]:
    """Service -> its largest inbound gap rise; a caller whose calls to two or more different callees are
    delayed takes those edges' scores instead of the callees (one cause in the caller, not several in them)."""
    delayed: dict[str, set[str]] = defaultdict(set)
    for g in gaps:
        if g.score >= config.delayed:
            delayed[g.caller].add(g.callee)
    common = {c for c, callees in delayed.items() if len(callees) >= 2}
    out: dict[str, float] = {}
    for g in gaps:
        if g.score <= 0:
            continue
        who = g.caller if g.caller in common and g.score >= config.delayed else g.callee
        out[who] = max(out.get(who, 0.0), g.score)
    return out
