"""A closed-loop asyncio load generator (httpx.AsyncClient) and latency statistics."""

from __future__ import annotations

import asyncio
import math
import statistics
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import httpx
import uvloop

Request = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile (``p`` in 0..100) of ``values``; 0 when empty."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(1, min(len(ordered), math.ceil(p / 100 * len(ordered))))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Latency:
    """Latency summary in milliseconds."""

    n: int
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, seconds: Sequence[float]) -> Latency:
        ms = [s * 1000 for s in seconds]
        return cls(
            n=len(ms),
            p50_ms=round(percentile(ms, 50), 2),
            p90_ms=round(percentile(ms, 90), 2),
            p99_ms=round(percentile(ms, 99), 2),
            max_ms=round(max(ms, default=0.0), 2),
            mean_ms=round(statistics.fmean(ms) if ms else 0.0, 2),
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class LoadResult:
    requests: int
    errors: int
    seconds: float
    rps: float
    latency: Latency
    first_error: str | None
    samples: tuple[float, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["latency"] = self.latency.to_dict()
        del out["samples"]
        return out

    @classmethod
    def merge(cls, parts: Sequence[LoadResult]) -> LoadResult:
        """Several rounds of the same load as one result (requests and seconds add up). Rounds from ``wrk``
        carry no samples: their percentiles are averaged, weighted by requests (an approximation)."""
        if any(not p.samples for p in parts):
            return cls._merge_summaries(parts)
        samples = tuple(s for p in parts for s in p.samples)
        seconds = sum(p.seconds for p in parts)
        return cls(
            requests=len(samples),
            errors=sum(p.errors for p in parts),
            seconds=round(seconds, 2),
            rps=round(len(samples) / seconds, 1) if seconds > 0 else 0.0,
            latency=Latency.of(samples),
            first_error=next((p.first_error for p in parts if p.first_error), None),
            samples=samples,
        )

    @classmethod
    def _merge_summaries(cls, parts: Sequence[LoadResult]) -> LoadResult:
        requests, seconds = sum(p.requests for p in parts), sum(p.seconds for p in parts)

        def avg(field: str) -> float:
            total = sum(getattr(p.latency, field) * p.requests for p in parts)
            return round(total / requests, 2) if requests else 0.0

        latency = Latency(
            n=requests,
            p50_ms=avg("p50_ms"),
            p90_ms=avg("p90_ms"),
            p99_ms=avg("p99_ms"),
            max_ms=max((p.latency.max_ms for p in parts), default=0.0),
            mean_ms=avg("mean_ms"),
        )
        return cls(
            requests=requests,
            errors=sum(p.errors for p in parts),
            seconds=round(seconds, 2),
            rps=round(requests / seconds, 1) if seconds > 0 else 0.0,
            latency=latency,
            first_error=next((p.first_error for p in parts if p.first_error), None),
        )


async def _drive(
    request: Request, *, concurrency: int, duration: float, max_requests: int, warmup: float, ok: tuple[int, ...]
) -> LoadResult:
    # One client (one keep-alive connection) per virtual user: a single AsyncClient shared by 64 tasks spends
    # most of its time in its own connection-pool bookkeeping and would be the bottleneck, not the server.
    limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
    clients = [httpx.AsyncClient(limits=limits, timeout=30) for _ in range(concurrency)]
    try:
        latencies: list[float] = []
        errors: list[str] = []
        state = {"started": 0, "recording": False}
        deadline = 0.0

        async def worker(client: httpx.AsyncClient) -> None:
            while True:
                now = time.perf_counter()
                if state["recording"] and (now >= deadline or state["started"] >= max_requests):
                    return
                if state["recording"]:
                    state["started"] += 1
                recording = bool(state["recording"])
                t0 = time.perf_counter()
                try:
                    response = await request(client)
                    failed = None if response.status_code in ok else f"{response.status_code} {response.text[:200]}"
                except httpx.HTTPError as exc:
                    failed = f"{type(exc).__name__}: {exc}"
                elapsed = time.perf_counter() - t0
                if recording:
                    if failed is None:
                        latencies.append(elapsed)
                    else:
                        errors.append(failed)

        async def warm() -> None:
            await asyncio.sleep(warmup)

        # Warm up with the same concurrency, then record for ``duration`` (or ``max_requests``).
        tasks = [asyncio.create_task(worker(c)) for c in clients]
        await warm()
        state["recording"] = True
        start = time.perf_counter()
        deadline = start + duration
        await asyncio.gather(*tasks)
        seconds = time.perf_counter() - start
    finally:
        for c in clients:
            await c.aclose()
    return LoadResult(
        requests=len(latencies),
        errors=len(errors),
        seconds=round(seconds, 2),
        rps=round(len(latencies) / seconds, 1) if seconds > 0 else 0.0,
        latency=Latency.of(latencies),
        first_error=errors[0] if errors else None,
        samples=tuple(latencies),
    )


def run_load(
    request: Request,
    *,
    concurrency: int = 64,
    duration: float = 10.0,
    max_requests: int = 1_000_000,
    warmup: float = 1.0,
    ok: tuple[int, ...] = (200, 201),
) -> LoadResult:
    """Run ``concurrency`` clients in a closed loop for ``warmup`` + ``duration`` seconds (or until
    ``max_requests`` recorded requests have started). Only requests started after the warm-up are recorded."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(
            _drive(request, concurrency=concurrency, duration=duration, max_requests=max_requests, warmup=warmup, ok=ok)
        )


def sequential(call: Callable[[], Any], n: int, warmup: int = 3) -> Latency:
    """Latency of ``n`` sequential synchronous calls, after ``warmup`` unrecorded ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        t0 = time.perf_counter()
        call()
        samples.append(time.perf_counter() - t0)
    return Latency.of(samples)
