"""Telemetry generation for the simulator: metrics, logs, spans and changes for a window."""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import UTC, datetime

import numpy as np

from tracehound.connectors.simulator.model import POOL_MAX, ActiveFault, State, compute_state
from tracehound.connectors.simulator.topology import CALLS, INDEX, SPEC, normal, text_key, uniform
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, LogRecord, Series, TimeRange

STEP = 30.0
TRACES_PER_MINUTE = 20


def grid(window: TimeRange, step: float) -> np.ndarray:
    start = math.ceil(window.start.timestamp() / step) * step
    return np.arange(start, window.end.timestamp(), step, dtype=np.float64)


def _series(name: str, svc: str, ts: np.ndarray, vs: np.ndarray, unit: str) -> Series:
    return Series(
        name=name,
        service=svc,
        timestamps=tuple(float(t) for t in ts),
        values=tuple(round(float(v), 6) for v in vs),
        labels=(("service", svc),),
        unit=unit,
        query=f'{name}{{service="{svc}"}}',
    )


def metrics(seed: int, fault: ActiveFault | None, window: TimeRange, services: Sequence[str]) -> list[Series]:
    ts = grid(window, STEP)
    st = compute_state(ts, fault)
    out: list[Series] = []
    for svc in services:
        i = INDEX[svc]

        def n(k: int, i: int = i) -> np.ndarray:
            return normal(seed, i, k, ts=ts)

        lat = st.latency_ms[svc]
        out += [
            _series("request_rate", svc, ts, st.rate[svc] * (1 + 0.03 * n(1)), "req/s"),
            _series("error_rate", svc, ts, np.clip(st.err[svc] + 0.0008 * n(2), 0, 1), "ratio"),
            _series("latency_p50_ms", svc, ts, lat * (1 + 0.04 * n(3)), "ms"),
            _series("latency_p95_ms", svc, ts, 1.9 * lat * (1 + 0.06 * n(4)), "ms"),
            _series("latency_p99_ms", svc, ts, 2.8 * lat * (1 + 0.09 * n(5)), "ms"),
            _series("cpu_usage", svc, ts, np.clip(st.cpu[svc] + 0.015 * n(6), 0, 1), "cores"),
            _series("memory_bytes", svc, ts, st.memory_mb[svc] * 2**20 * (1 + 0.005 * n(7)), "bytes"),
        ]
        if svc in st.pool:
            pool = np.clip(np.round(st.pool[svc] + 0.8 * n(8)), 0, POOL_MAX)
            out.append(_series("db_pool_connections_in_use", svc, ts, pool, "connections"))
        out += _edge_series(seed, st, svc, ts)
    return out


EDGE_LATENCY = "edge_latency_p50_ms"


def _edge_series(seed: int, st: State, callee: str, ts: np.ndarray) -> list[Series]:
    """A service mesh's view of each call into ``callee``: its median latency as the callee's proxy measures it
    (``reporter=destination``) and as the caller's does (``reporter=source``: plus the time on the wire)."""
    out: list[Series] = []
    for j, caller in enumerate(c for c, calls in CALLS.items() if any(x == callee for x, _ in calls)):
        key = 100 + 16 * INDEX[callee] + j
        dst = st.latency_ms[callee] * (1 + 0.03 * normal(seed, key, 1, ts=ts))
        src = dst + 0.4 + st.wire_ms[callee] + 0.1 * normal(seed, key, 2, ts=ts)
        for reporter, values in (("source", src), ("destination", dst)):
            labels = ((CALLER_LABEL, caller), (REPORTER_LABEL, reporter), ("service", callee))
            query = f'{EDGE_LATENCY}{{service="{callee}", caller="{caller}", reporter="{reporter}"}}'
            vs = tuple(round(float(v), 6) for v in values)
            out.append(Series(EDGE_LATENCY, callee, tuple(float(t) for t in ts), vs, labels, "ms", query))
    return out


