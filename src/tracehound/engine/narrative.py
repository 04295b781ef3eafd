"""Turning scores into words: fault type, confidence, impact and next steps."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from tracehound.engine.rca.combine import Ranking
from tracehound.engine.rca.robust import MetricScore
from tracehound.engine.types import Change, Confidence

FAULT_LABELS = {
    "cpu": "CPU saturation",
    "memory": "memory exhaustion / leak",
    "db_pool": "database connection pool exhaustion",
    "latency": "network delay / slow responses",
    "network": "network delay into the service (time on the wire)",
    "errors": "errors / exceptions",
    "bad_deploy": "bad deployment",
    "unknown": "unclassified anomaly",
}
_FAMILY_TO_FAULT = {
    "cpu": "cpu",
    "memory": "memory",
    "pool": "db_pool",
    "latency": "latency",
    "error": "errors",
}
_RESOURCES = ("cpu", "memory", "pool")

NEXT_STEPS: dict[str, tuple[str, ...]] = {
    "cpu": (
        "Check {svc}'s CPU limits/throttling and recent traffic; consider scaling {svc} out.",
        "Profile {svc} for hot code paths (a CPU profile or flame graph) around {start}.",
    ),
    "memory": (
        "Inspect {svc}'s heap/RSS growth and restarts (OOM kills) since {start}.",
        "Compare a heap dump with a healthy instance; consider restarting {svc} or raising its memory limit.",
    ),
    "db_pool": (
        "Check {svc}'s database connection pool size, wait time and long-running or leaked connections.",
        "Look for slow queries or locks in the database around {start}; consider a bigger pool for now.",
    ),
    "latency": (
        "Check network and dependency latency of {svc} (DNS, TLS, load balancer, upstream provider).",
        "Compare {svc}'s slowest traces before and after {start} to find the slow operation.",
    ),
    "network": (
        "Check the network path into {svc} since {start}: its node, NIC and CNI, service-mesh sidecars, "
        "NetworkPolicy and DNS; look for packet loss, retransmits and traffic shaping (tc/netem) rules.",
        "Compare the caller-side and the callee-side latency of the calls into {svc}: the gap is the wire; if "
        "{svc} runs several replicas, check whether one node or zone holds the slow ones.",
    ),
    "errors": (
        "Read {svc}'s error logs since {start} and the stack traces of the new error templates.",
        "Check {svc}'s dependencies and configuration for the failing requests; consider failing over.",
    ),
    "bad_deploy": (
        "Consider rolling back the deployment of {svc} that preceded the anomaly: {change}.",
        "Diff the release against the previous version and check its error logs since {start}.",
    ),
    "unknown": (
        "Review {svc}'s dashboards and logs around {start}.",
        "Ask a follow-up: 'show the errors of {svc}' or 'what changed before {hm}?'.",
    ),
}


def guess_fault(
    service: str, metric_scores: Sequence[MetricScore], changes: Sequence[Change], anomaly_start: datetime
) -> tuple[str, Change | None]:
    """Fault type of ``service``: bad deploy if a change on it precedes the anomaly, else its top family."""
    recent = [
        c
        for c in changes
        if c.service == service
        and c.kind in ("deploy", "config", "flag")
        and anomaly_start - timedelta(minutes=30) <= c.ts <= anomaly_start + timedelta(minutes=2)
    ]
    if recent:
        return "bad_deploy", recent[-1]
    mine = [m for m in metric_scores if m.series.service == service and m.family in _FAMILY_TO_FAULT]
    if not mine:
        return "unknown", None
    resource = [m for m in mine if m.family in _RESOURCES and m.direction > 0 and m.score >= 5.0]
    best = max(resource or mine, key=lambda m: m.score)
    return _FAMILY_TO_FAULT[best.family], None


def confidence(
    ranking: Ranking, root: str, *, present: Sequence[str], failed: Sequence[str], missing: Sequence[str]
) -> tuple[Confidence, str]:
    """High/Medium/Low from the score margin, how many signal types agree, and the sources we could read."""
    scores = [s for _, s in ranking.ranked]
    margin = (scores[0] - scores[1]) / scores[0] if len(scores) > 1 and scores[0] > 0 else 1.0
    agree = [k for k, v in ranking.signals.items() if v.get(root, 0.0) >= 0.5]
    parts = [
        f"score margin over #2 is {margin:.0%}",
        f"{len(agree)} signal type(s) agree ({', '.join(agree) or 'none'})",
    ]
    level: Confidence = "High" if margin >= 0.3 and len(agree) >= 2 else "Medium" if margin >= 0.1 else "Low"
    if failed:
        parts.append(f"source(s) failed: {', '.join(failed)}")
        level = "Medium" if level == "High" else "Low"
    if missing:
        parts.append(f"not connected: {', '.join(missing)}")
    if len(present) <= 1 and level == "High":
        level = "Medium"
        parts.append("only one kind of telemetry was available")
    return level, "; ".join(parts) + "."


def next_steps(fault: str, service: str, start: datetime, change: Change | None) -> tuple[str, ...]:
    change_text = f"{change.description} at {change.ts:%H:%M} UTC" if change else "none found"
    steps = [
        s.format(svc=service, start=f"{start:%H:%M} UTC", hm=f"{start:%H:%M}", change=change_text)
        for s in NEXT_STEPS.get(fault, NEXT_STEPS["unknown"])
    ]
    return (*steps, "These are suggestions only: tracehound takes no action.")


def impact_text(front: str | None, affected: Sequence[str], scores: Sequence[MetricScore], start: datetime) -> str:
    if front is None:
        return "No service showed a clear degradation."
    parts = []
    for m in scores:
        if m.series.service == front and m.family in ("error", "latency") and m.score >= 3:
            parts.append(f"{m.series.name} {_num(m.baseline_value)} → {_num(m.incident_value)} {m.series.unit}".strip())
    detail = "; ".join(parts[:3]) or "no clear change in its error or latency metrics"
    others = ", ".join(a for a in affected if a != front)
    text = f"User-facing impact at {front} since {start:%H:%M} UTC: {detail}."
    return text + (f" Also degraded: {others}." if others else "")


def _num(v: float) -> str:
    if abs(v) < 1:
        return f"{v:.4f}".rstrip("0").rstrip(".") if v else "0"
    return f"{v:,.1f}"
