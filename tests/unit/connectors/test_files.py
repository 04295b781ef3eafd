"""The ``files`` connector: the generic layout (long and wide metrics, logs, spans, changes, call graph, cases),
the Nezha layout (on the shipped fixture) and the registry's validation."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tracehound.connectors.files import FilesConfig, build_files_sources, generic, nezha
from tracehound.connectors.files.common import log_level, parse_epoch, read_columns
from tracehound.connectors.registry import SOURCE_KINDS, build_sources, validate_source_config
from tracehound.engine.types import TimeRange

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
FIXTURE = Path(__file__).parents[2] / "fixtures" / "nezha"
ALL = TimeRange(T0 - timedelta(days=1), T0 + timedelta(days=1))


def _write_case(folder: Path, *, wide: bool, step: int = 300) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if wide:
        lines = ["timestamp,cart-db_cpu,front-end_latency_p99"]
        lines += [f"{(T0 + timedelta(seconds=i * step)).isoformat()},{0.1 * i},{1.5}" for i in range(12)]
    else:
        lines = ["time,service,metric,value"]
        lines += [f"{int((T0 + timedelta(seconds=i * step)).timestamp() * 1000)},cart,cpu,{i}" for i in range(12)]
    (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    logs = [
        {"timestamp": (T0 + timedelta(minutes=i)).isoformat(), "service": "cart", "message": f"ERROR boom {i}"}
        for i in range(3)
    ]
    (folder / "logs.jsonl").write_text("\n".join(json.dumps(x) for x in logs) + "\n")
    (folder / "spans.csv").write_text(
        "trace_id,span_id,parent_id,service,operation,start,duration_us,error\n"
        f"t1,a,,front-end,GET /,{int(T0.timestamp() * 1e9)},5000,false\n"
        f"t1,b,a,cart,get,{int(T0.timestamp() * 1e9) + 1000},3000,true\n"
    )


def test_generic_long_form_ms_epochs_and_five_minute_step(tmp_path: Path) -> None:
    _write_case(tmp_path, wide=False)
    (tmp_path / "changes.json").write_text(
        json.dumps([{"ts": T0.isoformat(), "service": "cart", "kind": "deploy", "description": "v2"}])
    )
    (tmp_path / "call_graph.csv").write_text("caller,callee\nfront-end,cart\n")
    src = build_files_sources(FilesConfig(path=str(tmp_path)))
    assert src.metrics is not None and src.logs is not None and src.traces is not None and src.changes is not None
    series = _run(src.metrics.query(ALL))
    assert [(s.service, s.name, len(s.values)) for s in series] == [("cart", "cpu", 12)]
    assert series[0].timestamps[1] - series[0].timestamps[0] == 300
    logs = _run(src.logs.logs(ALL))
    assert [r.level for r in logs] == ["ERROR"] * 3
    spans = _run(src.traces.spans(ALL))
    assert spans[1].parent_id == "a" and spans[1].error and spans[1].duration_ms == 3.0
    assert _run(src.changes.changes(ALL))[0].kind == "deploy"
    assert src.call_graph == (("front-end", "cart"),)


def test_generic_wide_form_splits_on_known_services(tmp_path: Path) -> None:
    _write_case(tmp_path, wide=True, step=1)
    (tmp_path / "call_graph.json").write_text(json.dumps([{"source": "front-end", "target": "cart-db"}]))
    src = build_files_sources(FilesConfig(path=str(tmp_path)))
    assert src.metrics is not None
    names = {(s.service, s.name) for s in _run(src.metrics.query(ALL))}
    assert names == {("cart-db", "cpu"), ("front-end", "latency_p99")}


def test_generic_dataset_with_cases_and_shared_call_graph(tmp_path: Path) -> None:
    _write_case(tmp_path / "c1", wide=False)
    (tmp_path / "call_graph.csv").write_text("source,target\nfront-end,cart\n")
    (tmp_path / "cases.csv").write_text(
        f"case_id,system,inject_time,root_cause_service,fault_type\nc1,shop,{T0.isoformat()},cart,cpu\n"
    )
    found = generic.cases(tmp_path)
    assert [(c.case_id, c.service, c.inject_time) for c in found] == [("c1", "cart", T0)]
    config = validate_source_config("files", {"path": str(tmp_path), "case": "c1"})
    src = build_sources([("files", config)], anchor=T0)
    assert src.call_graph == (("front-end", "cart"),) and src.metrics is not None


def test_registry_validates_files_config(tmp_path: Path) -> None:
    assert "files" in SOURCE_KINDS
    with pytest.raises(ValueError, match="path"):
        validate_source_config("files", {"path": str(tmp_path / "nope")})
    with pytest.raises(ValueError, match="layout"):
        validate_source_config("files", {"path": str(tmp_path), "layout": "csv"})
    with pytest.raises(ValueError, match="rca_data"):
        validate_source_config("files", {"path": str(tmp_path), "layout": "nezha"})
    with pytest.raises(ValueError, match="date: required"):
        validate_source_config("files", {"path": str(FIXTURE), "layout": "nezha"})
    with pytest.raises(ValueError, match="case"):
        validate_source_config("files", {"path": str(FIXTURE), "layout": "nezha", "date": "2023-01-29", "case": "x"})


def test_nezha_fixture_case_is_cut_at_its_horizon() -> None:
    case = next(c for c in nezha.cases(FIXTURE) if c.system == "TrainTicket")
    assert case.service == nezha.service_of(case.pod) and case.service.startswith("ts-")
    config = FilesConfig(path=str(FIXTURE), layout="nezha", date=case.date, case=case.case_id)
    src = build_files_sources(config)
    assert src.metrics is not None and src.logs is not None and src.traces is not None
    window = TimeRange(case.inject_time - timedelta(hours=1), case.inject_time + timedelta(hours=1))
    series = _run(src.metrics.query(window))
    assert series and all(t < case.horizon.timestamp() for s in series for t in s.timestamps)
    assert not any(s.name.startswith("Node") for s in series)
    logs = _run(src.logs.logs(window))
    assert logs and max(r.ts for r in logs) < case.horizon
    assert {r.level for r in logs} >= {"INFO", "ERROR"}
    spans = _run(src.traces.spans(window))
    assert spans and any(s.parent_id is None for s in spans)


def test_helpers() -> None:
    assert parse_epoch("1714564800000") == parse_epoch(1714564800) == T0.timestamp()
    assert parse_epoch("2024-05-01 12:00:00.5 +0000 UTC m=+0.1") == T0.timestamp() + 0.5
    assert parse_epoch("2024-05-01T14:00:00+02:00") == T0.timestamp()
    assert log_level('{"severity":"warning","message":"x"}') == "WARN"
    assert log_level("17:25:34.987 INFO  s.s.Impl#119 ok") == "INFO"
    assert log_level("no level here") == "INFO"


def test_read_columns_picks_columns_by_name_and_fills_gaps(tmp_path: Path) -> None:
    path = tmp_path / "t.csv"
    path.write_text(" b ,a,c\n1,2,3\n4,5\n\n6,7,8,9\n")
    rows = list(read_columns(path, ("a", "b", "missing")))
    # a short row, a blank line and a long row: no row lost or shifted, absent cells are ""
    assert rows == [("2", "1", ""), ("5", "4", ""), ("", "", ""), ("7", "6", "")]


def _run(coro: object) -> list:  # type: ignore[type-arg]
    import asyncio

    return list(asyncio.run(coro))  # type: ignore[arg-type]


def test_generic_separate_normal_and_anomalous_metric_files_are_merged(tmp_path: Path) -> None:
    """1-second container metrics shipped as a normal and an anomalous file read as one series per metric."""
    for name, lo, hi in (("metrics_normal.csv", 0, 30), ("metrics_anomalous.csv", 30, 40)):
        rows = ["timestamp,cart_cpu,web_cpu"] + [f"{T0.timestamp() + i:.0f},{i},{2 * i}" for i in range(lo, hi)]
        (tmp_path / name).write_text("\n".join(rows) + "\n")
    src = build_files_sources(FilesConfig(path=str(tmp_path)))
    assert src.metrics is not None
    series = {(s.service, s.name): s for s in _run(src.metrics.query(ALL))}
    assert set(series) == {("cart", "cpu"), ("web", "cpu")}
    cart = series[("cart", "cpu")]
    assert len(cart.values) == 40 and cart.values[:2] == (0.0, 1.0) and cart.values[-1] == 39.0
    assert all(b - a == 1.0 for a, b in zip(cart.timestamps, cart.timestamps[1:], strict=False))


def test_generic_reference_stretches_are_declared_and_cut_at_the_horizon(tmp_path: Path) -> None:
    _write_case(tmp_path, wide=False)
    stretches = [
        {"start": (T0 - timedelta(hours=2)).isoformat(), "end": (T0 - timedelta(hours=1)).isoformat()},
        {"from": (T0 - timedelta(minutes=10)).isoformat(), "to": (T0 + timedelta(minutes=10)).isoformat()},
        {"start": (T0 + timedelta(hours=1)).isoformat(), "end": (T0 + timedelta(hours=2)).isoformat()},
    ]
    (tmp_path / "reference.json").write_text(json.dumps(stretches))
    assert build_files_sources(FilesConfig(path=str(tmp_path))).reference == (
        TimeRange(T0 - timedelta(hours=2), T0 - timedelta(hours=1)),
        TimeRange(T0 - timedelta(minutes=10), T0 + timedelta(minutes=10)),
        TimeRange(T0 + timedelta(hours=1), T0 + timedelta(hours=2)),
    )
    cut = generic.build_generic_sources(tmp_path, horizon=T0)  # a case sees nothing after its horizon
    assert cut.reference == (
        TimeRange(T0 - timedelta(hours=2), T0 - timedelta(hours=1)),
        TimeRange(T0 - timedelta(minutes=10), T0),
    )
    (tmp_path / "reference.json").write_text(json.dumps([{"start": T0.isoformat(), "end": T0.isoformat()}]))
    with pytest.raises(ValueError, match="must end after it starts"):
        generic.build_generic_sources(tmp_path)


def test_nezha_edge_latency_files_become_labelled_edge_series() -> None:
    series = nezha.load_metrics(str(FIXTURE / "rca_data" / "2022-08-22" / "metric"))
    edges = [s for s in series if s.name == nezha.EDGE_LATENCY]
    sides = {(dict(s.labels)["caller"], s.service, dict(s.labels)["reporter"]) for s in edges}
    assert ("checkoutservice", "emailservice", "source") in sides
    assert ("checkoutservice", "emailservice", "destination") in sides
    assert ("frontend", "checkoutservice", "source") in sides
    assert all(s.unit == "s" and len(s.timestamps) == 32 for s in edges)
    one = next(s for s in edges if s.service == "emailservice" and dict(s.labels)["reporter"] == "source")
    assert one.query == "file:source_50.csv.gz#checkoutservice_emailservice"
    assert all(59 <= b - a <= 61 for a, b in zip(one.timestamps, one.timestamps[1:], strict=False))  # 1-min samples
    assert min(one.values) > 0 and max(one.values) < 60  # seconds, as the files hold them
