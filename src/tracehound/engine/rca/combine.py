"""Combine metric, log and trace scores into one ranking, then apply graph-aware blame propagation.

Each *signal* (a metric family such as cpu or latency, the trace edge gap, trace operation latency, new error
logs, ...) maps services to raw scores on its own scale. Raw scales are not comparable, so each signal is turned
into **dominance**: a service's score divided by the typical score of the other top services (the median of
the next five). A signal in which one service stands far above the rest is strong evidence for it; a signal in
which every service moved a little (a load change) is weak evidence for any of them. The evidence of a service
is the weighted sum of ``log(max(dominance, 1))`` over signals (standing out is evidence, being one of the pack
is not), the usual way to add independent likelihood ratios
(cf. the evidence combination of Nezha, Yu et al. FSE 2023, and the multi-source ranking of Eadro, Lee et al.
ICSE 2023). Metric service scores follow BARO's RobustScorer (Pham et al., FSE 2024): max over the service's
series within a family. :func:`~tracehound.engine.rca.graph.propagate_blame` then moves blame from victims to
the anomalous services they call.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from tracehound.engine.rca.graph import CallGraph, GraphConfig, downstream
from tracehound.engine.rca.robust import MetricScore

# families that say something about the service itself; the rest (traffic, network bytes, io, a caller's view of
# its dependencies' latency) mostly move as a consequence of a fault elsewhere and count for less
_METRIC_WEIGHTS: tuple[tuple[str, float], ...] = (
    ("cpu", 1.0),
    ("memory", 1.0),
    ("latency", 1.0),
    ("error", 1.0),
    ("pool", 1.0),
    ("other", 0.5),
    ("network", 0.0),
    ("io", 0.0),
    ("traffic", 0.0),
    ("dependency", 0.0),
)


# signals that measure time on the wire into a service: the spans' client-side gap, both ends' edge latency
WIRE_SIGNALS = ("traces:gap", "edges:gap")


@dataclass(frozen=True, slots=True)
class CombineConfig:
    # weight of each signal's evidence; a metric family signal is named "metrics:<family>"
    weights: tuple[tuple[str, float], ...] = (
        ("traces:gap", 1.0),
        ("edges:gap", 1.0),
        ("traces:latency", 1.0),
        ("traces:errors", 1.0),
        ("logs:errors", 1.0),
        ("logs:shift", 1.0),
        # a request-shape change is compared within one endpoint's own requests, so a workload shift (the usual
        # noise of every other signal) does not move it: it counts double. Chosen on the tuning half of the Nezha
        # split (1.5 / 2 / 3 -> Train Ticket AC@1 0.83 / 0.83 / 0.83 vs 0.74 at 1; docs/benchmarks.md)
        ("requests:flow", 2.0),
        ("changes", 1.0),
    )
    metric_weights: tuple[tuple[str, float], ...] = _METRIC_WEIGHTS
    # below one unit of its own scale nothing is anomalous: the dominance reference is at least this floor
    # (robust units for metrics, baseline IQRs for the edge gap, log2 ratio for trace latency, z for logs)
    floors: tuple[tuple[str, float], ...] = (
        ("metrics", 1.0),
        ("traces:gap", 1.0),
        ("edges:gap", 1.0),
        ("traces:latency", 0.5),
        ("traces:errors", 0.5),
        ("logs", 1.0),
        ("requests", 1.0),
    )
    # symptoms that travel up the call graph: a caller's slowness is explained by an equally slow callee, so
    # these signals go through graph-aware blame propagation before they are combined
    propagating: tuple[str, ...] = ("metrics:latency", "traces:latency", "metrics:error", "logs:errors")
    # a fault makes these go up; a drop (less work arriving) is a consequence elsewhere and is not evidence
    upward_only: tuple[str, ...] = ("cpu", "memory", "latency", "pool")
    reference_top: int = 5  # dominance = score / median of the next this-many scores
    rel_floor: float = 1e-3  # the reference is at least this share of the top score (guards all-zero tails)
    # a service stands out in a signal when its dominance is at least this; a standing-out caller whose callee
    # stands out in the same signal or in the edge gap (a network delay into the callee) is a victim there
    standout: float = 3.0
    victim_discount: float = 0.1
    tie_break: float = 1e-3  # weight of the log1p(dominance) sum that orders services with equal evidence
    graph: GraphConfig = field(default_factory=lambda: GraphConfig(anomalous_fraction=0.5))


@dataclass(frozen=True, slots=True)
class Ranking:
    ranked: tuple[tuple[str, float], ...]  # (service, final score), best first
    signals: dict[str, dict[str, float]]  # signal -> service -> evidence (weighted log of dominance >= 1)
    combined: dict[str, float]  # before graph propagation
    explained_by: dict[str, str]


def metric_family_scores(
    scores: Sequence[MetricScore], config: CombineConfig = CombineConfig()
) -> dict[str, dict[str, float]]:
    """``metrics:<family>`` -> service -> max score of the service's series of that family."""
    out: dict[str, dict[str, float]] = {}
    for m in scores:
        if m.direction < 0 and m.family in config.upward_only:
            continue
        fam = out.setdefault(f"metrics:{m.family}", {})
        fam[m.series.service] = max(fam.get(m.series.service, 0.0), m.score)
    return out


