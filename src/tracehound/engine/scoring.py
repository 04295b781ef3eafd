"""Scoring one investigation's telemetry: the anomaly start, the windows, every signal and the combined ranking.

Split from :mod:`tracehound.engine.investigate` (which fetches data and writes the report): this module turns
collected telemetry into :class:`Scores`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np

from tracehound.engine.ports import Sources
from tracehound.engine.rca.changepoint import ChangePoint, ChangePointConfig, find_anomaly_start
from tracehound.engine.rca.combine import Ranking, combine, metric_family_scores, top_dominance
from tracehound.engine.rca.edges import EdgeGap, edge_gaps, edge_pairs, gap_signal
from tracehound.engine.rca.flows import FlowChange, analyze_flows, flow_scores, without_healed_callees
from tracehound.engine.rca.graph import CallGraph, build_call_graph
from tracehound.engine.rca.logs import TemplateCount, log_anomalies, log_signals
from tracehound.engine.rca.robust import MetricScore, RobustConfig, robust_scores, robust_scores_at, sampling_step
from tracehound.engine.rca.traces import TraceAnalysis, analyze_traces
from tracehound.engine.types import Change, LogRecord, Series, SourceFailure, Span, TimeRange


@dataclass(frozen=True, slots=True)
class InvestigationConfig:
    """Windows of one investigation. Metric windows grow with the sampling step (at least ``*_steps`` samples),
    so 1-second and 5-minute metrics both work. Values chosen on the tuning half of the Nezha split
    (docs/benchmarks.md)."""

    lookback: timedelta = timedelta(minutes=60)  # data starts at T - lookback
    search_before: timedelta = timedelta(minutes=30)  # the anomaly may start this long before T
    # when the incident states its start ("since 14:32"), trust it: search only this long before it
    search_before_explicit: timedelta = timedelta(minutes=3)
    # ... and keep the stated time unless the metrics shift clearly later than it (more than this or 2 samples)
    explicit_slack: timedelta = timedelta(minutes=2)
    # ... or the anomaly had begun up to this long before it and lasted (an alert's ``for:``, a late report)
    late_by_at_most: timedelta = timedelta(minutes=15)
    # logs and traces are voluminous: read them only this long before T (their baseline needs minutes, not hours)
    event_lookback: timedelta = timedelta(minutes=20)
    after: timedelta = timedelta(minutes=30)  # incident window ends at min(T + after, created_at)
    gap: timedelta = timedelta(0)  # the metric baseline ends this long before the anomaly start
    baseline_span: timedelta = timedelta(minutes=10)  # metric baseline: the most recent stretch before the start
    baseline_steps: int = 10
    window_span: timedelta = timedelta(minutes=3)  # metrics scored over [start, start + window)
    window_steps: int = 3
    # logs and traces: the last minutes before the start (an older baseline often holds the previous incident)
    event_baseline: timedelta = timedelta(minutes=2)
    event_window: timedelta = timedelta(minutes=3)
    metric_scale: str = "std"  # "std" (N-sigma) or "iqr" (BARO); see docs/benchmarks.md for the choice
    log_limit: int = 100_000
    span_limit: int = 200_000


@dataclass(slots=True)
class CollectedData:
    series: list[Series] = field(default_factory=list)
    # per-edge latency series reported by both ends of a call (``rca/edges.py``), kept apart from ``series``
    edges: list[Series] = field(default_factory=list)
    logs: list[LogRecord] = field(default_factory=list)
    spans: list[Span] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)
    # logs and spans of the sources' healthy reference stretches (``Sources.reference``), kept apart
    reference_logs: list[LogRecord] = field(default_factory=list)
    reference_spans: list[Span] = field(default_factory=list)
    reference: list[TimeRange] = field(default_factory=list)
    failures: list[SourceFailure] = field(default_factory=list)
    used: list[str] = field(default_factory=list)
    usage: dict[str, int] = field(default_factory=lambda: {"data_points": 0, "log_lines": 0, "spans": 0, "queries": 0})


@dataclass(slots=True)
class Scores:
    start: datetime
    detected: bool
    peak: datetime | None
    metrics: list[MetricScore]
    logs: list[TemplateCount]
    traces: TraceAnalysis | None
    ranking: Ranking
    flows: list[FlowChange] = field(default_factory=list)
    edge_gaps: list[EdgeGap] = field(default_factory=list)
    graph: CallGraph = field(default_factory=dict)  # caller -> callees, from the spans and the static edges


def _start(
    data: CollectedData, window: TimeRange, t: datetime, config: InvestigationConfig, explicit: bool, step: float
) -> ChangePoint:
    """The anomaly start. A stated incident time is trusted unless the metrics clearly shift later than it
    (people round: "since 14:30" for a fault that began at 14:35); without one, change-point detection."""
    before = config.search_before_explicit if explicit else config.search_before
    pre = TimeRange(window.start, max(window.start + timedelta(minutes=5), t - before))
    cp = find_anomaly_start(
        data.series, baseline=pre, incident_time=t, end=window.end, config=ChangePointConfig(search_before=before)
    )
    slack = max(config.explicit_slack, timedelta(seconds=2 * step))
    if explicit:
        earlier = _started_earlier(data, window, t, config, slack, step)
        if earlier is not None:
            return earlier
    if explicit and not (cp.detected and cp.start - t > slack and _quiet_at(cp, t)):
        return ChangePoint(t, True, cp.shift, cp.signal)
    return cp


def _started_earlier(
    data: CollectedData, window: TimeRange, t: datetime, config: InvestigationConfig, slack: timedelta, step: float
) -> ChangePoint | None:
    """A stated time can also be late: an alert fires after its ``for:`` duration, people notice after a while.
    When the metrics shifted well before ``t`` and stayed shifted up to ``t``, the anomaly started then."""
    firsts = [x.timestamps[0] for x in data.series if len(x.timestamps)]
    if not firsts:
        return None
    # the search starts where there is a baseline of normal data before it, as long as every other metric
    # baseline (``baseline_span`` or ``baseline_steps`` samples): a few samples make noise look like a shift
    first = datetime.fromtimestamp(min(firsts), UTC)
    reach = min(config.search_before, config.late_by_at_most)
    base = max(config.baseline_span, timedelta(seconds=config.baseline_steps * step))
    lo = max(t - reach - base, window.start, first) + base
    if lo >= t - slack:
        return None
    cp = find_anomaly_start(
        data.series,
        baseline=TimeRange(window.start, lo),
        incident_time=t,
        end=t + slack,
        config=ChangePointConfig(search_before=reach),
    )
    if not cp.detected or t - cp.start <= slack:
        return None
    before = [v for ts, v in cp.signal if ts < cp.start.timestamp()]
    since = np.array([v for ts, v in cp.signal if cp.start.timestamp() <= ts <= t.timestamp()])
    if not before or len(since) == 0:
        return None
    raised = since > float(np.median(before)) + cp.shift / 2
    # raised most of the time since, and still raised at t: one episode, not an earlier one that had ended
    if raised.mean() < 0.8 or np.median(raised[-3:]) < 1:
        return None
    after = [v for ts, v in cp.signal if t.timestamp() < ts <= (t + config.window_span).timestamp()]
    if after and float(np.median(after)) > float(np.median(since)) + cp.shift / 2:
        return None  # a new, larger shift at t itself: a second fault on top of the first, starting when stated
    if _changes_again_at(data, cp.start, t, config, slack):
        return None
    return cp


def _changes_again_at(
    data: CollectedData, earlier: datetime, t: datetime, config: InvestigationConfig, slack: timedelta
) -> bool:
    """True when the series change again at ``t`` against the level they held since ``earlier``: a new fault
    that starts when stated while an earlier one (another fault, not yet recovered) is still going on. The
    aggregated signal above cannot tell, since the new fault may move other series than the earlier one did."""
    second = find_anomaly_start(
        data.series,
        baseline=TimeRange(earlier, t),
        incident_time=t,
        end=t + config.window_span + slack,
        config=ChangePointConfig(search_before=timedelta(0)),
        begin=earlier,
    )
    return second.detected and second.start <= t + slack


def _quiet_at(cp: ChangePoint, t: datetime) -> bool:
    """True when the aggregated anomaly signal between ``t`` and the detected start stays below half the shift."""
    before = [v for ts, v in cp.signal if ts < t.timestamp()]
    between = [v for ts, v in cp.signal if t.timestamp() <= ts < cp.start.timestamp()]
    if not before or not between:
        return False
    return float(np.max(between)) < float(np.median(before)) + cp.shift / 2


def _usual_metric_tops(
    series: Sequence[Series],
    window: TimeRange,
    start: datetime,
    baseline_len: timedelta,
    window_len: timedelta,
    config: InvestigationConfig,
    min_windows: int = 5,
) -> dict[str, float]:
    """Metric family signal -> median, over earlier windows scored exactly like the incident window (same
    baseline and window lengths, stepping back one window length at a time), of its top service's dominance.
    A few earlier windows may hold another incident; the median ignores them."""
    if window_len <= timedelta(0):
        return {}
    windows = []
    s = start - window_len
    while s - baseline_len >= window.start:
        windows.append((TimeRange(s - baseline_len, s), TimeRange(s, s + window_len)))
        s -= window_len
    tops: dict[str, list[float]] = {}
    for scores in robust_scores_at(series, windows, RobustConfig(scale=config.metric_scale)):
        for name, d in top_dominance(metric_family_scores(scores)).items():
            tops.setdefault(name, []).append(d)
    return {k: float(np.median(v)) for k, v in tops.items() if len(v) >= min_windows}


def _signals(
    metrics: list[MetricScore],
    traces: TraceAnalysis | None,
    logs: dict[str, dict[str, float]],
    flows: list[FlowChange],
    edges: list[EdgeGap],
) -> dict[str, dict[str, float]]:
    signals: dict[str, dict[str, float]] = dict(metric_family_scores(metrics))
    if edge := gap_signal(edges):
        signals["edges:gap"] = edge
    if traces is not None:
        signals.update({f"traces:{k}": v for k, v in traces.signals.items()})
    signals.update({f"logs:{k}": v for k, v in logs.items()})
    if flow := flow_scores(flows):
        signals["requests:flow"] = flow
    return signals


def score_services(
    data: CollectedData, sources: Sources, window: TimeRange, t: datetime, config: InvestigationConfig, explicit: bool
) -> Scores:
    step = sampling_step(data.series)
    cp = _start(data, window, t, config, explicit, step)
    start = cp.start
    span = max(config.baseline_span, timedelta(seconds=step * config.baseline_steps))
    base_end = max(window.start + timedelta(minutes=3), start - config.gap)
    baseline = TimeRange(max(window.start, base_end - span), base_end)
    m_end = min(window.end, start + max(config.window_span, timedelta(seconds=step * config.window_steps)))
    metrics = robust_scores(
        data.series, baseline=baseline, anomaly_start=start, end=m_end, config=RobustConfig(scale=config.metric_scale)
    )
    e_base = TimeRange(max(window.start, start - config.event_baseline), start)
    e_end = min(window.end, start + config.event_window)
    logs = log_anomalies(data.logs, baseline=e_base, anomaly_start=start, end=e_end)
    log_sig = log_signals(data.logs, baseline=e_base, anomaly_start=start, end=e_end) if data.logs else {}
    history = TimeRange(max(window.start, start - config.event_lookback), start)
    shapes = analyze_flows(
        [*data.reference_logs, *data.logs],
        [*data.reference_spans, *data.spans],
        baseline=[e_base, *data.reference],
        anomaly_start=start,
        end=e_end,
    )
    flows = shapes.changes
    traces = (
        analyze_traces(
            data.spans,
            baseline=e_base,
            anomaly_start=start,
            end=e_end,
            history=history,
            reference=data.reference_spans,
            skip_ops=shapes.recovered_ops,
        )
        if data.spans
        else None
    )
    gaps = edge_gaps(data.edges, baseline=baseline, anomaly_start=start, end=m_end)
    graph = build_call_graph(data.spans, [*sources.call_graph, *edge_pairs(data.edges)])
    flows = without_healed_callees(flows, shapes.recovered, graph)
    signals = _signals(metrics, traces, log_sig, flows, gaps)
    if not any(signals.values()):  # nothing else to go on: accept a two-sample baseline (relative changes only)
        metrics = robust_scores(
            data.series,
            baseline=baseline,
            anomaly_start=start,
            end=m_end,
            config=RobustConfig(scale=config.metric_scale, min_points=2),
        )
        signals = _signals(metrics, traces, log_sig, flows, gaps)
    usual = _usual_metric_tops(data.series, window, start, span, m_end - start, config)
    ranking = combine(signals, graph, usual_top=usual)
    peak = max(cp.signal, key=lambda p: p[1], default=None)
    peak_ts = datetime.fromtimestamp(peak[0], UTC) if peak and peak[0] >= start.timestamp() else None
    return Scores(start, cp.detected, peak_ts, metrics, logs, traces, ranking, flows, gaps, graph)
