"""The simulated system's state over time, with fault injection that propagates along the call graph.

Everything is a pure function of (seed, fault, timestamps): re-querying a window returns the same data.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from tracehound.connectors.simulator.topology import CALLS, SPEC, topo_leaves_first

FAULT_TYPES = ("errors", "latency", "cpu", "memory", "bad_deploy", "db_pool", "network")
WIRE_DELAY_MS = 250.0  # a "network" fault: added on the wire into the service (its callers wait, it does not)
POOL_MAX = 20.0
RAMP_SECONDS = 60.0


@dataclass(frozen=True, slots=True)
class ActiveFault:
    service: str
    type: str
    start: float  # epoch seconds
    end: float

    def intensity(self, ts: np.ndarray) -> np.ndarray:
        """0 outside the fault, ramping to 1 within a minute of its start."""
        on = (ts >= self.start) & (ts < self.end)
        out: np.ndarray = np.where(on, np.clip((ts - self.start) / RAMP_SECONDS, 0.0, 1.0), 0.0)
        return out

    def growth(self, ts: np.ndarray, seconds: float = 900.0) -> np.ndarray:
        """0 -> 1 over ``seconds`` after the start (a leak that builds up)."""
        on = (ts >= self.start) & (ts < self.end)
        out: np.ndarray = np.where(on, np.clip((ts - self.start) / seconds, 0.0, 1.0), 0.0)
        return out


@dataclass(slots=True)
class State:
    """Per-service arrays aligned with ``ts``."""

    ts: np.ndarray
    rate: dict[str, np.ndarray] = field(default_factory=dict)
    own_ms: dict[str, np.ndarray] = field(default_factory=dict)
    latency_ms: dict[str, np.ndarray] = field(default_factory=dict)
    own_err: dict[str, np.ndarray] = field(default_factory=dict)
    err: dict[str, np.ndarray] = field(default_factory=dict)
    cpu: dict[str, np.ndarray] = field(default_factory=dict)
    memory_mb: dict[str, np.ndarray] = field(default_factory=dict)
    pool: dict[str, np.ndarray] = field(default_factory=dict)
    wire_ms: dict[str, np.ndarray] = field(default_factory=dict)  # delay on the calls into the service
    fault_flags: dict[str, dict[str, np.ndarray]] = field(default_factory=dict)


def _own(name: str, ts: np.ndarray, fault: ActiveFault | None) -> dict[str, np.ndarray]:
    spec = SPEC[name]
    ones = np.ones_like(ts)
    own_ms, own_err = spec.own_ms * ones, 0.002 * ones
    cpu, mem = spec.cpu * ones, spec.memory_mb * ones
    pool_fault = np.zeros_like(ts)
    if fault is not None and fault.service == name:
        k = fault.intensity(ts)
        if fault.type == "errors":
            own_err = own_err + 0.3 * k
        elif fault.type == "latency":
            own_ms = own_ms + 300.0 * k
        elif fault.type == "cpu":
            cpu = cpu + (0.95 - spec.cpu) * k
            own_ms = own_ms * (1.0 + 2.0 * k)
        elif fault.type == "memory":
            g = fault.growth(ts)
            mem = mem * (1.0 + 0.8 * g)
            own_ms = own_ms * (1.0 + 0.6 * g * g)
            own_err = own_err + 0.03 * np.where(g > 0.8, 1.0, 0.0)
        elif fault.type == "bad_deploy":
            own_err = own_err + 0.2 * k
            own_ms = own_ms * (1.0 + 0.6 * k)
        elif fault.type == "db_pool":
            pool_fault = k
            own_ms = own_ms + 600.0 * k
            own_err = own_err + 0.1 * k
    return {"own_ms": own_ms, "own_err": own_err, "cpu": cpu, "mem": mem, "pool_fault": pool_fault}


def compute_state(ts: np.ndarray, fault: ActiveFault | None) -> State:
    """Noise-free state of every service at ``ts`` (epoch seconds); callees first, then their callers."""
    st = State(ts=ts)
    daily = 1.0 + 0.1 * np.sin(2 * np.pi * ts / 86400.0)
    for name in topo_leaves_first():
        own = _own(name, ts, fault)
        latency = own["own_ms"].copy()
        ok = 1.0 - own["own_err"]
        for callee, share in CALLS.get(name, ()):
            latency = latency + share * (st.latency_ms[callee] + st.wire_ms[callee])
            ok = ok * (1.0 - 0.7 * share * st.err[callee])
        st.rate[name] = SPEC[name].rate * daily
        delayed = fault is not None and fault.service == name and fault.type == "network"
        st.wire_ms[name] = WIRE_DELAY_MS * fault.intensity(ts) if delayed and fault else np.zeros_like(ts)
        st.own_ms[name] = own["own_ms"]
        st.latency_ms[name] = latency
        st.own_err[name] = own["own_err"]
        st.err[name] = 1.0 - ok
        st.cpu[name] = own["cpu"]
        st.memory_mb[name] = own["mem"]
        if SPEC[name].db_client:
            db_wait = st.rate[name] * st.latency_ms["postgres"] / 1000.0 * 5.0
            st.pool[name] = np.minimum(POOL_MAX, 3.0 + db_wait + (POOL_MAX - 3.0) * own["pool_fault"])
    return st
