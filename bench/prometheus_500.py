"""``prometheus_500``: an investigation over a real Prometheus holding 528 series (the simulator's 88 series for
6 instances, 2 hours, an injected payment error fault, backfilled with promtool): where the time goes, querying
(waiting for Prometheus and turning its answers into series) versus analysing (the engine).

Baselines, measured in the same run:

* the same investigation over an in-memory source that replays exactly the series Prometheus returned (the
  engine alone: what the investigation would cost with free I/O);
* the same HTTP requests (label and series discovery + every range query, same concurrency) with a bare ``httpx`` client
  that only decodes the JSON (the floor of the querying cost: Prometheus + HTTP + JSON).
"""

from __future__ import annotations

import asyncio
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.support import prom

from bench.report import Row
from tracehound.connectors.prometheus import PrometheusConfig, PrometheusMetrics
from tracehound.connectors.prometheus.client import selector
from tracehound.connectors.prometheus.sources import promql, step_for
from tracehound.connectors.simulator import EDGES
from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.report import Report
from tracehound.engine.types import Incident, Series, TimeRange

INSTANCES = 6
Call = tuple[TimeRange, tuple[str, ...] | None, Sequence[Series]]


class Recording(PrometheusMetrics):
    """The Prometheus source, timing every call and keeping its answers (for the replay baseline)."""

    def __init__(self, config: PrometheusConfig) -> None:
        super().__init__(config)
        self.waited = 0.0
        self.known: Sequence[str] = ()
        self.calls: list[Call] = []

    async def services(self) -> Sequence[str]:
        t0 = time.perf_counter()
        try:
            self.known = await super().services()
            return self.known
        finally:
            self.waited += time.perf_counter() - t0

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        t0 = time.perf_counter()
        try:
            out = await super().query(window, services=services)
        finally:
            self.waited += time.perf_counter() - t0
        self.calls.append((window, None if services is None else tuple(services), out))
        return out


class Replay:
    """The baseline source: answers from memory what Prometheus answered."""

    name = "prometheus"

    def __init__(self, known: Sequence[str], calls: Sequence[Call]) -> None:
        self.known = known
        self.answers = {(w, s): out for w, s, out in calls}

    async def services(self) -> Sequence[str]:
        return self.known

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        return self.answers[(window, None if services is None else tuple(services))]


async def _raw_range(http: httpx.AsyncClient, gate: asyncio.Semaphore, query: str, params: dict[str, str]) -> None:
    async with gate:
        (await http.get("/api/v1/query_range", params={"query": query, **params})).json()


async def _raw_http(config: PrometheusConfig, calls: Sequence[Call]) -> float:
    """The same requests with a bare client that only decodes the JSON."""
    t0 = time.perf_counter()
    gate = asyncio.Semaphore(config.concurrency)
    async with httpx.AsyncClient(base_url=config.url, timeout=60) as http:
        (await http.get(f"/api/v1/label/{config.service_label}/values", params={"match[]": selector(config)})).json()
        for window, services, _out in calls:
            span = {"start": f"{window.start.timestamp():.3f}", "end": f"{window.end.timestamp():.3f}"}
            match = {"match[]": selector(config, None, services)}
            found = (await http.get("/api/v1/series", params={**match, **span})).json()["data"]
            metrics = sorted({s["__name__"] for s in found if not s["__name__"].endswith("_created")})
            params = {"step": f"{step_for(window, config):g}", **span}
            await asyncio.gather(*(_raw_range(http, gate, promql(config, m, services), params) for m in metrics))
    return time.perf_counter() - t0


def _timed(incident: Incident, sources: Sources) -> tuple[float, Report]:
    t0 = time.perf_counter()
    report = asyncio.run(investigate(incident, sources))
    return time.perf_counter() - t0, report


def _median(xs: Sequence[float]) -> float:
    return round(statistics.median(xs), 3)


def _measure(config: PrometheusConfig, incident: Incident, runs: int) -> dict[str, Any]:
    edges = tuple(EDGES)
    _timed(incident, Sources(metrics=Recording(config), call_graph=edges))  # warm-up: imports, Prometheus caches
    totals, waits, replays, raws, series, roots = [], [], [], [], [], set()
    for _ in range(runs):
        src = Recording(config)
        total, report = _timed(incident, Sources(metrics=src, call_graph=edges))
        totals.append(total)
        waits.append(src.waited)
        series.append(max((len(out) for _w, _s, out in src.calls), default=0))
        roots.add(report.root_cause)
        replay_total, replay_report = _timed(incident, Sources(metrics=Replay(src.known, src.calls), call_graph=edges))
        assert replay_report.root_cause == report.root_cause, "the replay must reach the same conclusion"
        replays.append(replay_total)
        raws.append(asyncio.run(_raw_http(config, src.calls)))
        requests, calls = src.stats.requests, len(src.calls)
    return {
        "totals": totals,
        "querying": waits,
        "analysing": [t - w for t, w in zip(totals, waits, strict=True)],
        "replay": replays,
        "raw_http": raws,
        "series": max(series),
        "root_causes": sorted(str(r) for r in roots),
        "queries_per_investigation": calls,
        "http_requests_per_investigation": requests + calls + 1,
    }


def _rows(m: dict[str, Any]) -> list[Row]:
    case = f"{m['series']} series, in-process"
    share = _median([100 * w / t for w, t in zip(m["querying"], m["totals"], strict=True)])
    floor = _median([100 * r / (r + a) for r, a in zip(m["raw_http"], m["replay"], strict=True)])
    total = Row("prometheus_500", case, "investigation s", _median(m["totals"]), _median(m["replay"]), "finds payment")
    total.met = m["root_causes"] == ["payment"]
    return [
        total,
        Row("prometheus_500", case, "querying s", _median(m["querying"]), _median(m["raw_http"])),
        Row("prometheus_500", case, "analysing s", _median(m["analysing"]), _median(m["replay"])),
        Row("prometheus_500", case, "querying % of total", share, floor),
    ]


def _rounded(m: dict[str, Any]) -> dict[str, Any]:
    return {
        k: [round(x, 4) for x in v] if isinstance(v, list) and v and isinstance(v[0], float) else v
        for k, v in m.items()
    }


def bench_prometheus(*, runs: int) -> tuple[list[Row], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="th-bench-prom-") as d:
        tmp = Path(d)
        now = datetime.now(UTC).replace(microsecond=0)
        fault_start = now - timedelta(minutes=20)
        fault = {"service": "payment", "type": "errors", "start": fault_start.isoformat(), "duration_minutes": 120}
        text, count = prom.openmetrics(7, fault, now - timedelta(hours=2), now, instances=INSTANCES)
        prom.backfill(text, tmp / "tsdb")
        daemon = prom.prometheus(tmp).start()
        try:
            config = PrometheusConfig(url=daemon.url, label_filters={"job": "shop"})
            incident = Incident(text="Checkout requests are failing with 500s", created_at=now, time=fault_start)
            m = _measure(config, incident, runs)
        finally:
            daemon.stop()
    m["backfilled_series"] = count
    m["runs"] = runs
    return _rows(m), _rounded(m)
