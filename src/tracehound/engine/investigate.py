"""The investigation: from an incident and data sources to a root-cause :class:`Report`."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

from tracehound.engine.narrative import (
    FAULT_LABELS,
    confidence,
    guess_fault,
    impact_text,
    next_steps,
)
from tracehound.engine.parse import Understanding, match_services, parse_incident
from tracehound.engine.ports import ProgressCallback, Sources
from tracehound.engine.rca.combine import WIRE_SIGNALS
from tracehound.engine.rca.edges import split_edges
from tracehound.engine.rca.robust import ANOMALOUS
from tracehound.engine.rca.traces import EdgeStats
from tracehound.engine.report import Candidate, Evidence, Report, TimelineEntry, iso
from tracehound.engine.scoring import CollectedData, InvestigationConfig, Scores, score_services
from tracehound.engine.types import (
    Change,
    Incident,
    ProgressEvent,
    SourceFailure,
    TimeRange,
)

EDGE_MORE_ERRORS = 0.01  # a call edge's error rate up by at least one point is cited
EDGE_SLOWER = 1.5  # ... and so is a p95 at least this many times its baseline

T = TypeVar("T")
NO_TELEMETRY = (
    "No telemetry is connected, so I could not investigate. An admin can connect a data source with the "
    "`tracehound source add` CLI command: the built-in simulator (kind `simulator`) for a demo, or a "
    "Prometheus data source for real metrics."
)


class _Progress:
    def __init__(self, cb: ProgressCallback | None) -> None:
        self.cb = cb

    def __call__(self, kind: Any, step: str, detail: str = "", **data: Any) -> None:
        if self.cb is not None:
            self.cb(ProgressEvent(kind, step, detail, data))


async def _read(data: CollectedData, kind: str, name: str, call: Awaitable[Sequence[T]]) -> list[T]:
    data.usage["queries"] += 1
    try:
        out = list(await call)
    except Exception as exc:  # a failing source must not stop the investigation
        data.failures.append(SourceFailure(f"{kind}:{name}", f"{type(exc).__name__}: {exc}"))
        return []
    data.used.append(f"{kind}:{name}")
    return out


def windows(incident_time: datetime, created_at: datetime, config: InvestigationConfig) -> tuple[TimeRange, datetime]:
    """(whole data window, incident time) for an incident time T."""
    end = min(incident_time + config.after, max(created_at, incident_time + timedelta(minutes=2)))
    return TimeRange(incident_time - config.lookback, end), incident_time


async def fetch(
    sources: Sources, window: TimeRange, config: InvestigationConfig, focus: datetime | None = None
) -> CollectedData:
    data = CollectedData()
    jobs: list[Awaitable[Any]] = []
    events = window
    if focus is not None:
        events = TimeRange(max(window.start, focus - config.event_lookback), window.end)
    if sources.metrics is not None:
        jobs.append(_read(data, "metrics", sources.metrics.name, sources.metrics.query(window)))
    if sources.logs is not None:
        jobs.append(_read(data, "logs", sources.logs.name, sources.logs.logs(events, limit=config.log_limit)))
    if sources.traces is not None:
        jobs.append(_read(data, "traces", sources.traces.name, sources.traces.spans(events, limit=config.span_limit)))
    if sources.changes is not None:
        jobs.append(_read(data, "changes", sources.changes.name, sources.changes.changes(window)))
    results = await asyncio.gather(*jobs)
    kinds = [
        k
        for k, s in (
            ("metrics", sources.metrics),
            ("logs", sources.logs),
            ("traces", sources.traces),
            ("changes", sources.changes),
        )
        if s is not None
    ]
    for kind, result in zip(kinds, results, strict=True):
        setattr(data, {"metrics": "series", "traces": "spans"}.get(kind, kind), result)
    data.series, data.edges = split_edges(data.series)
    await _fetch_reference(data, sources, events, config)
    data.usage["data_points"] = sum(len(s.values) for s in [*data.series, *data.edges])
    data.usage["log_lines"] = len(data.logs) + len(data.reference_logs)
    data.usage["spans"] = len(data.spans) + len(data.reference_spans)
    return data


async def _fetch_reference(
    data: CollectedData, sources: Sources, events: TimeRange, config: InvestigationConfig
) -> None:
    """Logs and spans of the sources' healthy reference stretches that do not overlap the events read."""
    data.reference = [r for r in sources.reference if r.end <= events.start or r.start >= events.end]
    for r in data.reference:
        if sources.logs is not None:
            got = await _read(data, "logs", sources.logs.name, sources.logs.logs(r, limit=config.log_limit))
            data.reference_logs += got
        if sources.traces is not None:
            data.reference_spans += await _read(
                data, "traces", sources.traces.name, sources.traces.spans(r, limit=config.span_limit)
            )
    data.used = list(dict.fromkeys(data.used))


