"""Request shapes (rca/flows.py), the healthy reference stretch, and the combination rules added with them."""

from __future__ import annotations

import gzip
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from tracehound.connectors.files.nezha import reference_minutes
from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.rca.combine import combine
from tracehound.engine.rca.flows import (
    LOCATION,
    FlowChange,
    analyze_flows,
    flow_scores,
    without_healed_callees,
)
from tracehound.engine.rca.traces import analyze_traces
from tracehound.engine.types import Incident, LogRecord, Span, TimeRange

T = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
BASE = TimeRange(T - timedelta(minutes=2), T)
END = T + timedelta(minutes=3)


def _request(i: int, start: datetime, *, broken: bool, endpoint: str) -> tuple[list[Span], list[LogRecord]]:
    """gateway -> price: the price handler logs two statements; ``broken`` throws between them."""
    tid = f"t{i:04d}"
    spans = [
        Span(tid, "g", None, "gateway", "/route", start, 20.0),
        Span(tid, "c", "g", "gateway", "HTTP GET", start, 12.0),
        Span(tid, "p", "c", "price", endpoint, start, 10.0),
        Span(tid, "q", "p", "price", "SELECT price_config", start, 2.0),
    ]
    logs = [
        LogRecord(start, "gateway", "INFO", f"12:00:00.000 INFO g.c.RouteController#20 route for {i}", tid),
        LogRecord(start, "price", "INFO", f"12:00:00.001 INFO p.c.PriceController#39 query price of route {i}", tid),
    ]
    if not broken:
        logs.append(LogRecord(start, "price", "INFO", f"12:00:00.002 INFO p.c.PriceController#46 found {i}", tid))
    return spans, logs


def _data(*, broken_after: bool, mix_after: float = 0.5) -> tuple[list[Span], list[LogRecord]]:
    spans: list[Span] = []
    logs: list[LogRecord] = []
    for i in range(60):  # before: half the requests to each endpoint
        s, lg = _request(i, T - timedelta(seconds=110 - i), broken=False, endpoint=("/one", "/two")[i % 2])
        spans, logs = spans + s, logs + lg
    for i in range(80):  # after: another mix of endpoints; /two broken when asked
        endpoint = "/one" if i < 80 * mix_after else "/two"
        s, lg = _request(1000 + i, T + timedelta(seconds=1 + i), broken=broken_after and endpoint == "/two",
                         endpoint=endpoint)  # fmt: skip
        spans, logs = spans + s, logs + lg
    return spans, logs


def _moved_back(spans: list[Span], logs: list[LogRecord], by: timedelta) -> tuple[list[Span], list[LogRecord]]:
    """Everything before the start moved ``by`` earlier."""
    return (
        [replace(s, start=s.start - by) if s.start < T else s for s in spans],
        [replace(r, ts=r.ts - by) if r.ts < T else r for r in logs],
    )


def test_a_log_statement_no_longer_reached_points_at_its_service() -> None:
    spans, logs = _data(broken_after=True)
    changes = analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes
    top = changes[0]
    assert (top.service, top.endpoint, top.step) == ("price", "/two", "log p.c.PriceController#46")
    assert (top.before_with, top.before_n, top.after_with, top.after_n) == (30, 30, 0, 40)
    assert top.vanished and top.score > 5
    assert max(flow_scores(changes).items(), key=lambda kv: kv[1])[0] == "price"


def test_a_change_in_the_workload_mix_is_not_a_change_in_shape() -> None:
    """90 % of requests now hit /one: log counts per service move a lot, request shapes do not."""
    spans, logs = _data(broken_after=False, mix_after=0.9)
    changes = analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes
    assert max((c.score for c in changes), default=0.0) < 1.0


def _rare(after: int) -> tuple[list[Span], list[LogRecord]]:
    """/one carries the traffic; /two (a checkout) is asked 16 times before and ``after`` times after, broken."""
    spans: list[Span] = []
    logs: list[LogRecord] = []
    for i in range(64):
        s, lg = _request(i, T - timedelta(seconds=110 - i), broken=False, endpoint="/two" if i % 4 == 0 else "/one")
        spans, logs = spans + s, logs + lg
    for i in range(60):
        s, lg = _request(
            1000 + i, T + timedelta(seconds=1 + i), broken=i < after, endpoint="/two" if i < after else "/one"
        )
        spans, logs = spans + s, logs + lg
    return spans, logs


def test_a_handful_of_requests_of_a_rare_endpoint_is_enough() -> None:
    spans, logs = _rare(after=4)
    top = analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes[0]
    assert (top.service, top.endpoint, top.step) == ("price", "/two", "log p.c.PriceController#46")
    assert (top.before_with, top.before_n, top.after_with, top.after_n) == (16, 16, 0, 4)
    assert top.score > 4
    # two requests are not a share
    spans, logs = _rare(after=2)
    assert not [c for c in analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes
                if c.endpoint == "/two"]  # fmt: skip


