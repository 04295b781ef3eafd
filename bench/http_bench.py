"""``get`` and ``create``: GET /v1/sessions/{id} and POST /v1/sessions at 64 connections, tracehound versus
the bare FastAPI baseline on the same database file (SQLite) or database (PostgreSQL).

Both servers run at once (each one process) and are measured in alternating rounds (tracehound, baseline,
tracehound, baseline...), so that background load on the machine affects both alike.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from tests.support.polling import wait_status

from bench import wrk
from bench.env import make_tenant, pg_database, sqlite_url, start_baseline, start_tracehound
from bench.load import LoadResult, Request, run_load
from bench.report import Row

CONCURRENCY = 64
ROUNDS = 2
P99_TARGET_MS = 50.0
MIN_RATIO = 0.8


@contextlib.contextmanager
def _database(backend: str, tmp: Path) -> Iterator[str]:
    if backend == "sqlite":
        yield sqlite_url(tmp)
    else:
        with pg_database() as url:
            yield url


@dataclass(frozen=True, slots=True)
class Target:
    """One side of a comparison: the same request for wrk (url, method, headers, body) and for bench/load.py."""

    url: str
    method: str = "GET"
    headers: dict[str, str] = field(default_factory=dict)
    body: dict[str, Any] | None = None

    def python(self) -> Request:
        return lambda c: c.request(self.method, self.url, headers=self.headers, json=self.body)

    def run(self, duration: float) -> LoadResult:
        if wrk.available():
            body = None if self.body is None else json.dumps(self.body)
            headers = {**self.headers, **({"Content-Type": "application/json"} if body else {})}
            return wrk.run_wrk(
                self.url, method=self.method, headers=headers, body=body, concurrency=CONCURRENCY, duration=duration
            )
        return run_load(self.python(), concurrency=CONCURRENCY, duration=duration)


def generator() -> str:
    return "wrk" if wrk.available() else "bench/load.py (httpx; install wrk for a lighter load generator)"


def _alternate(th: Target, base: Target, *, duration: float) -> tuple[LoadResult, LoadResult]:
    th_parts, base_parts = [], []
    for _ in range(ROUNDS):
        th_parts.append(th.run(duration / ROUNDS))
        base_parts.append(base.run(duration / ROUNDS))
    return LoadResult.merge(th_parts), LoadResult.merge(base_parts)


def _rows(bench: str, case: str, th: LoadResult, base: LoadResult, *, targets: bool) -> list[Row]:
    """req/s, p50 and p99; the targets (ratio >= 0.8x, p99 < 50 ms) apply to ``get`` only."""
    rps = Row(bench, case, "req/s", th.rps, base.rps, f">= {MIN_RATIO}x" if targets else "")
    p50 = Row(bench, case, "p50 ms", th.latency.p50_ms, base.latency.p50_ms)
    p99 = Row(
        bench, case, "p99 ms", th.latency.p99_ms, base.latency.p99_ms, f"< {P99_TARGET_MS:g} ms" if targets else ""
    )
    if targets:
        rps.met = rps.ratio >= MIN_RATIO
        p99.met = th.latency.p99_ms < P99_TARGET_MS
    return [rps, p50, p99]


def bench_get(backend: str, *, duration: float) -> tuple[list[Row], dict[str, Any]]:
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d, _database(backend, Path(d)) as url:
        tmp = Path(d)
        with start_tracehound(url, tmp) as server:
            tenant = make_tenant(url, sim=None, max_running=100_000)
            r = httpx.post(
                f"{server.base_url}/v1/sessions",
                headers=tenant.headers(),
                timeout=30,
                json={"input": "Checkout is returning 500 errors"},
            )
            r.raise_for_status()
            sid = r.json()["id"]
            wait_status(server.base_url, tenant.headers(), sid)
            th_target = Target(f"{server.base_url}/v1/sessions/{sid}", headers=tenant.headers())
            with start_baseline(url, tmp) as base_proc:
                base_target = Target(f"{base_proc.base_url}/v1/sessions/{sid}")
                th, base = _alternate(th_target, base_target, duration=duration)
    details = {"generator": generator(), "tracehound": th.to_dict(), "baseline": base.to_dict()}
    return _rows("get", backend, th, base, targets=True), details


def bench_create(backend: str, *, duration: float) -> tuple[list[Row], dict[str, Any]]:
    body = {"input": "Checkout is returning 500 errors since 12:00 UTC; customers cannot pay."}
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d, _database(backend, Path(d)) as url:
        tmp = Path(d)
        with start_tracehound(url, tmp) as server:
            tenant = make_tenant(url, sim=None, max_running=100_000)
            th_target = Target(f"{server.base_url}/v1/sessions", "POST", tenant.headers(), body)
            with start_baseline(url, tmp, org_id=tenant.org_id) as base_proc:
                base_target = Target(f"{base_proc.base_url}/v1/sessions", "POST", {}, body)
                th, base = _alternate(th_target, base_target, duration=duration)
    rows = _rows("create", backend, th, base, targets=False)
    return rows, {"generator": generator(), "tracehound": th.to_dict(), "baseline": base.to_dict()}
