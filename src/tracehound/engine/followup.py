"""Deterministic follow-up questions on a finished investigation (no language model)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from tracehound.engine.parse import match_services, parse_time
from tracehound.engine.ports import Sources
from tracehound.engine.rca.combine import combine, metric_family_scores
from tracehound.engine.rca.graph import build_call_graph
from tracehound.engine.rca.logs import template_counts
from tracehound.engine.rca.robust import robust_scores
from tracehound.engine.report import Report, md_code, md_escape
from tracehound.engine.types import Incident, LogRecord, TimeRange

HELP = (
    "You can ask: *why not X?*, *show the errors of X*, *what changed before 14:30?*, "
    "*zoom in on 14:25-14:35*, *what is the impact?*, or *check whether the connection pool was exhausted*."
)
_STOP = {
    "check",
    "whether",
    "the",
    "was",
    "were",
    "is",
    "are",
    "a",
    "an",
    "of",
    "on",
    "in",
    "for",
    "did",
    "does",
    "any",
    "there",
    "if",
    "show",
    "me",
    "what",
    "why",
    "not",
    "get",
    "be",
    "been",
    "to",
    "it",
    "and",
    "or",
}


@dataclass(frozen=True, slots=True)
class FollowUpAnswer:
    markdown: str
    usage: dict[str, int]


def _usage() -> dict[str, int]:
    return {"data_points": 0, "log_lines": 0, "spans": 0, "queries": 0}


def _known(report: Report) -> list[str]:
    return [c.service for c in report.candidates] + list(report.understood.get("services") or [])


async def answer_follow_up(
    question: str,
    *,
    incident: Incident,
    report: Report,
    history: Sequence[tuple[str, str]],
    sources: Sources,
    now: datetime,
) -> FollowUpAnswer:
    """Answer one follow-up question about ``report``; ``history`` holds earlier (role, markdown) turns."""
    q = question.lower()
    known = sorted(set(_known(report)) | set(await _services(sources)))
    services = match_services(question, known)
    if re.search(r"\bwhy not\b|\bnot the\b", q) and services:
        return _why_not(services[0], report)
    if re.search(r"\b(error|errors|log|logs|exceptions?)\b", q) and re.search(r"\b(show|list|see|what)\b", q):
        return await _logs(services[0] if services else report.root_cause, report, sources)
    if re.search(r"\b(changed?|changes|deploy\w*|release\w*)\b", q):
        return await _changes(question, report, sources, now)
    if re.search(r"\bzoom\b|\bbetween\b|\d{1,2}:\d{2}\s*(-|to|–)\s*\d{1,2}:\d{2}", q):
        return await _zoom(question, report, sources, now)
    if re.search(r"\bimpact\b|\baffected\b|\bblast radius\b|\bwho\b", q):
        return FollowUpAnswer(f"**Impact:** {md_escape(report.impact, 1000)}", _usage())
    if re.search(r"\b(check|whether|was|were|is there|did)\b", q):
        return await _search(question, report, sources)
    return _fallback(report)


async def _services(sources: Sources) -> Sequence[str]:
    if sources.metrics is None:
        return []
    try:
        return await sources.metrics.services()
    except Exception:  # an unavailable source only limits name matching
        return []


def _window(report: Report, now: datetime) -> TimeRange:
    return report.window or TimeRange(now - timedelta(hours=1), now)


def _fallback(report: Report) -> FollowUpAnswer:
    if report.root_cause is None:
        return FollowUpAnswer(f"{md_escape(report.summary, 600)}\n\n{HELP}", _usage())
    text = (
        f"The most likely root cause is {md_code(report.root_cause)} ({md_escape(report.fault_type or '')}), "
        f"confidence **{report.confidence}**.\n\n{HELP}"
    )
    return FollowUpAnswer(text, _usage())


def _why_not(service: str, report: Report) -> FollowUpAnswer:
    if service == report.root_cause:
        return FollowUpAnswer(
            f"{md_code(service)} *is* the most likely root cause: "
            + md_escape("; ".join(report.candidates[0].reasons), 600),
            _usage(),
        )
    ranks = {c.service: (i, c) for i, c in enumerate(report.candidates, 1)}
    top = report.candidates[0] if report.candidates else None
    lines = [f"### Why not {md_code(service)}?", ""]
    if service in ranks:
        i, c = ranks[service]
        lines.append(
            f"- {md_code(service)} ranked #{i} with score {c.score:.2f}"
            + (f" vs {top.score:.2f} for {md_code(top.service)}." if top else ".")
        )
        lines += [f"- {md_escape(r)}" for r in c.reasons]
    elif service not in report.explained_by:
        lines.append(f"- {md_code(service)} showed no significant anomaly in the window, so it was not a candidate.")
    listed = ranks[service][1].reasons if service in ranks else ()
    if service in report.explained_by and not any("victim" in r for r in listed):
        lines.append(
            f"- {md_code(service)} is likely a victim of downstream {md_escape(report.explained_by[service])}: "
            "its symptoms are explained by a service it calls."
        )
    ev = [e for e in report.evidence if e.service == service]
    lines.append(f"- Evidence items citing it: {len(ev)}.")
    if top:
        lines.append(f"- The root cause {md_code(top.service)} has: " + md_escape("; ".join(top.reasons), 400))
    return FollowUpAnswer("\n".join(lines), _usage())


async def _logs(service: str | None, report: Report, sources: Sources) -> FollowUpAnswer:
    usage = _usage()
    if sources.logs is None:
        return FollowUpAnswer("No log source is connected, so I cannot show logs.", usage)
    if service is None:
        return FollowUpAnswer("Which service? " + HELP, usage)
    window = report.window
    start = report.anomaly_start
    if window is None or start is None:
        return FollowUpAnswer("This report has no time window to read logs from.", usage)
    usage["queries"] += 1
    try:
        records = list(await sources.logs.logs(window, services=[service]))
    except Exception as exc:  # report the failure to the user
        return FollowUpAnswer(f"The log source failed: {md_escape(str(exc))}", usage)
    usage["log_lines"] = len(records)
    counts = template_counts(records, baseline=TimeRange(window.start, start), anomaly_start=start, end=window.end)
    lines = [f"### Error and warning logs of {md_code(service)} since {start:%H:%M} UTC", ""]
    if not counts:
        lines.append("No ERROR or WARN lines after the anomaly start.")
    lines += ["| level | template | after | before | example |", "|---|---|---|---|---|"] if counts else []
    for c in counts[:8]:
        lines.append(f"| {c.level} | {md_code(c.template, 120)} | {c.after} | {c.before} | {md_code(c.example, 160)} |")
    return FollowUpAnswer("\n".join(lines), usage)


async def _changes(question: str, report: Report, sources: Sources, now: datetime) -> FollowUpAnswer:
    usage = _usage()
    if sources.changes is None:
        return FollowUpAnswer("No change source (deploys/config) is connected.", usage)
    parsed = parse_time(question, report.window.end if report.window else now)
    until = parsed[0] if parsed else (report.anomaly_start or now)
    window = TimeRange(until - timedelta(hours=2), until)
    usage["queries"] += 1
    try:
        changes = list(await sources.changes.changes(window))
    except Exception as exc:  # report the failure to the user
        return FollowUpAnswer(f"The change source failed: {md_escape(str(exc))}", usage)
    lines = [f"### Changes in the 2 hours before {until:%Y-%m-%d %H:%M} UTC", ""]
    lines += [f"- {c.ts:%H:%M} UTC {md_code(c.service)} {c.kind}: {md_escape(c.description)}" for c in changes]
    return FollowUpAnswer("\n".join(lines if changes else [*lines, "No changes recorded."]), usage)


async def _zoom(question: str, report: Report, sources: Sources, now: datetime) -> FollowUpAnswer:
    usage = _usage()
    m = re.search(r"(\d{1,2}:\d{2})\s*(?:-|to|–|and)\s*(\d{1,2}:\d{2})", question)
    ref = report.window.end if report.window else now
    if m is None or sources.metrics is None:
        return FollowUpAnswer("Give a range like `14:25-14:35` (and connect a metrics source) to zoom in.", usage)
    a, b = parse_time(m.group(1), ref), parse_time(m.group(2), ref)
    if a is None or b is None or b[0] <= a[0]:
        return FollowUpAnswer("I could not read that time range.", usage)
    zoom = TimeRange(a[0], b[0])
    data = TimeRange(zoom.start - timedelta(minutes=60), zoom.end)
    usage["queries"] += 1
    try:
        series = list(await sources.metrics.query(data))
    except Exception as exc:  # report the failure to the user
        return FollowUpAnswer(f"The metrics source failed: {md_escape(str(exc))}", usage)
    usage["data_points"] = sum(len(s.values) for s in series)
    scores = robust_scores(series, baseline=TimeRange(data.start, zoom.start), anomaly_start=zoom.start, end=zoom.end)
    ranking = combine(metric_family_scores(scores), build_call_graph([], sources.call_graph))
    lines = [f"### Services ranked within {zoom.start:%H:%M}-{zoom.end:%H:%M} UTC (metrics only)", ""]
    for i, (svc, v) in enumerate(ranking.ranked[:5], 1):
        top = next((s for s in scores if s.series.service == svc), None)
        detail = f" — {top.series.name} {top.score:.1f} robust units" if top else ""
        lines.append(f"{i}. {md_code(svc)} {v:.2f}{detail}")
    return FollowUpAnswer("\n".join(lines), usage)


async def _search(question: str, report: Report, sources: Sources) -> FollowUpAnswer:
    usage = _usage()
    words = [w for w in re.findall(r"[a-z]{3,}", question.lower()) if w not in _STOP]
    stems = {w[:5] for w in words}
    window = report.window or TimeRange(datetime.now(UTC) - timedelta(hours=1), datetime.now(UTC))
    found: list[str] = []
    if sources.metrics is not None:
        usage["queries"] += 1
        try:
            series = list(await sources.metrics.query(window))
        except Exception as exc:  # keep searching the other sources
            found.append(f"- metrics source failed: {md_escape(str(exc))}")
            series = []
        usage["data_points"] = sum(len(s.values) for s in series)
        start = report.anomaly_start or window.start
        hits = [s for s in series if sum(st in s.name.lower() for st in stems) >= min(2, len(stems))]
        base = TimeRange(window.start, start)
        for m in robust_scores(hits, baseline=base, anomaly_start=start, end=window.end)[:5]:
            state = "anomalous" if m.score >= 3 else "normal"
            found.append(
                f"- metric {md_code(m.series.query or m.series.name)}: {m.baseline_value:.4g} → "
                f"{m.incident_value:.4g}, peak {m.peak_value:.4g} ({state}, {m.score:.1f} robust units)"
            )
    if sources.logs is not None and report.window is not None:
        usage["queries"] += 1
        try:
            records = [r for r in await sources.logs.logs(window) if sum(st in r.message.lower() for st in stems) >= 1]
        except Exception as exc:  # keep the metric findings
            found.append(f"- log source failed: {md_escape(str(exc))}")
            records = []
        usage["log_lines"] = len(records)
        by: dict[tuple[str, str], LogRecord] = {}
        for r in records:
            by.setdefault((r.service, r.level), r)
        found += [
            f"- {n} log line(s) match, e.g. {md_code(r.service)} {r.level}: {md_code(r.message, 160)}"
            for n, r in [(sum(1 for x in records if (x.service, x.level) == k), v) for k, v in by.items()]
        ][:5]
    head = f"### Searching for: {md_code(' '.join(words))}"
    body = "\n".join(found) if found else "Nothing matching exists in the connected metrics or logs."
    return FollowUpAnswer(f"{head}\n\n{body}", usage)
