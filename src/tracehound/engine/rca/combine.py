"""Combine metric, log and trace scores into one ranking, then apply graph-aware blame propagation.

Each signal is normalised by its maximum over services, the normalised signals are averaged with weights
(renormalised over the signals that have data), and :func:`~tracehound.engine.rca.graph.propagate_blame`
moves blame from victims to the anomalous services they call. Metric scores follow BARO's RobustScorer
(service score = max over its metrics); traffic-only changes count less: they are usually a consequence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from tracehound.engine.rca.graph import CallGraph, GraphConfig, propagate_blame
from tracehound.engine.rca.robust import MetricScore


@dataclass(frozen=True, slots=True)
class CombineConfig:
    weights: tuple[tuple[str, float], ...] = (("metrics", 0.5), ("traces", 0.3), ("logs", 0.2))
    family_weight: tuple[tuple[str, float], ...] = (("traffic", 0.3),)
    # a signal's scores are divided by max(top score, floor): below the floor nothing is "fully" anomalous
    floors: tuple[tuple[str, float], ...] = (("metrics", 3.0), ("traces", 1.0), ("logs", 2.0))
    graph: GraphConfig = field(default_factory=GraphConfig)


@dataclass(frozen=True, slots=True)
class Ranking:
    ranked: tuple[tuple[str, float], ...]  # (service, final score), best first
    signals: dict[str, dict[str, float]]  # signal -> service -> normalised score in [0, 1]
    combined: dict[str, float]  # before graph propagation
    explained_by: dict[str, str]


def metric_service_scores(scores: Sequence[MetricScore], config: CombineConfig = CombineConfig()) -> dict[str, float]:
    weights = dict(config.family_weight)
    out: dict[str, float] = {}
    for m in scores:
        svc = m.series.service
        out[svc] = max(out.get(svc, 0.0), m.score * weights.get(m.family, 1.0))
    return out


def _normalise(scores: Mapping[str, float], floor: float) -> dict[str, float]:
    top = max(*scores.values(), floor, 0.0)
    return {k: (v / top if top > 0 else 0.0) for k, v in scores.items()}


def combine(
    signals: Mapping[str, Mapping[str, float]],
    graph: CallGraph,
    config: CombineConfig = CombineConfig(),
) -> Ranking:
    """Rank services from per-signal raw scores (signal name -> service -> score >= 0)."""
    weights = {k: w for k, w in config.weights if k in signals and max(signals[k].values(), default=0.0) > 0}
    total = sum(weights.values()) or 1.0
    floors = dict(config.floors)
    norm = {k: _normalise(v, floors.get(k, 0.0)) for k, v in signals.items()}
    services = sorted({s for v in signals.values() for s in v})
    combined = {s: sum(w * norm[k].get(s, 0.0) for k, w in weights.items()) / total for s in services}
    result = propagate_blame(combined, graph, config=config.graph)
    ranked = tuple(sorted(result.scores.items(), key=lambda kv: (-kv[1], kv[0])))
    return Ranking(ranked, norm, combined, result.explained_by)