def metric_service_scores(scores: Sequence[MetricScore], config: CombineConfig = CombineConfig()) -> dict[str, float]:
    """One score per service: max over its series, weighted by family (for callers that need one number)."""
    weights = dict(config.metric_weights)
    out: dict[str, float] = {}
    for m in scores:
        svc = m.series.service
        out[svc] = max(out.get(svc, 0.0), m.score * weights.get(m.family, 0.5))
    return out


def dominance(
    scores: Mapping[str, float], config: CombineConfig = CombineConfig(), floor: float = 0.0
) -> dict[str, float]:
    """Each score divided by the median of the next ``reference_top`` scores (see the module docstring)."""
    positive = sorted((v for v in scores.values() if v > 0), reverse=True)
    if not positive:
        return {}
    rest = positive[1 : 1 + config.reference_top]
    ref = float(np.median(rest)) if rest else 0.0
    ref = max(ref, config.rel_floor * positive[0], floor, 1e-12)
    return {s: v / ref for s, v in scores.items() if v > 0}


def _floor(name: str, config: CombineConfig) -> float:
    floors = dict(config.floors)
    return floors.get(name, floors.get(name.split(":", 1)[0], 0.0))


def _weight(name: str, config: CombineConfig) -> float:
    if name.startswith("metrics:"):
        return dict(config.metric_weights).get(name.split(":", 1)[1], 0.5)
    return dict(config.weights).get(name, 1.0)


def _discount_victims(
    raw: Mapping[str, float],
    dom: Mapping[str, float],
    gap: Mapping[str, float],
    graph: CallGraph,
    config: CombineConfig,
) -> tuple[dict[str, float], dict[str, str]]:
    """Scale down services whose symptom is explained by a standing-out callee (MicroRCA-style blame).

    Only the callee has to stand out: whether a caller's symptom is explained by it does not depend on the
    caller's own score clearing that level (a caller at about half the callee's error score sat on that edge, and
    noise decided whether it was blamed)."""
    # "standing out" is relative when a whole call chain is equally slow (dominance ~1 everywhere)
    level = min(config.standout, 0.5 * max(dom.values(), default=0.0))
    out: dict[str, float] = dict(raw)
    victims: dict[str, str] = {}
    if level <= 0:
        return out, victims
    causes = {s for s in set(dom) | set(gap) if max(dom.get(s, 0.0), gap.get(s, 0.0)) >= level}
    for service in dom:
        depths = downstream(graph, service, config.graph.max_depth)
        # a callee explains the caller when it is delayed on the wire or about as slow as the caller itself
        below = [
            c
            for c in depths
            if c in causes
            and (
                gap.get(c, 0.0) >= config.standout or raw.get(c, 0.0) >= config.graph.anomalous_fraction * raw[service]
            )
        ]
        if below:
            victims[service] = max(below, key=lambda c: (depths[c], max(dom.get(c, 0.0), gap.get(c, 0.0))))
            out[service] = raw[service] * config.victim_discount
    return out, victims


def top_dominance(
    signals: Mapping[str, Mapping[str, float]], config: CombineConfig = CombineConfig()
) -> dict[str, float]:
    """Signal -> the dominance of its top service (how far the first stands above the rest)."""
    out = {}
    for name, raw in signals.items():
        dom = dominance(raw, config, _floor(name, config))
        if dom:
            out[name] = max(dom.values())
    return out


def combine(
    signals: Mapping[str, Mapping[str, float]],
    graph: CallGraph,
    config: CombineConfig = CombineConfig(),
    usual_top: Mapping[str, float] | None = None,
) -> Ranking:
    """Rank services from per-signal raw scores (signal name -> service -> score >= 0).

    ``usual_top``: signal -> the dominance its top service usually has at ordinary times (see
    :func:`top_dominance`); a signal's dominances are divided by it when it is above one, since in a large fleet
    some service always stands out a little by chance."""
    usual = usual_top or {}
    evidence: dict[str, dict[str, float]] = {}
    explained: dict[str, str] = {}
    support: dict[str, float] = {}
    # a delay on the wire into a callee, from spans or from both ends' edge latency metrics
    gap: dict[str, float] = {}
    for name in WIRE_SIGNALS:
        for s, d in dominance(signals.get(name, {}), config, _floor(name, config)).items():
            gap[s] = max(gap.get(s, 0.0), d)
    for name, raw in signals.items():
        w = _weight(name, config)
        if w <= 0:
            continue
        dom = dominance(raw, config, _floor(name, config))
        if name in config.propagating and graph:
            raw, victims = _discount_victims(raw, dom, gap, graph, config)
            explained.update({v: c for v, c in victims.items() if v not in explained})
            dom = dominance(raw, config, _floor(name, config))
        norm = max(1.0, usual.get(name, 1.0))
        # only standing above the rest is evidence: a service as anomalous as the typical top few gets none
        ev = {s: w * math.log(max(d / norm, 1.0)) for s, d in dom.items()}
        if ev:
            evidence[name] = ev
            for s, d in dom.items():
                support[s] = support.get(s, 0.0) + w * math.log1p(d / norm)
    services = sorted({s for v in signals.values() for s in v})
    combined = {s: sum(v.get(s, 0.0) for v in evidence.values()) for s in services}
    # services no signal singles out keep an order: by how high they sit among the top ones (a tie-break only)
    final = {s: combined[s] + config.tie_break * support.get(s, 0.0) for s in services}
    ranked = tuple(sorted(final.items(), key=lambda kv: (-kv[1], kv[0])))
    return Ranking(ranked, evidence, combined, explained)
