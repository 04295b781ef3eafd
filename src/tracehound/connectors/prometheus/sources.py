"""The Prometheus metrics source: discovers the metrics that carry the service label and reads them with range
queries, one :class:`Series` per Prometheus series:

* counters (``*_total``, ``*_count``, ``*_sum``): ``rate(m{...}[rate_window])``;
* histograms (``*_bucket``): ``histogram_quantile(q, sum by (le, <service label>) (rate(m_bucket{...}[w])))``,
  one series per service named ``<m>_p95`` (for q = 0.95);
* everything else (gauges): the raw series;
* with ``edge_latency`` (a service mesh's per-edge histogram, Istio's by default): one quantile series per (caller,
  callee, reporter), the callee's, labelled ``caller`` and ``reporter`` = ``source`` | ``destination`` for the
  engine's edge gaps (``engine/rca/edges.py``).

Series discovery (``/api/v1/series``) first finds the metric names and counts the series; more than
``max_series`` fails before any data is read.

Queries run concurrently (``concurrency``); any failure raises :class:`PrometheusError` naming the server and
the query, which the engine records as a failed source (the investigation goes on without it).
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

import httpx

from tracehound.connectors.prometheus.client import (
    PrometheusClient,
    PrometheusError,
    alternatives,
    filter_matchers,
    selector,
)
from tracehound.connectors.prometheus.config import EdgeLatencyConfig, PrometheusConfig
from tracehound.engine.ports import Sources
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, Series, TimeRange

_COUNTER_SUFFIXES = ("_total", "_count", "_sum")
_SKIP_SUFFIXES = ("_created",)
MIN_STEP, MAX_POINTS = 15.0, 11_000


def is_counter(metric: str) -> bool:
    return metric.endswith(_COUNTER_SUFFIXES)


def is_histogram(metric: str) -> bool:
    return metric.endswith("_bucket")


def quantile_name(metric: str, q: float) -> str:
    """``http_duration_seconds_bucket`` at 0.95 -> ``http_duration_seconds_p95``."""
    return f"{metric.removesuffix('_bucket')}_p{round(q * 100):d}"


def promql(config: PrometheusConfig, metric: str, services: Sequence[str] | None = None) -> str:
    sel = selector(config, metric, services)
    if is_histogram(metric):
        by = f"le, {config.service_label}"
        return f"histogram_quantile({config.histogram_quantile:g}, sum by ({by}) (rate({sel}[{config.rate_window}])))"
    return f"rate({sel}[{config.rate_window}])" if is_counter(metric) else sel


def _matrix(result: list[dict[str, object]]) -> Iterator[tuple[dict[str, object], list[tuple[float, float]]]]:
    """(labels, finite points) of each well-formed series of a range query's answer that has any point."""
    for item in result:
        labels, values = item.get("metric"), item.get("values")
        if not isinstance(labels, dict) or not isinstance(values, list):
            continue
        points = [(float(t), float(v)) for t, v in values if math.isfinite(float(v))]
        if points:
            yield labels, points


def edge_promql(config: PrometheusConfig, edges: EdgeLatencyConfig, services: Sequence[str] | None = None) -> str:
    """The edge histogram's quantile per (caller, callee, reporter), both reporters, callees among ``services``."""
    matchers = [
        f'{edges.reporter_label}=~"{alternatives([edges.caller_side, edges.callee_side])}"',
        f'{edges.caller_label}!=""',
        f'{edges.callee_label}=~"{alternatives(services)}"' if services else f'{edges.callee_label}!=""',
    ]
    matchers += filter_matchers(config)
    by = f"le, {edges.caller_label}, {edges.callee_label}, {edges.reporter_label}"
    sel = f"{edges.metric}{{{', '.join(matchers)}}}"
    window = edges.rate_window or config.rate_window
    return f"histogram_quantile({edges.quantile:g}, sum by ({by}) (rate({sel}[{window}])))"


def step_for(window: TimeRange, config: PrometheusConfig) -> float:
    span = max(1.0, (window.end - window.start).total_seconds())
    step = config.step_seconds or max(MIN_STEP, math.ceil(span / 240.0))
    return max(step, math.ceil(span / MAX_POINTS))


@dataclass
class QueryStats:
    """Wall time spent waiting for Prometheus (for benchmarks and usage)."""

    queries: int = 0
    requests: int = 0
    seconds: float = 0.0
    series: int = 0
    timings: list[float] = field(default_factory=list)