def empty_report(incident: Incident, understood: dict[str, Any]) -> Report:
    return Report(
        summary=NO_TELEMETRY,
        root_cause=None,
        fault_type=None,
        confidence="Low",
        confidence_reason="No data source is connected.",
        impact="Unknown: no telemetry.",
        next_steps=("Connect a data source with `tracehound source add` (simulator or Prometheus), then retry.",),
        understood=understood,
        sources_missing=("metrics", "logs", "traces", "changes"),
        usage={"data_points": 0, "log_lines": 0, "spans": 0, "queries": 0},
    )


def _understood(u: Understanding) -> dict[str, Any]:
    return {
        "time": iso(u.time) if u.time else None,
        "time_source": u.time_source,
        "time_phrase": u.time_phrase,
        "services": list(u.services),
        "symptom": u.symptom,
    }


async def _known_services(sources: Sources, data_failures: list[SourceFailure]) -> list[str]:
    if sources.metrics is None:
        return []
    try:
        return list(await sources.metrics.services())
    except Exception as exc:  # recorded; the query step will record its own failure too
        data_failures.append(SourceFailure(f"metrics:{sources.metrics.name}", f"{type(exc).__name__}: {exc}"))
        return []


async def investigate(
    incident: Incident,
    sources: Sources,
    *,
    progress: ProgressCallback | None = None,
    config: InvestigationConfig = InvestigationConfig(),
) -> Report:
    """Investigate ``incident`` with ``sources`` and return the report. Never raises for a failing source."""
    emit = _Progress(progress)
    emit("step.started", "understand", "Reading the incident description")
    early_failures: list[SourceFailure] = []
    known = await _known_services(sources, early_failures)
    u = parse_incident(incident, known)
    emit("step.completed", "understand", f"symptom={u.symptom}; services={', '.join(u.services) or 'none'}")
    if sources.empty:
        return empty_report(incident, _understood(u))
    created = incident.created_at.astimezone(UTC)
    t = u.time or created
    window, t = windows(t, created, config)
    emit("step.started", "collect", f"Reading telemetry {iso(window.start)} → {iso(window.end)}")
    data = await fetch(sources, window, config, t)
    data.failures += [f for f in early_failures if f.source not in {g.source for g in data.failures}]
    if not known:
        seen = {s.service for s in data.series} | {r.service for r in data.logs} | {s.service for s in data.spans}
        u = Understanding(u.time, u.time_source, match_services(incident.text, sorted(seen)), u.symptom, u.time_phrase)
    for f in data.failures:
        emit("evidence.found", "collect", f"Source failed: {f.source}", source=f.source, error=f.error)
    emit("step.completed", "collect", ", ".join(f"{k}={v}" for k, v in data.usage.items()))
    return _analyse(incident, sources, u, data, window, t, config, emit)