def test_steps_are_code_locations_when_lines_name_them() -> None:
    assert LOCATION.search("INFO  c.s.ContactsServiceImpl#34 TraceID: x").group(0) == "c.s.ContactsServiceImpl#34"  # type: ignore[union-attr]
    assert LOCATION.search("ERROR cart.py:120 boom").group(0) == "cart.py:120"  # type: ignore[union-attr]
    assert LOCATION.search("order #123 shipped") is None


def test_lines_without_a_location_are_grouped_by_template() -> None:
    spans, logs = _data(broken_after=True)
    logs = [LogRecord(r.ts, r.service, r.level, r.message.split("#", 1)[1][3:], r.trace_id) for r in logs]
    changes = analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes
    assert changes[0].service == "price" and changes[0].step.startswith("log found")


def test_a_healthy_reference_stretch_serves_as_the_baseline() -> None:
    """No request before the start in the recent window, but an hour earlier a healthy stretch was recorded."""
    spans, logs = _data(broken_after=True)
    shift = timedelta(hours=1)
    spans, logs = _moved_back(spans, logs, shift)
    reference = TimeRange(BASE.start - shift, BASE.end - shift)
    assert not analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END).changes
    changes = analyze_flows(logs, spans, baseline=[BASE, reference], anomaly_start=T, end=END).changes
    assert changes[0].service == "price" and changes[0].vanished


class _Logs:
    name = "files"

    def __init__(self, records: list[LogRecord]) -> None:
        self.records = records
        self.asked: list[TimeRange] = []

    async def logs(self, window: TimeRange, *, services: object = None, limit: int = 100_000) -> list[LogRecord]:
        self.asked.append(window)
        return [r for r in self.records if window.start <= r.ts < window.end]


class _Traces:
    name = "files"

    def __init__(self, spans: list[Span]) -> None:
        self.all = spans

    async def spans(self, window: TimeRange, *, limit: int = 200_000) -> list[Span]:
        return [s for s in self.all if window.start <= s.start < window.end]


async def test_the_engine_reads_the_reference_and_cites_the_step() -> None:
    spans, logs = _data(broken_after=True)
    shift = timedelta(hours=3)  # far outside the investigation's own windows
    spans, logs = _moved_back(spans, logs, shift)
    source = _Logs(logs)
    reference = (TimeRange(BASE.start - shift, BASE.end - shift),)
    sources = Sources(logs=source, traces=_Traces(spans), reference=reference)
    report = await investigate(Incident(f"price errors since {T:%H:%M} UTC", END), sources)
    assert report.root_cause == "price"
    assert any(w.start == BASE.start - shift for w in source.asked)
    cited = [e for e in report.evidence if "endpoint" in e.citation]
    assert cited and cited[0].citation["step"] == "log p.c.PriceController#46"
    assert cited[0].citation["with_step_before"] == 30 and cited[0].citation["with_step_after"] == 0
    assert report.usage["log_lines"] == len(logs)


def test_nezha_reference_minutes_are_the_fault_free_minutes_before_the_horizon(tmp_path: Path) -> None:
    folder = tmp_path / "construct_data" / "2023-01-29"
    for kind, minute in (("log", "08_50"), ("trace", "08_50"), ("trace", "09_10")):
        (folder / kind).mkdir(parents=True, exist_ok=True)
        with gzip.open(folder / kind / f"{minute}_{kind}.csv.gz", "wt") as fh:
            fh.write("x\n")
    got = reference_minutes(tmp_path, "2023-01-29", datetime(2023, 1, 29, 9, 0, tzinfo=UTC))
    assert got == (TimeRange(datetime(2023, 1, 29, 8, 50, tzinfo=UTC), datetime(2023, 1, 29, 8, 51, tzinfo=UTC)),)
    assert len(reference_minutes(tmp_path, "2023-01-29")) == 2
    assert reference_minutes(tmp_path, "2022-01-01") == ()


def test_being_one_of_the_pack_in_many_signals_is_no_evidence() -> None:
    """``a`` stands far above the rest in one signal; ``b`` sits among the top few in eight noisy ones."""
    pack = {"b": 3.0, "c": 3.0, "d": 2.9, "e": 3.1, "f": 3.0, "g": 2.8}
    signals = {f"metrics:s{i}": dict(pack) for i in range(8)}
    signals["logs:errors"] = {"a": 40.0, "b": 2.0, "c": 2.0, "d": 2.0}
    ranking = combine(signals, {})
    assert ranking.ranked[0][0] == "a"
    assert ranking.combined["b"] < 0.1
    assert [s for s, _ in ranking.ranked][:2] == ["a", "e"]  # the rest keep an order (tie-break)


def test_a_signal_whose_top_usually_stands_out_counts_less() -> None:
    signals = {"metrics:latency": {"x": 20.0, "y": 1.0, "z": 1.0}, "logs:errors": {"w": 8.0, "y": 1.0, "z": 1.0}}
    assert combine(signals, {}).ranked[0][0] == "x"
    assert combine(signals, {}, usual_top={"metrics:latency": 10.0}).ranked[0][0] == "w"


