"""The Prometheus metrics source: discovers the metrics that carry the service label and reads them with range
queries (``rate()`` for counters), one :class:`Series` per Prometheus series."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import httpx

from tracehound.connectors.prometheus.client import PrometheusClient, PrometheusError, selector
from tracehound.connectors.prometheus.config import PrometheusConfig
from tracehound.engine.ports import Sources
from tracehound.engine.types import Series, TimeRange

_SKIP_SUFFIXES = ("_bucket", "_created")
_COUNTER_SUFFIXES = ("_total", "_count", "_sum")
MIN_STEP, MAX_POINTS = 15.0, 11_000


def is_counter(metric: str) -> bool:
    return metric.endswith(_COUNTER_SUFFIXES)


def promql(config: PrometheusConfig, metric: str) -> str:
    sel = selector(config, metric)
    return f"rate({sel}[{config.rate_window}])" if is_counter(metric) else sel


def step_for(window: TimeRange, config: PrometheusConfig) -> float:
    span = max(1.0, (window.end - window.start).total_seconds())
    step = config.step_seconds or max(MIN_STEP, math.ceil(span / 240.0))
    return max(step, math.ceil(span / MAX_POINTS))


@dataclass
class QueryStats:
    """Wall time spent waiting for Prometheus (for benchmarks and usage)."""

    queries: int = 0
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
        async with self.client._client() as http:
            return await self.client.label_values(http, self.config.service_label, selector(self.config))

    async def metric_names(self, http: httpx.AsyncClient, window: TimeRange) -> list[str]:
        if self.config.metrics is not None:
            return list(self.config.metrics)
        names = await self.client.label_values(http, "__name__", selector(self.config), window.start, window.end)
        return [n for n in names if not n.endswith(_SKIP_SUFFIXES)]

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        started = time.perf_counter()
        try:
            async with self.client._client() as http:
                names = await self.metric_names(http, window)
                step = step_for(window, self.config)
                gate = asyncio.Semaphore(self.config.concurrency)

                async def one(metric: str) -> list[Series]:
                    async with gate:
                        q = promql(self.config, metric)
                        result = await self.client.query_range(http, q, window.start, window.end, step)
                        return self._series(metric, result, services)

                chunks = await asyncio.gather(*(one(m) for m in names))
        finally:
            self.stats.queries += 1
            self.stats.seconds += time.perf_counter() - started
            self.stats.timings.append(time.perf_counter() - started)
        out = [s for chunk in chunks for s in chunk]
        if len(out) > self.config.max_series:
            raise PrometheusError(
                f"Prometheus at {self.config.url} returned {len(out)} series, more than max_series="
                f"{self.config.max_series}; narrow it with label_filters or metrics"
            )
        self.stats.series += len(out)
        return out

    def _series(self, metric: str, result: list[dict[str, object]], services: Sequence[str] | None) -> list[Series]:
        wanted = None if services is None else set(services)
        out: list[Series] = []
        for item in result:
            labels = item.get("metric")
            values = item.get("values")
            if not isinstance(labels, dict) or not isinstance(values, list):
                continue
            service = str(labels.get(self.config.service_label, ""))
            if not service or (wanted is not None and service not in wanted):
                continue
            ts: list[float] = []
            vs: list[float] = []
            for pair in values:
                v = float(pair[1])
                if math.isfinite(v):
                    ts.append(float(pair[0]))
                    vs.append(v)
            if not ts:
                continue
            kept = tuple(sorted((str(k), str(v)) for k, v in labels.items() if k != "__name__"))
            exact = "{" + ", ".join(f'{k}="{v}"' for k, v in kept) + "}"
            out.append(
                Series(
                    name=metric,
                    service=service,
                    timestamps=tuple(ts),
                    values=tuple(vs),
                    labels=kept,
                    unit="per_second" if is_counter(metric) else "",
                    query=f"rate({metric}{exact}[{self.config.rate_window}])" if is_counter(metric) else metric + exact,
                )
            )
        return out


def build_prometheus_sources(config: PrometheusConfig) -> Sources:
    return Sources(metrics=PrometheusMetrics(config), call_graph=tuple((a, b) for a, b in config.call_graph))
