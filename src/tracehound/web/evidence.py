"""The evidence charts of a report: the most anomalous metric series around the incident and the call graph.

The series are re-read from the organisation's sources for the report's window, for the root cause and the next
candidates, and ranked with the engine's robust scorer (BARO's ``|x - median| / IQR`` against the pre-anomaly
baseline), so the charts show what moved most, not merely what was cited. Reports do not change while a session
is idle, so the result is kept for a while (bounded, per process).
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from tracehound.connectors.registry import build_sources
from tracehound.engine.ports import MetricsSource, Sources
from tracehound.engine.rca.edges import split_edges
from tracehound.engine.rca.robust import MetricScore, robust_scores
from tracehound.engine.report import parse_iso
from tracehound.engine.types import TimeRange
from tracehound.kit.clock import ensure_utc
from tracehound.models import Session
from tracehound.sources.service import list_sources
from tracehound.web import charts

log = logging.getLogger("tracehound.web")

MAX_SERIES = 4
MAX_PER_SERVICE = 2
MAX_SERVICES = 5
MIN_SCORE = 1.0  # robust units: below this a series did not really move
CONTEXT = timedelta(minutes=40)  # of baseline shown before the anomaly start
QUERY_TIMEOUT = 10.0
_CACHE: OrderedDict[tuple[str, str], Charts] = OrderedDict()
_CACHE_MAX = 64


@dataclass(frozen=True, slots=True)
class SeriesChart:
    service: str
    name: str
    unit: str
    score: float
    direction: int
    baseline: float
    incident: float
    is_root: bool
    svg: str


@dataclass(frozen=True, slots=True)
class Charts:
    series: list[SeriesChart] = field(default_factory=list)
    graph: str = ""
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class _Scope:
    root: str | None
    services: list[str]
    window: TimeRange
    baseline: TimeRange
    anomaly: datetime


def _scope(report: Mapping[str, Any]) -> _Scope | None:
    window, start = report.get("window"), report.get("anomaly_start")
    if not isinstance(window, dict) or not start:
        return None
    span = TimeRange(parse_iso(window["start"]), parse_iso(window["end"]))
    anomaly = parse_iso(str(start))
    base = report.get("baseline")
    baseline = TimeRange(parse_iso(base["start"]), parse_iso(base["end"])) if isinstance(base, dict) else None
    root = report.get("root_cause")
    names = [str(root)] if root else []
    names += [str(c.get("service")) for c in report.get("candidates") or [] if isinstance(c, dict)]
    services = list(dict.fromkeys(n for n in names if n and n != "None"))[:MAX_SERVICES]
    return _Scope(str(root) if root else None, services, span, baseline or TimeRange(span.start, anomaly), anomaly)


def pick(scores: Sequence[MetricScore], root: str | None) -> list[MetricScore]:
    """The top series (highest score first), at most two per service, always the root cause's best one."""
    moved = [m for m in scores if m.score >= MIN_SCORE]
    chosen: list[MetricScore] = (
        [next(m for m in moved if m.series.service == root)] if any(m.series.service == root for m in moved) else []
    )
    for m in moved:
        if len(chosen) >= MAX_SERIES:
            break
        per_service = sum(1 for c in chosen if c.series.service == m.series.service)
        if m not in chosen and per_service < MAX_PER_SERVICE:
            chosen.append(m)
    return sorted(chosen, key=lambda m: (m.series.service != root, -m.score))


async def _series(metrics: MetricsSource, scope: _Scope) -> list[SeriesChart]:
    series, _ = split_edges(await asyncio.wait_for(metrics.query(scope.window, services=scope.services), QUERY_TIMEOUT))
    scores = robust_scores(series, baseline=scope.baseline, anomaly_start=scope.anomaly, end=scope.window.end)
    view = (max(scope.window.start, scope.anomaly - CONTEXT).timestamp(), scope.window.end.timestamp())
    out = []
    for i, m in enumerate(pick(scores, scope.root)):
        s = m.series
        svg = charts.series_svg(
            charts.ChartSeries(s.service, s.name, s.unit, tuple(s.timestamps), tuple(s.values)),
            anomaly_start=scope.anomaly,
            chart_id=f"series-{i}",
            baseline=m.baseline_value,
            view=view,
        )
        is_root = s.service == scope.root
        out.append(
            SeriesChart(
                s.service, s.name, s.unit, m.score, m.direction, m.baseline_value, m.incident_value, is_root, svg
            )
        )
    return out


def _graph(sources: Sources | None, report: Mapping[str, Any]) -> str:
    failing: list[tuple[str, str]] = []
    for ev in report.get("evidence") or []:
        edge = str((ev.get("citation") or {}).get("edge", "")) if isinstance(ev, dict) else ""
        if ev.get("kind") == "trace" and "->" in edge:
            a, _, b = edge.partition("->")
            failing.append((a, b))
    edges = list(sources.call_graph) if sources is not None else []
    edges += [e for e in failing if e not in edges]
    root = report.get("root_cause")
    if not edges and not root:
        return ""
    candidates = [str(c.get("service")) for c in report.get("candidates") or [] if isinstance(c, dict)]
    return charts.call_graph_svg(
        edges, root=str(root) if root else None, candidates=candidates[:4], failing_edges=failing
    )


Specs = list[tuple[str, dict[str, Any]]]


async def source_specs(db: AsyncSession, org_id: str) -> Specs:
    return [(s.kind, s.config) for s in await list_sources(db, org_id=org_id)]


async def _build(specs: Specs, session: Session, report: Mapping[str, Any]) -> Charts:
    notes: list[str] = []
    sources: Sources | None = None
    try:
        sources = build_sources(specs, anchor=ensure_utc(session.incident_time or session.created_at))
    except Exception as exc:  # a misconfigured source must not break the page
        notes.append(f"The data sources could not be opened: {exc}")
    scope = _scope(report)
    series: list[SeriesChart] = []
    if scope is None:
        notes.append("No anomaly start was found, so there is no before/after to chart.")
    elif sources is not None and sources.metrics is not None:
        try:
            series = await _series(sources.metrics, scope)
        except Exception as exc:
            log.warning("charts of session %s: %s", session.id, exc)
            notes.append(f"The metric series could not be re-read from the data sources: {exc}")
    return Charts(series, _graph(sources, report), notes)


async def charts_for(specs: Specs, session: Session, report: Mapping[str, Any]) -> Charts:
    """The charts of an idle session's report (``specs``: its organisation's sources). Call it outside a database
    transaction: it reads the sources (up to 10 s)."""
    key = (session.id, f"{report.get('window')}|{report.get('anomaly_start')}|{session.finished_at}")
    cached = _CACHE.get(key)
    if cached is not None:
        _CACHE.move_to_end(key)
        return cached
    result = await _build(specs, session, report)
    _CACHE[key] = result
    while len(_CACHE) > _CACHE_MAX:
        _CACHE.popitem(last=False)
    return result
