"""Graph-aware blame propagation on the service call graph.

After MicroRCA (Wu et al., NOMS 2020) and MicroRank (Yu et al., WWW 2021): the call graph comes from
traces (parent span's service -> child span's service) plus static edges. An anomalous caller whose callee
(directly or through other services) is also anomalous is most likely a victim: blame moves to the deepest
anomalous node on the path. We use this simple rule rather than a random walk, since random walks are weak
unless combined with good anomaly scores (RCAEval, 2025).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from tracehound.engine.types import Span

CallGraph = dict[str, set[str]]


@dataclass(frozen=True, slots=True)
class GraphConfig:
    anomalous_fraction: float = 0.3  # a node is anomalous when its score >= this share of the top score
    min_score: float = 1e-9
    discount: float = 0.35  # score multiplier for a node explained by an anomalous callee
    max_depth: int = 6


@dataclass(frozen=True, slots=True)
class GraphRanking:
    scores: dict[str, float]
    explained_by: dict[str, str]  # victim -> the anomalous downstream service that explains it


def build_call_graph(spans: Sequence[Span], static_edges: Iterable[tuple[str, str]] = ()) -> CallGraph:
    """caller service -> callee services, from span parent links and static edges (self-loops dropped)."""
    graph: CallGraph = defaultdict(set)
    by_id = {(s.trace_id, s.span_id): s.service for s in spans}
    for s in spans:
        if s.parent_id is None:
            continue
        parent = by_id.get((s.trace_id, s.parent_id))
        if parent is not None and parent != s.service:
            graph[parent].add(s.service)
    for caller, callee in static_edges:
        if caller != callee:
            graph[caller].add(callee)
    return dict(graph)


def downstream(graph: Mapping[str, set[str]], service: str, max_depth: int) -> dict[str, int]:
    """Every service reachable from ``service`` with its depth."""
    seen: dict[str, int] = {}
    frontier = [service]
    for depth in range(1, max_depth + 1):
        nxt = []
        for node in frontier:
            for callee in graph.get(node, ()):
                if callee not in seen and callee != service:
                    seen[callee] = depth
                    nxt.append(callee)
        frontier = nxt
    return seen


def propagate_blame(
    scores: Mapping[str, float],
    graph: Mapping[str, set[str]],
    *,
    symptom_scores: Mapping[str, float] | None = None,
    config: GraphConfig = GraphConfig(),
) -> GraphRanking:
    """Discount services whose anomaly is explained by an anomalous downstream service.

    ``symptom_scores`` (default ``scores``) decides which callees count as anomalous: pass scores without
    traffic-only changes so that a callee merely receiving fewer calls does not absorb the blame.
    """
    absorbing = symptom_scores if symptom_scores is not None else scores
    top = max(absorbing.values(), default=0.0)
    threshold = max(config.min_score, config.anomalous_fraction * top)
    anomalous = {s for s, v in absorbing.items() if v >= threshold}
    out: dict[str, float] = {}
    explained: dict[str, str] = {}
    for service, score in scores.items():
        depths = downstream(graph, service, config.max_depth)
        below = [c for c in depths if c in anomalous]
        if below and service in anomalous:
            culprit = max(below, key=lambda c: (depths[c], absorbing.get(c, 0.0)))
            explained[service] = culprit
            out[service] = score * config.discount
        else:
            out[service] = score
    return GraphRanking(out, explained)