def _analyse(
    incident: Incident,
    sources: Sources,
    u: Understanding,
    data: CollectedData,
    window: TimeRange,
    t: datetime,
    config: InvestigationConfig,
    emit: _Progress,
) -> Report:
    emit("step.started", "analyse", "Finding the anomaly start and scoring services")
    sc = score_services(data, sources, window, t, config, u.time_source != "none")
    emit("step.completed", "analyse", f"anomaly start {iso(sc.start)}", detected=sc.detected)
    present = [k for k, v in (("metrics", data.series), ("logs", data.logs), ("traces", data.spans)) if v]
    missing = [
        k
        for k, v in (
            ("metrics", sources.metrics),
            ("logs", sources.logs),
            ("traces", sources.traces),
            ("changes", sources.changes),
        )
        if v is None
    ]
    failed = [f.source for f in data.failures]
    base: dict[str, Any] = {
        "understood": _understood(u),
        "window": window,
        "anomaly_start": sc.start,
        "sources_used": tuple(data.used),
        "source_failures": tuple(data.failures),
        "usage": dict(data.usage),
        "sources_missing": tuple(missing),
        "explained_by": dict(sc.ranking.explained_by),
    }
    ranked = [(s, v) for s, v in sc.ranking.ranked if v > 0]
    if not ranked:
        return Report(
            summary="I found no clear anomaly in the telemetry around the incident time.",
            root_cause=None,
            fault_type=None,
            confidence="Low",
            confidence_reason="No service deviated from its baseline." + _fail_note(failed),
            impact="No degradation detected.",
            next_steps=("Check the incident time and services.",),
            evidence=(),
            timeline=_timeline(data, sc, None),
            **base,
        )
    root = ranked[0][0]
    candidates = tuple(_candidate(s, v, sc, data) for s, v in ranked[:5])
    fault, change = candidates[0].fault_type, _change_for(root, data.changes, sc.start)
    level, reason = confidence(sc.ranking, root, present=present, failed=failed, missing=missing)
    evidence = _evidence(root, sc, data)
    for e in evidence:
        emit("evidence.found", "analyse", e.summary, evidence_kind=e.kind, service=e.service)
    clear = {m.series.service for m in sc.metrics if m.score >= 5.0 and m.family in ("error", "latency")}
    affected = [s for s, v in sc.ranking.combined.items() if v >= 0.3 or s in clear]
    front = _front(affected, sc.graph)
    summary = (
        f"{root} is the most likely root cause ({FAULT_LABELS.get(fault, fault)}), anomaly since "
        f"{sc.start:%Y-%m-%d %H:%M} UTC"
        + (f"; {', '.join(a for a in affected if a != root)} degraded as a consequence." if len(affected) > 1 else ".")
    )
    return Report(
        summary=summary,
        root_cause=root,
        fault_type=fault,
        confidence=level,
        confidence_reason=reason,
        candidates=candidates,
        evidence=evidence,
        timeline=_timeline(data, sc, root),
        impact=impact_text(front, affected, sc.metrics, sc.start),
        next_steps=next_steps(fault, root, sc.start, change),
        **base,
    )


def _fail_note(failed: Sequence[str]) -> str:
    return f" Failed sources: {', '.join(failed)}." if failed else ""


def _edge_changed(e: EdgeStats) -> bool:
    """A call edge worth citing: more errors (one point or more), a slower p95 (1.5x or more) or a wider gap."""
    slower = e.after_p95 >= EDGE_SLOWER * max(e.before_p95, 1e-9)
    return e.after_error - e.before_error >= EDGE_MORE_ERRORS or slower or e.gap_score >= ANOMALOUS


def _change_for(service: str, changes: Sequence[Change], start: datetime) -> Change | None:
    return guess_fault(service, [], changes, start)[1]


def _on_the_wire(service: str, sc: Scores) -> bool:
    """True when the service's strongest evidence is a delay on the calls into it, not its own behaviour."""
    mine = {name: v.get(service, 0.0) for name, v in sc.ranking.signals.items()}
    top = max(mine, key=lambda k: mine[k], default=None)
    return top in WIRE_SIGNALS and mine[top] > 0


