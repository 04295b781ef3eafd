"""The per-signal scorers on synthetic data with a known culprit (trace gap, operation latency, log patterns)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from tracehound.engine.rca.combine import combine, dominance, metric_family_scores
from tracehound.engine.rca.logs import log_signals
from tracehound.engine.rca.robust import MetricScore, metric_family
from tracehound.engine.rca.traces import analyze_traces
from tracehound.engine.types import LogRecord, Series, Span, TimeRange

T = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
BASE = TimeRange(T - timedelta(minutes=2), T)
END = T + timedelta(minutes=3)


def _trace(i: int, start: datetime, *, db_delay_ms: float = 0.0, slow_api: float = 1.0) -> list[Span]:
    """web -> api -> db; a network delay on db grows the api->db gap, not db's own span."""
    tid = f"t{i}"
    db = Span(tid, "s3", "s2", "db", "SELECT", start, 4.0)
    api_client = Span(tid, "s2", "s1", "api", "HTTP GET", start, 6.0 + db_delay_ms)
    api = Span(tid, "s1", "s0", "api", "/items", start, (10.0 + db_delay_ms) * slow_api)
    web = Span(tid, "s0", None, "web", "/", start, api.duration_ms + 10.0)
    return [web, api, api_client, db]


def _spans(make: Callable[..., list[Span]] = _trace, **fault: float) -> list[Span]:
    """40 healthy requests built by ``make`` in the baseline, then 60 with ``fault`` after the start."""
    out: list[Span] = []
    for i in range(40):
        out += make(i, T - timedelta(seconds=110 - i * 2))
    for i in range(60):
        out += make(100 + i, T + timedelta(seconds=1 + i * 2), **fault)
    return out


def test_network_delay_grows_the_gap_of_edges_into_the_callee() -> None:
    analysis = analyze_traces(_spans(db_delay_ms=500.0), baseline=BASE, anomaly_start=T, end=END)
    gap = analysis.signals["gap"]
    assert max(gap, key=lambda s: gap[s]) == "db"
    edge = next(e for e in analysis.edges if e.callee == "db")
    assert edge.after_gap - edge.before_gap == 500.0


def _fan_out(i: int, start: datetime, *, db_delay_ms: float = 0.0, api_stall_ms: float = 0.0) -> list[Span]:
    """api -> db and api -> cache, each call in its own client span: a delay into db grows one edge's gap; a
    stalled api (starved of CPU) answers both calls late, so both edges' gaps grow."""
    tid = f"f{i}"
    db_client = Span(tid, "c1", "s1", "api", "SELECT", start, 5.0 + db_delay_ms + api_stall_ms)
    db = Span(tid, "d1", "c1", "db", "SELECT", start, 4.0)
    cache_client = Span(tid, "c2", "s1", "api", "GET", start, 2.0 + api_stall_ms)
    cache = Span(tid, "d2", "c2", "cache", "GET", start, 1.0)
    api = Span(tid, "s1", None, "api", "/items", start, 10.0 + db_delay_ms + 2 * api_stall_ms)
    return [api, db_client, db, cache_client, cache]


def test_a_delay_common_to_one_callers_calls_is_the_callers() -> None:
    delayed = analyze_traces(_spans(_fan_out, db_delay_ms=50.0), baseline=BASE, anomaly_start=T, end=END)
    assert delayed.signals["gap"] == {"db": delayed.services["db"].gap} and delayed.services["db"].gap > 3
    stalled = analyze_traces(_spans(_fan_out, api_stall_ms=50.0), baseline=BASE, anomaly_start=T, end=END)
    gap = stalled.signals["gap"]
    assert set(gap) == {"api"} and gap["api"] > 3  # not a separate network fault in db and in cache
    assert {e.callee for e in stalled.edges if e.gap_score > 3} == {"db", "cache"}


