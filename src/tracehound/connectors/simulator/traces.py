"""Simulated traces along the call graph, and deploy/config change events."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np

from tracehound.connectors.simulator.generate import TRACES_PER_MINUTE, grid
from tracehound.connectors.simulator.model import ActiveFault, State, compute_state
from tracehound.connectors.simulator.topology import CALLS, NAMES, uniform
from tracehound.engine.types import Change, Span, TimeRange


class _TraceBuilder:
    def __init__(self, st: State, mi: int, rng: np.random.Generator, trace_id: str, start: float) -> None:
        self.st, self.mi, self.rng, self.trace_id = st, mi, rng, trace_id
        self.spans: list[Span] = []
        self.start = start
        self.counter = 0

    def call(self, svc: str, parent: str | None, t0: float) -> tuple[float, bool]:
        """Emit the span of ``svc`` starting at t0 (epoch s); returns (duration ms, error)."""
        self.counter += 1
        span_id = f"{self.trace_id[:8]}{self.counter:08x}"
        own = float(self.st.own_ms[svc][self.mi]) * float(self.rng.lognormal(0.0, 0.15))
        t, error = t0 + own / 2000.0, bool(self.rng.random() < float(self.st.own_err[svc][self.mi]))
        for callee, share in CALLS.get(svc, ()):
            if svc == "api-gateway" or self.rng.random() >= share:
                continue
            wire = float(self.st.wire_ms[callee][self.mi]) / 2000.0  # each way
            ms, child_err = self.call(callee, span_id, t + wire)
            t += ms / 1000.0 + 2 * wire
            error = error or (child_err and self.rng.random() < 0.7)
        duration = (t - t0) * 1000.0 + own / 2.0
        self.spans.append(
            Span(
                self.trace_id,
                span_id,
                parent,
                svc,
                f"{svc} handle",
                datetime.fromtimestamp(t0, UTC),
                round(duration, 3),
                error,
            )
        )
        return duration, error


def _gateway_route(rng: np.random.Generator) -> str:
    routes = CALLS["api-gateway"]
    weights = np.array([w for _, w in routes])
    return routes[int(rng.choice(len(routes), p=weights / weights.sum()))][0]


def spans(seed: int, fault: ActiveFault | None, window: TimeRange, limit: int) -> list[Span]:
    minutes = grid(TimeRange(window.start.replace(second=0, microsecond=0), window.end), 60.0)
    st = compute_state(minutes + 30.0, fault)
    out: list[Span] = []
    for mi, m in enumerate(minutes):
        for k in range(TRACES_PER_MINUTE):
            rng = np.random.default_rng([seed, int(m), k])
            start = float(m) + 60.0 * (k + rng.random()) / TRACES_PER_MINUTE
            if not window.start.timestamp() <= start < window.end.timestamp():
                continue
            b = _TraceBuilder(st, mi, rng, f"{int(rng.integers(0, 2**63)):016x}{k:04x}", start)
            root = f"{b.trace_id[:8]}00000000"
            route = _gateway_route(rng)
            gw_own = float(st.own_ms["api-gateway"][mi]) * float(rng.lognormal(0.0, 0.15))
            fe_own = float(st.own_ms["frontend"][mi]) * float(rng.lognormal(0.0, 0.15))
            wire = float(st.wire_ms[route][mi]) / 1000.0
            ms, err = b.call(route, f"{b.trace_id[:8]}gw", start + 0.003 + wire / 2)
            ms += wire * 1000.0
            err = err or bool(rng.random() < float(st.own_err["api-gateway"][mi]))
            gw = Span(
                b.trace_id,
                f"{b.trace_id[:8]}gw",
                root,
                "api-gateway",
                f"GET /api/{route}",
                datetime.fromtimestamp(start + 0.001, UTC),
                round(ms + gw_own, 3),
                err,
            )
            fe = Span(
                b.trace_id,
                root,
                None,
                "frontend",
                f"GET /{route}",
                datetime.fromtimestamp(start, UTC),
                round(ms + gw_own + fe_own, 3),
                err or bool(rng.random() < float(st.own_err["frontend"][mi])),
            )
            out += [fe, gw, *b.spans]
            if len(out) >= limit:
                return out[:limit]
    return out


def changes(seed: int, fault: ActiveFault | None, window: TimeRange) -> list[Change]:
    """A few background deploys (pure function of seed and hour), plus the culprit's deploy for bad_deploy."""
    hours = grid(TimeRange(window.start - timedelta(hours=1), window.end), 3600.0)
    u = uniform(seed, 4242, ts=hours)
    pick = uniform(seed, 4243, ts=hours)
    minute = uniform(seed, 4244, ts=hours)
    out: list[Change] = []
    for h, a, b, c in zip(hours, u, pick, minute, strict=True):
        if a < 0.25:
            svc = NAMES[int(b * len(NAMES))]
            ts = datetime.fromtimestamp(float(h) + math.floor(c * 60) * 60.0, UTC)
            out.append(Change(ts, svc, "deploy", f"deploy {svc} build {int(c * 1e6):06d} (routine release)", "ci-bot"))
    if fault is not None and fault.type == "bad_deploy":
        ts = datetime.fromtimestamp(fault.start - 90.0, UTC)
        out.append(Change(ts, fault.service, "deploy", f"deploy {fault.service} v2.4.0 (new order handler)", "alice"))
    return sorted((ch for ch in out if window.start <= ch.ts < window.end), key=lambda ch: ch.ts)
