"""Edge latency gaps from metrics (``rca/edges.py``): the caller's and the callee's view of the same calls, on
synthetic series with a known culprit, and end to end through the generic file layout."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from tracehound.connectors.files import FilesConfig, build_files_sources
from tracehound.engine.investigate import investigate
from tracehound.engine.rca.edges import edge_gaps, edge_of, gap_signal, split_edges
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, Incident, Series, TimeRange

T = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)
STEP = 60
N_BEFORE, N_AFTER = 20, 5
TS = tuple(float((T + timedelta(seconds=STEP * (i - N_BEFORE))).timestamp()) for i in range(N_BEFORE + N_AFTER))
BASE = TimeRange(T - timedelta(minutes=10), T)
END = T + timedelta(minutes=3)


def _noise(seed: int, level: float) -> np.ndarray:
    return level * (1 + 0.05 * np.random.default_rng(seed).standard_normal(len(TS)))


def _edge(caller: str, callee: str, reporter: str, values: np.ndarray) -> Series:
    labels = ((CALLER_LABEL, caller), (REPORTER_LABEL, reporter))
    return Series("edge_latency_p50", callee, TS, tuple(float(v) for v in values), labels, "ms", f"q:{caller}>{callee}")


def _pair(caller: str, callee: str, level: float, seed: int, *, wire: float = 0.0, slow: float = 0.0) -> list[Series]:
    """Both ends' view of one edge; after T the wire adds ``wire`` ms (seen by the caller only) and the callee
    itself takes ``slow`` ms more (seen by both ends)."""
    after = np.arange(len(TS)) >= N_BEFORE
    dst = _noise(seed, level) + slow * after
    src = dst + 1.0 + 0.2 * np.random.default_rng(seed + 1).standard_normal(len(TS)) + wire * after
    return [_edge(caller, callee, "source", src), _edge(caller, callee, "destination", dst)]


def _gaps(series: list[Series]) -> dict[str, float]:
    return gap_signal(edge_gaps(series, baseline=BASE, anomaly_start=T, end=END))


def test_a_delay_on_the_wire_into_a_callee_is_the_callees() -> None:
    series = _pair("web", "api", 20.0, 1) + _pair("api", "db", 5.0, 2, wire=40.0) + _pair("web", "cart", 8.0, 3)
    gaps = edge_gaps(series, baseline=BASE, anomaly_start=T, end=END)
    top = gaps[0]
    assert (top.caller, top.callee) == ("api", "db") and top.after - top.before > 35.0
    signal = _gaps(series)
    assert max(signal, key=signal.__getitem__) == "db"
    assert signal["db"] >= 3.0 and all(v < 3.0 for s, v in signal.items() if s != "db")


def test_a_slow_callee_seen_by_both_ends_is_not_a_wire_delay() -> None:
    series = _pair("api", "db", 5.0, 2, slow=200.0) + _pair("web", "api", 20.0, 1)
    assert all(v < 3.0 for v in _gaps(series).values())


def test_a_caller_whose_calls_to_two_callees_are_delayed_takes_the_blame() -> None:
    series = _pair("checkout", "email", 3.0, 4, wire=30.0) + _pair("checkout", "payment", 3.0, 5, wire=30.0)
    series += _pair("web", "checkout", 50.0, 6)
    signal = _gaps(series)
    assert max(signal, key=signal.__getitem__) == "checkout"
    assert signal.get("email", 0.0) < 3.0 and signal.get("payment", 0.0) < 3.0


def test_one_spike_in_the_window_is_not_a_delay() -> None:
    series = _pair("api", "db", 5.0, 2)
    src = np.array(series[0].values)
    src[N_BEFORE] += 500.0  # one sample
    series[0] = _edge("api", "db", "source", src)
    assert all(v < 3.0 for v in _gaps(series).values())


def test_unpaired_and_unlabelled_series_are_left_out() -> None:
    plain = Series("cpu", "db", TS, tuple(1.0 for _ in TS))
    lonely = _pair("api", "db", 5.0, 2, wire=40.0)[0]  # the caller's side only
    odd = Series("edge_latency_p50", "db", TS, lonely.values, ((CALLER_LABEL, "api"), (REPORTER_LABEL, "proxy")))
    assert edge_of(plain) is None and edge_of(odd) is None and edge_of(lonely) == ("api", "source")
    assert split_edges([plain, lonely, odd]) == ([plain, odd], [lonely])
    assert edge_gaps([plain, lonely, odd], baseline=BASE, anomaly_start=T, end=END) == []


def _write_generic(folder: Path) -> None:
    """Three services with quiet metrics; only the caller's view of calls into ``db`` shows a delay."""
    rows = ["timestamp,service,metric,value,caller,reporter"]
    for i, t in enumerate(TS):
        after = i >= N_BEFORE
        for svc in ("web", "api", "db"):
            rows.append(f"{int(t)},{svc},cpu_usage,{0.3 + 0.01 * ((i * 7) % 5)},,")  # alike: no hint
        for caller, callee, level in (("web", "api", 20.0), ("api", "db", 5.0)):
            wobble = 0.1 * ((i * 3) % 4)
            wire = 60.0 if after and callee == "db" else 0.0
            rows.append(f"{int(t)},{callee},edge_latency_p50,{level + wobble},{caller},destination")
            rows.append(f"{int(t)},{callee},edge_latency_p50,{level + 1.0 + wobble + wire},{caller},source")
    (folder / "metrics.csv").write_text("\n".join(rows) + "\n")
    (folder / "call_graph.csv").write_text("caller,callee\nweb,api\napi,db\n")


def test_generic_layout_edge_rows_find_a_network_delay_and_cite_it(tmp_path: Path) -> None:
    _write_generic(tmp_path)
    sources = build_files_sources(FilesConfig(path=str(tmp_path)))
    assert sources.metrics is not None
    series = asyncio.run(sources.metrics.query(TimeRange(T - timedelta(hours=1), T + timedelta(hours=1))))
    edges = [s for s in series if edge_of(s) is not None]
    assert {(dict(s.labels)[CALLER_LABEL], s.service, dict(s.labels)[REPORTER_LABEL]) for s in edges} == {
        (c, d, r) for c, d in (("web", "api"), ("api", "db")) for r in ("source", "destination")
    }
    incident = Incident("web is slow since 10:00 UTC", T + timedelta(minutes=4))
    report = asyncio.run(investigate(incident, sources))
    assert report.root_cause == "db"
    cited = [e for e in report.evidence if e.citation.get("edge") == "api->db"]
    assert cited and "time on the wire" in cited[0].summary and "robust units" in cited[0].summary
    assert cited[0].citation["incident"] - cited[0].citation["baseline"] > 50.0