def test_the_gap_needs_no_recent_baseline_when_the_history_has_a_quiet_minute() -> None:
    """Exported trace minutes can be sparse: nothing in the minutes just before the start, spans 10 minutes
    earlier. The service's own latency cannot be compared, but the delay into it can."""
    spans: list[Span] = []
    for i in range(40):
        spans += _trace(i, T - timedelta(minutes=10, seconds=-i))
    for i in range(60):
        spans += _trace(100 + i, T + timedelta(seconds=1 + i * 2), db_delay_ms=500.0)
    history = TimeRange(T - timedelta(minutes=20), T)
    analysis = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END, history=history)
    assert analysis.signals["gap"]["db"] > 100
    assert "latency" not in analysis.signals and analysis.services["db"].latency == 0.0


def test_an_earlier_delay_in_the_history_does_not_hide_the_next_one() -> None:
    """Network delays injected one after another: the history holds the previous one. The rise is counted from
    the quietest minute and in units of that minute's own spread, not the spread of the whole mixed history."""
    spans: list[Span] = []
    for i in range(60):  # 20 to 10 minutes before: healthy
        spans += _trace(i, T - timedelta(minutes=20) + timedelta(seconds=10 * i))
    for i in range(42):  # 10 to 3 minutes before: an earlier delay into db, then no spans exported
        spans += _trace(100 + i, T - timedelta(minutes=10) + timedelta(seconds=10 * i), db_delay_ms=1000.0)
    for i in range(60):
        spans += _trace(200 + i, T + timedelta(seconds=1 + i * 2), db_delay_ms=1000.0)
    history = TimeRange(T - timedelta(minutes=20), T)
    analysis = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END, history=history)
    edge = next(e for e in analysis.edges if e.callee == "db")
    assert edge.before_gap == 2.0 and edge.after_gap == 1002.0
    assert analysis.signals["gap"]["db"] > 100  # was 1000 ms / a 1000 ms spread = 1: noise


def test_a_healthy_reference_is_a_quiet_minute_for_the_gap() -> None:
    """The delay began before the history starts; a healthy reference stretch (an hour earlier) shows the edge's
    normal gap."""
    spans: list[Span] = []
    for i in range(120):
        spans += _trace(i, T - timedelta(minutes=20) + timedelta(seconds=10 * i), db_delay_ms=1000.0)
    for i in range(60):
        spans += _trace(200 + i, T + timedelta(seconds=1 + i * 2), db_delay_ms=1000.0)
    reference = [s for i in range(30) for s in _trace(500 + i, T - timedelta(hours=1) + timedelta(seconds=10 * i))]
    history = TimeRange(T - timedelta(minutes=20), T)
    without = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END, history=history)
    assert "gap" not in without.signals  # delayed all along: no change to see
    with_ref = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END, history=history, reference=reference)
    assert with_ref.signals["gap"]["db"] > 100


def test_slow_operations_point_at_the_slowed_service() -> None:
    analysis = analyze_traces(_spans(slow_api=4.0), baseline=BASE, anomaly_start=T, end=END)
    latency = analysis.signals["latency"]
    assert set(latency) == {"api", "web"}  # both slowed: the call graph decides (see test_combine_*)
    assert "db" not in latency and "gap" not in analysis.signals


def test_dominance_rewards_a_service_that_stands_out() -> None:
    lone = dominance({"a": 40.0, "b": 2.0, "c": 2.0, "d": 1.0})
    uniform = dominance({"a": 3.0, "b": 2.8, "c": 2.9, "d": 3.1})
    assert lone["a"] > 10 and max(uniform.values()) < 1.2
    assert dominance({"a": 0.5, "b": 0.1}, floor=1.0)["a"] == 0.5  # below the floor nothing is "dominant"


def test_combine_moves_latency_blame_to_the_slow_callee() -> None:
    signals = {"metrics:latency": {"web": 30.0, "api": 31.0, "db": 29.0, "cache": 1.0}}
    ranking = combine(signals, {"web": {"api"}, "api": {"db"}})
    assert ranking.ranked[0][0] == "db"
    assert ranking.explained_by["web"] == "db"