def test_a_slow_database_is_not_a_network_delay_into_the_cache() -> None:
    """A handler span (no client spans) calls the database, then the cache: the database slows down. The time of
    the handler not covered by its children must not be read as a delay on the wire into the cache."""

    def trace(i: int, start: datetime, db_ms: float) -> list[Span]:
        tid = f"t{i}"
        return [
            Span(tid, "h", "x", "catalog", "/items", start, 5.0 + db_ms + 1.0),
            Span(tid, "d", "h", "postgres", "SELECT", start + timedelta(milliseconds=2), db_ms),
            Span(tid, "r", "h", "redis", "GET", start + timedelta(milliseconds=2 + db_ms), 1.0),
            Span(tid, "x", None, "web", "/", start, 8.0 + db_ms),
        ]

    spans = [s for i in range(40) for s in trace(i, T - timedelta(seconds=100 - i), 10.0)]
    spans += [s for i in range(60) for s in trace(100 + i, T + timedelta(seconds=1 + i), 200.0)]
    analysis = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END)
    assert "redis" not in analysis.signals.get("gap", {})
    assert analysis.signals["latency"]["postgres"] > 3


def test_no_earlier_windows_when_the_scored_window_is_empty() -> None:
    """An anomaly start at the very end of the data leaves a scored window of zero length: no earlier windows
    (stepping back by zero would never end)."""
    from tracehound.engine.scoring import InvestigationConfig, _usual_metric_tops

    window = TimeRange(T - timedelta(hours=1), T)
    assert _usual_metric_tops([], window, T, timedelta(minutes=10), timedelta(0), InvestigationConfig()) == {}


def _failing_then_healed(i: int, start: datetime, *, failing: bool) -> tuple[list[Span], list[LogRecord]]:
    """travel -> seat. While seat was broken, travel's handler failed fast with an error log; healed, it calls
    seat and takes its normal (slower) path."""
    tid = f"h{i:04d}"
    spans = [Span(tid, "a", None, "travel", "/trips/left", start, 8.0 if failing else 120.0)]
    spans.append(Span(tid, "b", "a", "travel", "TravelController.query", start, 5.0 if failing else 110.0))
    logs = [LogRecord(start, "travel", "INFO", f"12:00:00.000 INFO t.s.TravelServiceImpl#40 query {i}", tid)]
    if failing:
        logs.append(LogRecord(start, "travel", "ERROR", f"12:00:00.001 ERROR t.c.ErrorHandler#12 failed {i}", tid))
    else:
        spans.append(Span(tid, "c", "b", "travel", "HTTP POST", start, 100.0))
        spans.append(Span(tid, "d", "c", "seat", "/seats/left", start, 90.0))
        logs.append(LogRecord(start, "travel", "INFO", f"12:00:00.002 INFO t.s.TravelServiceImpl#66 left {i}", tid))
    return spans, logs


def test_an_endpoint_that_recovers_is_not_a_new_fault() -> None:
    spans: list[Span] = []
    logs: list[LogRecord] = []
    for i in range(200):  # before: every request failed; after: none does
        before = i < 100
        at = T - timedelta(seconds=100 - i) if before else T + timedelta(seconds=i - 99)
        s, lg = _failing_then_healed(i, at, failing=before)
        spans, logs = spans + s, logs + lg
    shapes = analyze_flows(logs, spans, baseline=[BASE], anomaly_start=T, end=END)
    assert shapes.recovered == {("travel", "/trips/left")}
    assert not [c for c in shapes.changes if c.service == "travel"]  # the error path vanishing is no fault
    # its operations got slower as they went back to doing the whole work: not a slowdown to blame travel for
    assert ("travel", "TravelController.query") in shapes.recovered_ops
    latency = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END, skip_ops=shapes.recovered_ops)
    unskipped = analyze_traces(spans, baseline=BASE, anomaly_start=T, end=END)
    assert unskipped.signals["latency"]["travel"] > 3 and "travel" not in latency.signals.get("latency", {})
    # the same change the other way round (healthy, then failing) is reported
    flipped = [replace(s, start=T + (T - s.start)) for s in spans]
    flipped_logs = [replace(r, ts=T + (T - r.ts)) for r in logs]
    fault = analyze_flows(flipped_logs, flipped, baseline=[BASE], anomaly_start=T, end=END)
    assert not fault.recovered and fault.changes[0].service == "travel" and fault.changes[0].score > 5


def test_the_callees_of_a_recovered_caller_are_not_blamed_for_their_new_requests() -> None:
    changes = [
        FlowChange("seat", "/seats/left", "log s.s.SeatServiceImpl#154", 0, 21, 17, 30, 4.2),
        FlowChange("route", "/routes/byIds", "log r.c.RouteController#53", 29, 29, 1, 59, 9.1),
    ]
    graph = {"travel": {"seat"}, "gateway": {"travel", "route"}}
    kept = without_healed_callees(changes, {("travel", "/trips/left")}, graph)
    assert [c.service for c in kept] == ["route"]  # seat is asked again by a healed travel; route changed itself
    assert without_healed_callees(changes, set(), graph) == changes
