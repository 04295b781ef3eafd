"""``get`` and ``create``: GET /v1/sessions/{id} and POST /v1/sessions at 64 connections, tracehound versus
the bare FastAPI baseline on the same database file (SQLite) or database (PostgreSQL)."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from bench.env import make_tenant, pg_database, sqlite_url, start_baseline, start_tracehound
from bench.load import LoadResult, run_load
from bench.report import Row
from tests.support.polling import wait_status

CONCURRENCY = 64
P99_TARGET_MS = 50.0


@contextlib.contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(tmp)
    else:
        with pg_database() as url:
            yield url


def _rows(bench: str, case: str, th: LoadResult, base: LoadResult, *, min_ratio: float) -> list[Row]:
    rps = Row(bench, case, "req/s", th.rps, base.rps, f">= {min_ratio}x")
    rps.met = rps.ratio >= min_ratio
    p50 = Row(bench, case, "p50 ms", th.latency.p50_ms, base.latency.p50_ms)
    p99 = Row(bench, case, "p99 ms", th.latency.p99_ms, base.latency.p99_ms, f"< {P99_TARGET_MS:g} ms")
    p99.met = th.latency.p99_ms < P99_TARGET_MS
    return [rps, p50, p99]


def bench_get(backend: str, *, duration: float) -> tuple[list[Row], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d, _database(backend, Path(d)) as url:
        tmp = Path(d)
        with start_tracehound(url, tmp) as server:
            tenant = make_tenant(url, sim=None, max_running=100_000)
            r = httpx.post(f"{server.base_url}/v1/sessions", headers=tenant.headers(), timeout=30,
                           json={"input": "Checkout is returning 500 errors"})
            r.raise_for_status()
            sid = r.json()["id"]
            wait_status(server.base_url, tenant.headers(), sid)
            path, headers = f"{server.base_url}/v1/sessions/{sid}", tenant.headers()
            th = run_load(lambda c: c.get(path, headers=headers), concurrency=CONCURRENCY, duration=duration)
        with start_baseline(url, tmp) as base_proc:
            path = f"{base_proc.base_url}/v1/sessions/{sid}"
            base = run_load(lambda c: c.get(path), concurrency=CONCURRENCY, duration=duration)
    return _rows("get", backend, th, base, min_ratio=0.8), {"tracehound": th.to_dict(), "baseline": base.to_dict()}


def bench_create(backend: str, *, duration: float) -> tuple[list[Row], dict[str, Any]]:
    body = {"input": "Checkout is returning 500 errors since 12:00 UTC; customers cannot pay."}
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d, _database(backend, Path(d)) as url:
        tmp = Path(d)
        with start_tracehound(url, tmp) as server:
            tenant = make_tenant(url, sim=None, max_running=100_000)
            path, headers = f"{server.base_url}/v1/sessions", tenant.headers()
            th = run_load(lambda c: c.post(path, headers=headers, json=body), concurrency=CONCURRENCY,
                          duration=duration)
        with start_baseline(url, tmp, org_id=tenant.org_id) as base_proc:
            path = f"{base_proc.base_url}/v1/sessions"
            base = run_load(lambda c: c.post(path, json=body), concurrency=CONCURRENCY, duration=duration)
    rows = _rows("create", backend, th, base, min_ratio=0.8)
    return rows, {"tracehound": th.to_dict(), "baseline": base.to_dict()}