def test_a_caller_is_a_victim_even_when_its_own_symptom_does_not_stand_out() -> None:
    """Errors in payment reach checkout in full and the entry services in part (numbers from a simulator run
    over Prometheus). Whether the entry services are victims must not hinge on their own error score clearing the
    standing-out level by a hair: their callee explains them either way."""
    graph = {"frontend": {"api-gateway"}, "api-gateway": {"checkout"}, "checkout": {"payment"}}
    for entry in (22.6, 21.5, 20.0):  # around half of payment's: once above the old level, once below
        errors = {"payment": 46.0, "checkout": 45.5, "frontend": entry, "api-gateway": 20.3, "user": 1.0}
        ranking = combine({"metrics:error": errors}, graph)
        assert ranking.ranked[0][0] == "payment", (entry, ranking.ranked[:3])
        assert ranking.explained_by.get("frontend") == "payment", (entry, ranking.explained_by)
        assert ranking.explained_by.get("api-gateway") == "payment", (entry, ranking.explained_by)


def test_resource_drops_are_not_evidence() -> None:
    ts = (0.0, 60.0)
    scores = [
        MetricScore(Series("cpu_usage", "a", ts, (1.0, 0.0)), "cpu", 20.0, -1, 1.0, 0.0, 0.0),
        MetricScore(Series("cpu_usage", "b", ts, (1.0, 2.0)), "cpu", 5.0, 1, 1.0, 2.0, 2.0),
    ]
    assert metric_family_scores(scores) == {"metrics:cpu": {"b": 5.0}}


def test_metric_families_from_generic_names() -> None:
    names = {
        "container_cpu_usage_seconds_total": "cpu",
        "jvm_memory_used_bytes": "memory",
        "http_server_request_duration_seconds_p99": "latency",
        "PodClientLatencyP90(s)": "dependency",
        "http_requests_errors_total": "error",
        "node_network_receive_bytes": "network",
        "hikaricp_pool_pending": "pool",
    }
    assert {n: metric_family(n) for n in names} == names


def _logs(service: str, template: str, n: int, start: datetime, level: str = "INFO") -> list[LogRecord]:
    return [
        LogRecord(start + timedelta(seconds=i * 100 / max(n, 1)), service, level, template.format(i=i))
        for i in range(n)
    ]


def test_log_patterns_find_the_cut_code_path_and_the_new_error() -> None:
    before, after = T - timedelta(seconds=110), T + timedelta(seconds=5)
    recs: list[LogRecord] = []
    for svc in ("orders", "users", "travel"):
        recs += _logs(svc, "accepted order request {i} from the gateway", 40, before) + _logs(
            svc, "stored row in table orders, commit ok {i}", 40, before
        )
        # the workload doubles after the start: every service logs twice as much
        recs += _logs(svc, "accepted order request {i} from the gateway", 80, after)
        recs += _logs(svc, "stored row in table orders, commit ok {i}", 80 if svc != "travel" else 10, after)
    recs += _logs("users", "lookup failed for user {i}: not found", 30, after, "ERROR")
    sig = log_signals(recs, baseline=BASE, anomaly_start=T, end=END)
    assert max(sig["shift"], key=lambda s: sig["shift"][s]) in ("travel", "users")
    assert sig["shift"]["travel"] > 5 * max(sig["shift"].get("orders", 0.0), 0.1)
    assert list(sig["errors"]) == ["users"]


def test_log_signals_ignore_a_steady_error_template() -> None:
    before, after = T - timedelta(seconds=110), T + timedelta(seconds=5)
    recs = _logs("food", "food list is null for trip {i}", 20, before, "ERROR")
    recs += _logs("food", "food list is null for trip {i}", 20, after, "ERROR")
    sig = log_signals(recs, baseline=BASE, anomaly_start=T, end=END)
    assert sig.get("errors", {}).get("food", 0.0) < 2.0
    assert float(np.max(list(sig.get("shift", {"food": 0.0}).values()))) < 2.0
