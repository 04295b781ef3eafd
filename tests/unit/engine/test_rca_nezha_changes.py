"""Engine behaviour added for real datasets, on synthetic series with known change points and culprits."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.rca.logs import template_counts
from tracehound.engine.rca.robust import RobustConfig, robust_stats
from tracehound.engine.types import Incident, LogRecord, Series, TimeRange
from tracehound.evals import bench

T = datetime(2024, 6, 1, 10, 0, tzinfo=UTC)


class _Metrics:
    name = "synthetic"

    def __init__(self, series: list[Series]) -> None:
        self.series = series

    async def services(self) -> list[str]:
        return sorted({s.service for s in self.series})

    async def query(self, window: TimeRange, *, services: object = None) -> list[Series]:
        lo, hi = window.start.timestamp(), window.end.timestamp()
        out = []
        for s in self.series:
            keep = [i for i, t in enumerate(s.timestamps) if lo <= t < hi]
            out.append(
                Series(s.name, s.service, tuple(s.timestamps[i] for i in keep), tuple(s.values[i] for i in keep))
            )
        return out


def _series(service: str, name: str, step: float, shifts: list[tuple[datetime, datetime, float]]) -> Series:
    rng = np.random.default_rng(abs(hash((service, name))) % 2**32)
    ts = np.arange((T - timedelta(minutes=70)).timestamp(), (T + timedelta(minutes=10)).timestamp(), step)
    vs = 10.0 + rng.normal(0, 0.3, len(ts))
    for a, b, size in shifts:
        vs[(ts >= a.timestamp()) & (ts < b.timestamp())] += size
    return Series(name, service, tuple(float(t) for t in ts), tuple(float(v) for v in vs))


@pytest.mark.parametrize("step", [1.0, 60.0, 300.0])
async def test_explicit_time_is_trusted_over_an_earlier_unrelated_shift(step: float) -> None:
    """An earlier, bigger shift on another service (a previous incident) must not be taken as this one."""
    early = T - timedelta(minutes=20)
    series = [
        _series("old", "cpu_usage", step, [(early, early + timedelta(minutes=5), 30.0)]),
        _series("culprit", "cpu_usage", step, [(T, T + timedelta(minutes=10), 8.0)]),
        _series("bystander", "cpu_usage", step, []),
    ]
    incident = Incident(f"Errors on the frontend since {T:%Y-%m-%d %H:%M:%S} UTC", T + timedelta(minutes=10))
    report = await investigate(incident, Sources(metrics=_Metrics(series)))
    assert report.root_cause == "culprit"
    assert report.anomaly_start is not None and abs((report.anomaly_start - T).total_seconds()) <= max(step, 180)


def test_log_rates_use_minutes_that_have_data() -> None:
    """A source that exports only a few minutes of the baseline must not make a steady template look new."""
    recs = []
    for minute in [-15, -14, -13, 1, 2, 3]:  # sparse baseline: only three minutes exported
        for k in range(10):
            recs.append(LogRecord(T + timedelta(minutes=minute, seconds=k), "svc", "ERROR", f"timeout calling db {k}"))
    counts = template_counts(
        recs, baseline=TimeRange(T - timedelta(minutes=20), T), anomaly_start=T, end=T + timedelta(minutes=5)
    )
    assert counts and all(abs(c.score) < math.log2(1.5) for c in counts)


def test_spread_guard_widens_the_scale_of_a_spiky_baseline() -> None:
    values = np.array([1.0] * 16 + [30.0, 40.0, 50.0, 60.0])
    plain = robust_stats(values, RobustConfig())[1]
    guarded = robust_stats(values, RobustConfig(spread_guard=True))[1]
    assert guarded > 5 * plain


def test_bench_on_a_generic_layout_dataset(tmp_path: Path) -> None:
    """A tiny labelled dataset in the generic layout (wide metrics, 1 s step) goes through the same bench."""
    for case, culprit in (("c1", "payments"), ("c2", "cart")):
        folder = tmp_path / case
        folder.mkdir()
        ts = np.arange((T - timedelta(minutes=30)).timestamp(), (T + timedelta(minutes=5)).timestamp(), 1.0)
        rng = np.random.default_rng(len(case) + len(culprit))
        cols = {f"{svc}_cpu": 0.2 + rng.normal(0, 0.01, len(ts)) for svc in ("payments", "cart", "web")}
        cols[f"{culprit}_cpu"][ts >= T.timestamp()] += 0.5
        lines = ["timestamp," + ",".join(cols)]
        lines += [f"{t:.0f}," + ",".join(f"{cols[c][i]:.4f}" for c in cols) for i, t in enumerate(ts)]
        (folder / "metrics.csv").write_text("\n".join(lines) + "\n")
    (tmp_path / "call_graph.csv").write_text("caller,callee\nweb,payments\nweb,cart\n")
    (tmp_path / "cases.csv").write_text(
        "case_id,system,inject_time,root_cause_service,fault_type\n"
        f"c1,shop,{T.isoformat()},payments,cpu\nc2,shop,{T.isoformat()},cart,cpu\n"
    )
    assert bench.detect_layout(tmp_path) == "generic"
    result = bench.run(bench.load_cases(tmp_path, "generic"))
    assert [(c.truth, c.ranking[:1]) for c in result.cases] == [("payments", ["payments"]), ("cart", ["cart"])]
    overall = bench.summary(result)["groups"][-1]
    assert overall["engine"]["AC@1"] == 1.0