class PrometheusMetrics:
    name = "prometheus"

    def __init__(self, config: PrometheusConfig, *, transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.config = config
        self.client = PrometheusClient(config, transport=transport)
        self.stats = QueryStats()

    async def services(self) -> Sequence[str]:
        async with self.client.http() as http:
            return await self.client.label_values(http, self.config.service_label, selector(self.config))

    async def discover(self, http: httpx.AsyncClient, window: TimeRange, services: Sequence[str] | None) -> list[str]:
        """The metric names to query, from series discovery (``/api/v1/series``), which also counts the series the
        queries will return: over ``max_series`` fails before any data is read."""
        c = self.config
        matches = [selector(c, m, services) for m in c.metrics] if c.metrics else [selector(c, None, services)]
        found = await self.client.series(http, matches, window.start, window.end)
        wanted: set[str] = set()
        expected: set[str] = set()
        for labels in found:
            metric = labels.get("__name__", "")
            if metric.endswith(_SKIP_SUFFIXES) or (is_histogram(metric) and c.histogram_quantile is None):
                continue
            wanted.add(metric)
            if is_histogram(metric):  # one quantile series per service
                expected.add(f"{metric}\n{labels.get(c.service_label, '')}")
            else:
                expected.add(repr(sorted(labels.items())))
        if len(expected) > c.max_series:
            raise PrometheusError(
                f"Prometheus at {c.url} has {len(expected)} series for this investigation, more than max_series="
                f"{c.max_series}; narrow it with label_filters or metrics"
            )
        return sorted(wanted)

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        started = time.perf_counter()
        try:
            out = await self._query(window, services)
        finally:
            elapsed = time.perf_counter() - started
            self.stats.queries += 1
            self.stats.seconds += elapsed
            self.stats.timings.append(elapsed)
        self.stats.series += len(out)
        return out

    async def _query(self, window: TimeRange, services: Sequence[str] | None) -> list[Series]:
        step = step_for(window, self.config)
        gate = asyncio.Semaphore(self.config.concurrency)
        async with self.client.http() as http:
            names = await self.discover(http, window, services)

            async def one(metric: str) -> list[Series]:
                async with gate:
                    q = promql(self.config, metric, services)
                    self.stats.requests += 1
                    result = await self.client.query_range(http, q, window.start, window.end, step)
                    return self._series(metric, q, result, services)

            async def edges(e: EdgeLatencyConfig) -> list[Series]:
                async with gate:
                    q = edge_promql(self.config, e, services)
                    self.stats.requests += 1
                    return self._edges(e, q, await self.client.query_range(http, q, window.start, window.end, step))

            jobs = [one(m) for m in names]
            if self.config.edge_latency is not None:
                jobs.append(edges(self.config.edge_latency))
            chunks = await asyncio.gather(*jobs)
        return [s for chunk in chunks for s in chunk]

    def _edges(self, e: EdgeLatencyConfig, query: str, result: list[dict[str, object]]) -> list[Series]:
        side = {e.caller_side: "source", e.callee_side: "destination"}
        unit = "ms" if "millisecond" in e.metric else "s" if "second" in e.metric else ""
        out: list[Series] = []
        for labels, points in _matrix(result):
            caller, callee = str(labels.get(e.caller_label, "")), str(labels.get(e.callee_label, ""))
            reporter = side.get(str(labels.get(e.reporter_label, "")))
            if not caller or not callee or reporter is None:
                continue
            out.append(
                Series(
                    name=quantile_name(e.metric, e.quantile),
                    service=callee,
                    timestamps=tuple(t for t, _ in points),
                    values=tuple(v for _, v in points),
                    labels=((CALLER_LABEL, caller), (REPORTER_LABEL, reporter)),
                    unit=unit,
                    query=query,
                )
            )
        return out

    def _series(
        self, metric: str, query: str, result: list[dict[str, object]], services: Sequence[str] | None
    ) -> list[Series]:
        wanted = None if services is None else set(services)
        out: list[Series] = []
        for labels, points in _matrix(result):
            service = str(labels.get(self.config.service_label, ""))
            if service and (wanted is None or service in wanted):
                out.append(self._one(metric, query, labels, points))
        return out

    def _one(self, metric: str, query: str, labels: dict[str, object], points: list[tuple[float, float]]) -> Series:
        service = str(labels[self.config.service_label])
        kept = tuple(sorted((str(k), str(v)) for k, v in labels.items() if k != "__name__"))
        exact = "{" + ", ".join(f'{k}="{v}"' for k, v in kept) + "}"
        if is_histogram(metric):
            name, unit, cited = quantile_name(metric, self.config.histogram_quantile or 0.95), "", query
        elif is_counter(metric):
            name, unit, cited = metric, "per_second", f"rate({metric}{exact}[{self.config.rate_window}])"
        else:
            name, unit, cited = metric, "", metric + exact
        return Series(
            name=name,
            service=service,
            timestamps=tuple(t for t, _ in points),
            values=tuple(v for _, v in points),
            labels=kept,
            unit=unit,
            query=cited,
        )


def build_prometheus_sources(config: PrometheusConfig) -> Sources:
    return Sources(metrics=PrometheusMetrics(config), call_graph=tuple((a, b) for a, b in config.call_graph))
