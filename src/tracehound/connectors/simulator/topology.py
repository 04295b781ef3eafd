"""The simulated online shop: services, call graph, base levels, and a deterministic noise function."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True, slots=True)
class ServiceSpec:
    name: str
    own_ms: float  # self time per request
    rate: float  # requests per second
    cpu: float  # base CPU usage (cores fraction)
    memory_mb: float
    db_client: bool = False


SERVICES: tuple[ServiceSpec, ...] = (
    ServiceSpec("frontend", 12.0, 60.0, 0.35, 420.0),
    ServiceSpec("api-gateway", 4.0, 60.0, 0.25, 260.0),
    ServiceSpec("checkout", 18.0, 6.0, 0.30, 380.0, db_client=True),
    ServiceSpec("payment", 45.0, 6.0, 0.20, 300.0),
    ServiceSpec("cart", 8.0, 18.0, 0.22, 240.0),
    ServiceSpec("catalog", 10.0, 30.0, 0.28, 520.0, db_client=True),
    ServiceSpec("inventory", 9.0, 8.0, 0.18, 280.0, db_client=True),
    ServiceSpec("shipping", 25.0, 6.0, 0.15, 220.0),
    ServiceSpec("user", 7.0, 15.0, 0.20, 310.0, db_client=True),
    ServiceSpec("recommendation", 20.0, 10.0, 0.40, 900.0),
    ServiceSpec("postgres", 3.0, 70.0, 0.45, 2048.0),
    ServiceSpec("redis", 0.8, 90.0, 0.12, 512.0),
)
NAMES: tuple[str, ...] = tuple(s.name for s in SERVICES)
SPEC = {s.name: s for s in SERVICES}
INDEX = {s.name: i for i, s in enumerate(SERVICES)}

# caller -> ((callee, share of the caller's requests that make this call), ...)
CALLS: dict[str, tuple[tuple[str, float], ...]] = {
    "frontend": (("api-gateway", 1.0),),
    "api-gateway": (
        ("checkout", 0.1),
        ("cart", 0.3),
        ("catalog", 0.4),
        ("user", 0.25),
        ("recommendation", 0.15),
    ),
    "checkout": (("payment", 1.0), ("cart", 1.0), ("inventory", 1.0), ("shipping", 1.0), ("postgres", 1.0)),
    "cart": (("redis", 1.0),),
    "catalog": (("postgres", 1.0), ("redis", 0.5)),
    "inventory": (("postgres", 1.0),),
    "user": (("postgres", 1.0), ("redis", 0.5)),
    "recommendation": (("catalog", 1.0),),
}
EDGES: tuple[tuple[str, str], ...] = tuple((a, b) for a, calls in CALLS.items() for b, _ in calls)


def topo_leaves_first() -> list[str]:
    """Services ordered so that every callee comes before its callers."""
    order: list[str] = []

    def visit(name: str) -> None:
        if name in order:
            return
        for callee, _ in CALLS.get(name, ()):
            visit(callee)
        order.append(name)

    for name in NAMES:
        visit(name)
    return order


def _mix(x: np.ndarray) -> np.ndarray:
    """splitmix64 finaliser on uint64 arrays (wrapping arithmetic)."""
    with np.errstate(over="ignore"):
        x = (x ^ (x >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        x = (x ^ (x >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        out: np.ndarray = x ^ (x >> np.uint64(31))
        return out


def uniform(seed: int, *keys: int, ts: np.ndarray) -> np.ndarray:
    """Uniform [0, 1) noise that is a pure function of (seed, keys, timestamp)."""
    with np.errstate(over="ignore"):
        h = np.full(ts.shape, np.uint64(seed & 0xFFFFFFFF) + np.uint64(0x9E3779B97F4A7C15), dtype=np.uint64)
        for k in keys:
            h = _mix(h + np.uint64(k & 0xFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15))
        h = _mix(h ^ ts.astype(np.int64).astype(np.uint64))
    out: np.ndarray = (h >> np.uint64(11)).astype(np.float64) / float(1 << 53)
    return out


def normal(seed: int, *keys: int, ts: np.ndarray) -> np.ndarray:
    u1 = np.clip(uniform(seed, *keys, 1, ts=ts), 1e-12, 1.0)
    u2 = uniform(seed, *keys, 2, ts=ts)
    out: np.ndarray = np.sqrt(-2.0 * np.log(u1)) * np.cos(2.0 * np.pi * u2)
    return out


def text_key(text: str) -> int:
    """A stable small integer for a string (Python's hash() is salted per process)."""
    h = 2166136261
    for ch in text.encode():
        h = ((h ^ ch) * 16777619) & 0xFFFFFFFF
    return h