def _candidate(service: str, score: float, sc: Scores, data: CollectedData) -> Candidate:
    fault, change = guess_fault(service, sc.metrics, data.changes, sc.start)
    if fault != "bad_deploy" and _on_the_wire(service, sc):
        fault = "network"
    reasons = []
    top = [m for m in sc.metrics if m.series.service == service and m.score >= ANOMALOUS][:2]
    reasons += [f"{m.series.name} {'up' if m.direction > 0 else 'down'} {m.score:.1f} robust units" for m in top]
    reasons += [f"{k} signal {v.get(service, 0.0):.2f}" for k, v in sc.ranking.signals.items() if v.get(service)]
    if service in sc.ranking.explained_by:
        reasons.append(f"likely a victim of downstream {sc.ranking.explained_by[service]}")
    if change is not None:
        reasons.append(f"{change.kind} at {change.ts:%H:%M} UTC: {change.description}")
    return Candidate(service, round(score, 4), tuple(reasons), fault)


def _front(affected: Sequence[str], graph: dict[str, set[str]]) -> str | None:
    callees = {c for s in affected for c in graph.get(s, ()) if c in affected}
    fronts = [s for s in affected if s not in callees]
    return fronts[0] if fronts else (affected[0] if affected else None)


def _edge_gap_evidence(root: str, sc: Scores) -> list[Evidence]:
    """Delayed calls into the root, or the root's own calls when several of them are delayed alike."""
    delayed = [g for g in sc.edge_gaps if g.score >= ANOMALOUS]
    outgoing = [g for g in delayed if g.caller == root]
    cited = [g for g in delayed if g.callee == root] + (outgoing if len({g.callee for g in outgoing}) >= 2 else [])
    return [
        Evidence(
            "metric",
            root,
            f"calls {g.caller} -> {g.callee}: time on the wire {g.before:.4g} -> {g.after:.4g} {g.unit} "
            f"({g.score:.1f} robust units), what the caller measured beyond the callee's own time",
            "metrics",
            {
                "edge": f"{g.caller}->{g.callee}",
                "series": g.name,
                "query": list(g.queries),
                "from": iso(sc.start),
                "baseline": g.before,
                "incident": g.after,
            },
        )
        for g in cited[:2]
    ]


