"""The deterministic answers to each intent, from the stored report and, where useful, the sources again."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta

from tracehound.engine.followup.common import Ctx, FollowUpAnswer, SourceError, num
from tracehound.engine.followup.intents import Intent
from tracehound.engine.narrative import FAULT_LABELS
from tracehound.engine.rca.combine import combine, metric_family_scores
from tracehound.engine.rca.graph import build_call_graph
from tracehound.engine.rca.logs import template_counts
from tracehound.engine.rca.robust import ANOMALOUS, robust_scores
from tracehound.engine.report import Report, md_code, md_escape
from tracehound.engine.types import TimeRange


def help_text(report: Report) -> str:
    """What can be asked, with examples drawn from this investigation."""
    root = report.root_cause
    other = next((c.service for c in report.candidates if c.service != root), None)
    start = report.anomaly_start
    hm = f"{start:%H:%M}" if start else "14:30"
    a, b = (start - timedelta(minutes=5), start + timedelta(minutes=5)) if start else (None, None)
    rng = f"{a:%H:%M}-{b:%H:%M}" if a and b else "14:25-14:35"
    examples = [
        f"*why not {other or 'the database'}?*",
        f"*show the errors of {root or 'checkout'}* (then *and the logs of {other or 'cart'}?*)",
        f"*what changed before {hm}?*",
        f"*zoom in on {rng}*",
        "*what is the impact?*",
        "*check whether the database connection pool was exhausted*",
        "*what is the root cause?*",
        "*check whether there were timeouts*",
    ]
    return "You can ask: " + ", ".join(examples) + "."


def unknown(ctx: Ctx) -> FollowUpAnswer:
    r = ctx.report
    head = "I cannot answer that question from this investigation."
    if r.root_cause is not None:
        head += (
            f" Its conclusion: the most likely root cause is {md_code(r.root_cause)} "
            f"({md_escape(FAULT_LABELS.get(r.fault_type or '', r.fault_type or 'unknown fault'))}), "
            f"confidence **{r.confidence}**."
        )
    return ctx.answer(f"{head}\n\n{help_text(r)}")


def summary(ctx: Ctx) -> FollowUpAnswer:
    r = ctx.report
    if r.root_cause is None:
        return ctx.answer(f"{md_escape(r.summary, 600)}\n\nNo root cause was determined.\n\n{help_text(r)}")
    label = FAULT_LABELS.get(r.fault_type or "", r.fault_type or "unknown fault")
    lines = [
        f"The most likely root cause is {md_code(r.root_cause)} ({md_escape(label)}), confidence "
        f"**{r.confidence}**: {md_escape(r.confidence_reason, 600)}",
        "",
    ]
    for i, c in enumerate(r.candidates[:3], 1):
        lines.append(f"{i}. {md_code(c.service)} {c.score:.2f} — {md_escape('; '.join(c.reasons), 300)}")
    if r.next_steps:
        lines += ["", "**Next steps:** " + md_escape(r.next_steps[0], 400)]
    return ctx.answer("\n".join(lines))


async def why_not(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    r, service = ctx.report, intent.service
    if service is None:
        known = ", ".join(md_code(s) for s in ctx.known[:30]) or "none"
        name = md_code(intent.unknown_name or "?")
        return ctx.answer(f"No connected source knows a service called {name}. The services I know: {known}.")
    if service == r.root_cause and r.candidates:
        return ctx.answer(
            f"{md_code(service)} *is* the most likely root cause: " + md_escape("; ".join(r.candidates[0].reasons), 600)
        )
    ranks = {c.service: (i, c) for i, c in enumerate(r.candidates, 1)}
    top = r.candidates[0] if r.candidates else None
    lines = [f"### Why not {md_code(service)}?", ""]
    if service in ranks:
        i, c = ranks[service]
        versus = f" vs {top.score:.2f} for {md_code(top.service)}." if top else "."
        lines.append(f"- {md_code(service)} ranked #{i} with score {c.score:.2f}{versus}")
        lines += [f"- {md_escape(reason)}" for reason in c.reasons]
        lines += await _strongest_metric(service, ctx)
    elif service not in r.explained_by:
        lines.append(f"- {md_code(service)} showed no significant anomaly in the window, so it was not a candidate.")
        lines += await _strongest_metric(service, ctx)
    listed = ranks[service][1].reasons if service in ranks else ()
    if service in r.explained_by and not any("victim" in reason for reason in listed):
        lines.append(
            f"- {md_code(service)} is likely a victim of downstream {md_escape(r.explained_by[service])}: "
            "its symptoms are explained by a service it calls."
        )
    lines.append(f"- Evidence items citing it: {sum(1 for e in r.evidence if e.service == service)}.")
    if top:
        lines.append(f"- The root cause {md_code(top.service)} has: " + md_escape("; ".join(top.reasons), 400))
    return ctx.answer("\n".join(lines))


async def _strongest_metric(service: str, ctx: Ctx) -> list[str]:
    try:
        scores = await ctx.scores([service])
    except SourceError as exc:  # the stored ranking still answers
        return [f"- Its metrics could not be re-read: {md_escape(str(exc), 300)}."]
    if not scores:
        return []
    m = scores[0]
    return [
        f"- Its strongest metric change after {ctx.start:%H:%M} UTC: {md_code(m.series.query or m.series.name)} "
        f"{num(m.baseline_value)} → {num(m.incident_value)} ({m.score:.1f} robust units; "
        f"{'anomalous' if m.score >= ANOMALOUS else 'within its normal range'})."
    ]


def _span(intent: Intent, ctx: Ctx) -> tuple[TimeRange, datetime]:
    """(read window, split point) for logs: the report's window and anomaly start, or the asked range with an
    equally long (at least 30 minutes) baseline before it."""
    if intent.start is None or intent.end is None:
        return ctx.window, ctx.start
    before = max(intent.end - intent.start, timedelta(minutes=30))
    return TimeRange(intent.start - before, intent.end), intent.start


async def logs(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    service = intent.service or ctx.report.root_cause
    if ctx.sources.logs is None:
        return ctx.answer("No log source is connected (or this follow-up ran in fast mode), so I cannot show logs.")
    if service is None:
        return ctx.answer("Which service? " + help_text(ctx.report))
    window, start = _span(intent, ctx)
    records = await ctx.logs(window, [service])
    counts = template_counts(records, baseline=TimeRange(window.start, start), anomaly_start=start, end=window.end)
    when = f"between {start:%H:%M} and {window.end:%H:%M} UTC" if intent.start else f"since {start:%H:%M} UTC"
    lines = [f"### Error and warning logs of {md_code(service)} {when}", ""]
    if not counts:
        return ctx.answer("\n".join([*lines, f"No ERROR or WARN lines {when} ({len(records)} log lines read)."]))
    after, before = sum(c.after for c in counts), sum(c.before for c in counts)
    lines += [f"{after} ERROR/WARN lines {when}, {before} in the {_minutes(window.start, start)} minutes before.", ""]
    lines += ["| level | template | after | before | example |", "|---|---|---|---|---|"]
    for c in counts[:8]:
        lines.append(f"| {c.level} | {md_code(c.template, 120)} | {c.after} | {c.before} | {md_code(c.example, 160)} |")
    return ctx.answer("\n".join(lines))


def _minutes(a: datetime, b: datetime) -> int:
    return int((b - a).total_seconds() // 60)


async def changes(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    if ctx.sources.changes is None:
        return ctx.answer("No change source (deploys/config) is connected, or this follow-up ran in fast mode.")
    until = intent.end or ctx.report.anomaly_start or ctx.now
    since = intent.start or until - timedelta(hours=2)
    ctx.usage["queries"] += 1
    try:
        found = [c for c in await ctx.sources.changes.changes(TimeRange(since, until)) if c.ts < until]
    except Exception as exc:  # reported to the user
        return ctx.answer(f"The change source failed: {md_escape(str(exc))}")
    if intent.service:
        found = [c for c in found if c.service == intent.service]
    of = f" of {md_code(intent.service)}" if intent.service else ""
    lines = [f"### Changes{of} from {since:%Y-%m-%d %H:%M} to {until:%H:%M} UTC", ""]
    start, root = ctx.report.anomaly_start, ctx.report.root_cause
    for c in sorted(found, key=lambda c: c.ts):
        note = ""
        if start is not None and start - timedelta(minutes=30) <= c.ts <= start:
            note = f" — {_minutes(c.ts, start)} min before the anomaly start"
            note += " on the suspected root cause" if c.service == root else ""
        by = f" (by {md_escape(c.author, 60)})" if c.author else ""
        lines.append(
            f"- {c.ts:%H:%M} UTC {md_code(c.service)} {md_escape(c.kind, 20)}: {md_escape(c.description)}{by}{note}"
        )
    if not found:
        lines.append("No changes recorded in that time.")
    return ctx.answer("\n".join(lines))


async def zoom(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    if intent.start is None or intent.end is None:
        return ctx.answer("Give a time range like `14:25-14:35` to zoom in.")
    if ctx.sources.metrics is None:
        return ctx.answer("Zooming in re-reads the metrics: no metrics source is connected (or fast mode).")
    rng = TimeRange(intent.start, intent.end)
    data = TimeRange(rng.start - timedelta(minutes=60), rng.end)
    series = await ctx.metrics(data)
    scores = robust_scores(series, baseline=TimeRange(data.start, rng.start), anomaly_start=rng.start, end=rng.end)
    ranking = combine(metric_family_scores(scores), build_call_graph([], ctx.sources.call_graph))
    lines = [f"### Services ranked within {rng.start:%H:%M}-{rng.end:%H:%M} UTC (against the hour before)", ""]
    for i, (svc, v) in enumerate(ranking.ranked[:5], 1):
        best = next((s for s in scores if s.series.service == svc), None)
        detail = f" — {md_code(best.series.name)} {best.score:.1f} robust units" if best else ""
        lines.append(f"{i}. {md_code(svc)} {v:.2f}{detail}")
    if not ranking.ranked:
        lines.append("No metric data in that range.")
    lines += await _zoom_logs(rng, ctx)
    return ctx.answer("\n".join(lines))


async def _zoom_logs(rng: TimeRange, ctx: Ctx) -> list[str]:
    if ctx.sources.logs is None:
        return []
    before = TimeRange(rng.start - (rng.end - rng.start), rng.start)
    records = await ctx.logs(TimeRange(before.start, rng.end))
    errors = [r for r in records if r.level in ("ERROR", "FATAL")]
    during = Counter(r.service for r in errors if r.ts >= rng.start)
    prior = Counter(r.service for r in errors if r.ts < rng.start)
    if not during:
        return ["", "No ERROR lines in that range."]
    top = ", ".join(f"{md_code(s)} {n} (before: {prior.get(s, 0)})" for s, n in during.most_common(5))
    return ["", f"ERROR lines in the range, per service (the same length before in brackets): {top}."]


async def impact(ctx: Ctx) -> FollowUpAnswer:
    r = ctx.report
    lines = ["### Impact", "", md_escape(r.impact or "Unknown.", 1000), ""]
    if r.anomaly_start is not None:
        lines.append(
            f"- Since {r.anomaly_start:%Y-%m-%d %H:%M} UTC: at least {_minutes(r.anomaly_start, ctx.window.end)} "
            "minutes up to the end of the investigated window."
        )
    victims = sorted(r.explained_by)
    if victims:
        lines.append("- Degraded by a downstream cause: " + ", ".join(md_code(v) for v in victims) + ".")
    entry = _entry_services(ctx)
    try:
        scores = [m for m in await ctx.scores(entry) if m.family in ("error", "latency") and m.score >= ANOMALOUS]
    except SourceError as exc:  # the stored impact still answers
        return ctx.answer("\n".join([*lines, f"- Not re-read: {md_escape(str(exc), 300)}."]))
    if scores:
        lines += ["", "| service | metric | before | after | peak |", "|---|---|---|---|---|"]
        for m in scores[:8]:
            unit = md_escape(m.series.unit, 20)
            lines.append(
                f"| {md_code(m.series.service)} | {md_code(m.series.name)} | {num(m.baseline_value)} {unit} | "
                f"{num(m.incident_value)} {unit} | {num(m.peak_value)} {unit} |"
            )
    elif ctx.sources.metrics is not None and entry:
        lines.append(
            "- The entry services' error and latency metrics " + ", ".join(map(md_code, entry)) + " are normal."
        )
    return ctx.answer("\n".join(lines).rstrip())


def _entry_services(ctx: Ctx) -> list[str]:
    """Services nothing calls (users reach the system through them), else those the incident names."""
    edges = ctx.sources.call_graph
    if edges:
        callees = {b for _, b in edges}
        return sorted({a for a, _ in edges} - callees)
    named = [str(s) for s in ctx.report.understood.get("services") or []]
    return named or ([ctx.report.root_cause] if ctx.report.root_cause else [])
