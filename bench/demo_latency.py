"""``demo_latency``: create -> idle latency of the demo incident through the real server (embedded SQLite),
versus running the engine directly in-process on the same incident and the same simulator source."""

from __future__ import annotations

import asyncio
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tests.support.tenants import DEMO_SIM

from bench.env import make_tenant, sqlite_url, start_tracehound
from bench.load import Latency
from bench.report import Row
from tracehound.connectors.registry import build_sources
from tracehound.engine.investigate import investigate
from tracehound.engine.types import Incident

P50_TARGET_S = 3.0
POLL_INTERVAL_S = 0.05


def _incident_body() -> dict[str, str]:
    t = (datetime.now(UTC) - timedelta(minutes=10)).replace(second=0, microsecond=0)
    return {"input": f"Checkout is returning 500 errors since {t:%H:%M} UTC", "time": t.isoformat()}


def _through_server(base: str, headers: dict[str, str]) -> tuple[float, str]:
    """Seconds from POST to the first GET that shows ``idle`` (or ``failed``), polling every 50 ms."""
    with httpx.Client(timeout=30) as client:
        t0 = time.perf_counter()
        r = client.post(f"{base}/v1/sessions", headers=headers, json=_incident_body())
        r.raise_for_status()
        url = f"{base}/v1/sessions/{r.json()['id']}"
        while True:
            status = client.get(url, headers=headers).json()["status"]
            if status in ("idle", "failed"):
                return time.perf_counter() - t0, status
            if time.perf_counter() - t0 > 120:
                raise TimeoutError("the demo session did not settle in 120 s")
            time.sleep(POLL_INTERVAL_S)


def _in_process() -> float:
    body = _incident_body()
    t = datetime.fromisoformat(body["time"])
    incident = Incident(text=body["input"], created_at=datetime.now(UTC), time=t, title=body["input"])
    t0 = time.perf_counter()
    sources = build_sources([("simulator", DEMO_SIM)], anchor=t)
    asyncio.run(investigate(incident, sources))
    return time.perf_counter() - t0


def bench_demo_latency(*, n: int) -> tuple[list[Row], dict[str, Any]]:
    _in_process()  # warm imports and caches, as the server's first request would
    engine = Latency.of([_in_process() for _ in range(n)])
    with tempfile.TemporaryDirectory(prefix="th-bench-") as d:
        url = sqlite_url(Path(d))
        with start_tracehound(url, Path(d)) as server:
            tenant = make_tenant(url)
            _through_server(server.base_url, tenant.headers())  # warm-up, not recorded
            runs = [_through_server(server.base_url, tenant.headers()) for _ in range(n)]
    service = Latency.of([s for s, _ in runs])
    statuses = sorted({st for _, st in runs})
    p50 = Row(
        "demo_latency",
        f"sqlite n={n}",
        "p50 s",
        round(service.p50_ms / 1000, 3),
        round(engine.p50_ms / 1000, 3),
        f"< {P50_TARGET_S:g} s",
    )
    p50.met = service.p50_ms / 1000 < P50_TARGET_S and statuses == ["idle"]
    rows = [
        p50,
        Row("demo_latency", f"sqlite n={n}", "p90 s", round(service.p90_ms / 1000, 3), round(engine.p90_ms / 1000, 3)),
        Row("demo_latency", f"sqlite n={n}", "max s", round(service.max_ms / 1000, 3), round(engine.max_ms / 1000, 3)),
    ]
    return rows, {
        "service": service.to_dict(),
        "engine_in_process": engine.to_dict(),
        "statuses": statuses,
        "poll_interval_s": POLL_INTERVAL_S,
    }