def _evidence(root: str, sc: Scores, data: CollectedData) -> tuple[Evidence, ...]:
    out: list[Evidence] = []
    # only changes outside the normal range are evidence (a 0.6-unit wiggle is not, and follow-ups say so)
    for m in [m for m in sc.metrics if m.series.service == root and m.score >= ANOMALOUS][:3]:
        s = m.series
        out.append(
            Evidence(
                "metric",
                root,
                f"{s.name} went {'up' if m.direction > 0 else 'down'} from "
                f"{m.baseline_value:.4g} to {m.incident_value:.4g} {s.unit} ({m.score:.1f} robust units)",
                "metrics",
                {
                    "series": s.name,
                    "query": s.query,
                    "from": iso(sc.start),
                    "baseline": m.baseline_value,
                    "incident": m.incident_value,
                    "peak": m.peak_value,
                },
            )
        )
    out += _edge_gap_evidence(root, sc)
    for f in [f for f in sc.logs if f.service == root][:2] + [f for f in sc.logs if f.service != root][:1]:
        out.append(
            Evidence(
                "log",
                f.service,
                f"{'new' if f.new else 'surging'} {f.level} log template: "
                f"{f.after} lines after the anomaly start vs {f.before} in the baseline",
                "logs",
                {"template": f.template, "count": f.after, "baseline_count": f.before, "example": f.example},
            )
        )
    for c in [c for c in sc.flows if c.service == root and c.score >= ANOMALOUS][:2]:
        out.append(
            Evidence(
                "trace",
                root,
                f"requests to {c.endpoint or root}: {c.before_with} of {c.before_n} went through {c.step} before "
                f"the anomaly, {c.after_with} of {c.after_n} after"
                + (" (a step no longer reached)" if c.vanished else " (a step not usually taken)"),
                "traces",
                {
                    "endpoint": c.endpoint,
                    "step": c.step,
                    "requests_before": c.before_n,
                    "with_step_before": c.before_with,
                    "requests_after": c.after_n,
                    "with_step_after": c.after_with,
                    "z": round(c.score, 2),
                },
            )
        )
    if sc.traces is not None:
        edges = [e for e in sc.traces.edges if e.callee == root and _edge_changed(e)]
        edges.sort(
            key=lambda e: (e.after_error - e.before_error, e.after_p95 / max(e.before_p95, 1e-9)),
            reverse=True,
        )
        # the root's own calls, when several of them are delayed alike (the delay is on the caller's side)
        outgoing = sorted(
            (e for e in sc.traces.edges if e.caller == root and e.callee != root and e.gap_score >= ANOMALOUS),
            key=lambda e: e.gap_score,
            reverse=True,
        )
        if len(outgoing) >= 2:
            edges = outgoing[:2] + edges
        for e in edges[:2]:
            out.append(
                Evidence(
                    "trace",
                    root,
                    f"calls {e.caller} -> {e.callee}: p95 {e.before_p95:.0f} -> "
                    f"{e.after_p95:.0f} ms, errors {e.before_error:.1%} -> {e.after_error:.1%}"
                    + (
                        f", time between caller and callee {e.before_gap:.0f} -> {e.after_gap:.0f} ms"
                        if e.gap_score >= ANOMALOUS
                        else ""
                    ),
                    "traces",
                    {
                        "edge": f"{e.caller}->{e.callee}",
                        "p50_before": e.before_p50,
                        "p50_after": e.after_p50,
                        "p95_before": e.before_p95,
                        "p95_after": e.after_p95,
                        "error_before": e.before_error,
                        "error_after": e.after_error,
                        "gap_before_ms": e.before_gap,
                        "gap_after_ms": e.after_gap,
                        "gap_score": e.gap_score,
                    },
                )
            )
    change = _change_for(root, data.changes, sc.start)
    if change is not None:
        out.append(
            Evidence(
                "change",
                root,
                f"{change.kind} on {root} shortly before the anomaly: {change.description}",
                "changes",
                {"ts": iso(change.ts), "kind": change.kind, "description": change.description},
            )
        )
    elif data.changes or "changes" in {u.split(":")[0] for u in data.used}:
        out.append(
            Evidence(
                "note",
                root,
                f"No deploy or config change on {root} in the 30 minutes before the anomaly.",
                "changes",
                {},
            )
        )
    return tuple(out)


def _timeline(data: CollectedData, sc: Scores, root: str | None) -> tuple[TimelineEntry, ...]:
    items = [TimelineEntry(c.ts, f"{c.kind} on {c.service}: {c.description}") for c in data.changes]
    items.append(
        TimelineEntry(sc.start, "anomaly starts" + ("" if sc.detected else " (incident time; no clear shift)"))
    )
    errors = [f for f in sc.logs if f.level in ("ERROR", "FATAL", "CRITICAL") and f.first_seen is not None]
    if errors:
        first = min(errors, key=lambda f: f.first_seen or sc.start)
        if first.first_seen is not None:
            items.append(TimelineEntry(first.first_seen, f"first new error log on {first.service}: {first.example}"))
    if sc.peak is not None:
        items.append(TimelineEntry(sc.peak, "peak of the anomaly"))
    return tuple(sorted(items, key=lambda e: e.ts))


__all__ = ["InvestigationConfig", "empty_report", "fetch", "investigate", "windows"]