# (level, template, key) — the key picks the expected count per minute in _log_means
TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("INFO", "GET /api/{svc}/items/{id} 200 in {ms}ms", "info_req"),
    ("INFO", "health check passed", "info_health"),
    ("INFO", "cache refreshed with {n} entries", "info_cache"),
    ("INFO", "worker heartbeat ok queue depth {n}", "info_beat"),
    ("WARN", "slow request GET /api/{svc} took {ms}ms", "warn_slow"),
    ("WARN", "GC pause of {ms}ms", "warn_gc"),
    ("WARN", "CPU throttled for {n}% of scheduling periods", "warn_cpu"),
    ("WARN", "connection pool usage high {n}/20 in use", "warn_pool"),
    ("ERROR", "request failed with internal error code=500 request_id={hex}", "err_internal"),
    ("ERROR", "OutOfMemoryError: Java heap space while handling request {hex}", "err_oom"),
    ("ERROR", "NullPointerException in OrderHandler.handle (build {hex})", "err_npe"),
    ("ERROR", "could not acquire database connection within 5000ms", "err_pool"),
)
CALLEE_TEMPLATES: tuple[tuple[str, str, str], ...] = (
    ("ERROR", "timeout calling {callee} after {ms}ms", "err_timeout"),
    ("ERROR", "upstream {callee} returned HTTP 503", "err_upstream"),
)


def _log_means(st: State, svc: str, fault: ActiveFault | None, ts: np.ndarray) -> dict[str, np.ndarray]:
    spec = SPEC[svc]
    base = np.ones_like(ts)
    slow = np.clip(st.own_ms[svc] / spec.own_ms - 1.5, 0, None)
    mine = fault is not None and fault.service == svc
    k = fault.intensity(ts) if fault is not None and mine else np.zeros_like(ts)
    g = fault.growth(ts) if fault is not None and mine else np.zeros_like(ts)
    kind = fault.type if fault is not None and mine else ""
    return {
        "info_req": 1.5 * base,
        "info_health": 0.5 * base,
        "info_cache": 0.2 * base,
        "info_beat": 0.3 * base,
        "warn_slow": 0.03 + np.minimum(3.0, slow),
        "warn_gc": 0.03 + (3.0 * g if kind == "memory" else 0.0),
        "warn_cpu": 0.02 + (3.0 * k if kind == "cpu" else 0.0),
        "warn_pool": 0.02 + (3.0 * np.clip(st.pool[svc] - 15, 0, 1) if svc in st.pool else 0.0),
        "err_internal": 0.03 + np.minimum(12.0, st.own_err[svc] * st.rate[svc] * 3.0),
        "err_oom": 0.002 + (2.0 * (g > 0.8) if kind == "memory" else 0.0),
        "err_npe": 0.002 + (5.0 * k if kind == "bad_deploy" else 0.0),
        "err_pool": 0.002 + (6.0 * k if kind == "db_pool" else 0.0),
    }


def _fill(template: str, seed: int, key: int, t: float, svc: str, callee: str = "") -> str:
    u = uniform(seed, key, 77, ts=np.array([t]))[0]
    return template.format(
        svc=svc,
        callee=callee,
        id=int(u * 100000),
        ms=int(20 + u * 4000),
        n=int(1 + u * 99),
        hex=f"{int(u * 0xFFFFFFFFFF):010x}",
    )


def _emit(
    out: list[LogRecord],
    seed: int,
    svc: str,
    tpl: tuple[str, str],
    key: int,
    minutes: np.ndarray,
    means: np.ndarray,
    callee: str = "",
) -> None:
    counts = np.floor(means + uniform(seed, key, ts=minutes)).astype(int)
    for m, count in zip(minutes, counts, strict=True):
        for j in range(count):
            t = float(m) + 60.0 * (j + 0.5) / count
            msg = _fill(tpl[1], seed, key + j, t, svc, callee)
            out.append(LogRecord(datetime.fromtimestamp(t, UTC), svc, tpl[0], msg))


def logs(
    seed: int, fault: ActiveFault | None, window: TimeRange, services: Sequence[str], limit: int
) -> list[LogRecord]:
    minutes = grid(TimeRange(window.start.replace(second=0, microsecond=0), window.end), 60.0)
    st = compute_state(minutes + 30.0, fault)
    out: list[LogRecord] = []
    for svc in services:
        means = _log_means(st, svc, fault, minutes + 30.0)
        for level, tpl, key in TEMPLATES:
            _emit(out, seed, svc, (level, tpl), text_key(svc + key), minutes, means[key] * np.ones_like(minutes))
        for callee, share in CALLS.get(svc, ()):
            slow = np.clip(st.latency_ms[callee] / (SPEC[callee].own_ms * 3 + 30) - 1, 0, 3)
            failing = np.minimum(4.0, st.err[callee] * 15.0)
            for (level, tpl, key), mean in zip(CALLEE_TEMPLATES, (slow, failing), strict=True):
                _emit(out, seed, svc, (level, tpl), text_key(svc + callee + key), minutes, share * mean, callee)
    lo, hi = window.start, window.end
    out = sorted((r for r in out if lo <= r.ts < hi), key=lambda r: (r.ts, r.service))
    return out[:limit]
