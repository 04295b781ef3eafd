"""Was a database connection pool exhausted? A targeted check answering yes, no or unknown, with the evidence.

Metrics: series whose names speak of pools or connections, read as *in use* (saturated when they reach a limit
series of the same service, or, with no limit series, when they jump and then sit flat at a ceiling), *waiting*
(requests queued for a connection: rising means exhaustion) or *idle* (none left means exhaustion).
Logs: the messages drivers and pools write when no connection can be had (HikariCP, SQLAlchemy's QueuePool,
PostgreSQL's "too many clients", generic "could not acquire connection"), counted before and after the anomaly
start; a surge is evidence. Without either kind of data the answer is "unknown", and says what is missing.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np

from tracehound.engine.followup.common import Ctx, FollowUpAnswer, num
from tracehound.engine.followup.intents import Intent
from tracehound.engine.narrative import FAULT_LABELS
from tracehound.engine.rca.robust import robust_scores, window_values
from tracehound.engine.report import Report, md_code, md_escape
from tracehound.engine.types import LogRecord, Series, TimeRange

Verdict = Literal["yes", "no", "unknown"]
SeriesRole = Literal["usage", "limit", "wait", "idle"]

POOL_METRIC = re.compile(r"pool|connection|conns?(?![a-z])|hikari|pgbouncer|threads_connected|numbackends", re.I)
_ROLES: tuple[tuple[SeriesRole, re.Pattern[str]], ...] = (
    ("limit", re.compile(r"max|limit|capacity|size|total_slots", re.I)),
    ("wait", re.compile(r"wait|pending|queued|timeout|starv|blocked", re.I)),
    ("idle", re.compile(r"idle|free|available", re.I)),
)
EXHAUSTION_LOG = re.compile(
    r"could not (acquire|get|obtain|borrow)\b.{0,40}\bconnection|unable to (acquire|get|obtain) (a )?\w*\s*connection"
    r"|connection pool (is )?(exhausted|full|timeout|usage high)|pool (is )?(exhausted|full)|pool timeout"
    r"|too many (connections|clients)|remaining connection slots|timeout waiting for (an? )?(idle )?(connection|object)"
    r"|connection is not available|queuepool limit|no (available|free|idle) connections?",
    re.I,
)
_FULL = 0.95  # share of the limit that counts as exhausted


@dataclass(frozen=True, slots=True)
class Finding:
    service: str
    exhausted: bool
    text: str  # one Markdown bullet, without the dash


def role(name: str) -> SeriesRole:
    return next((r for r, rx in _ROLES if rx.search(name)), "usage")


async def check_pool(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    services = [intent.service] if intent.service else None
    if ctx.sources.metrics is None and ctx.sources.logs is None:
        return _from_report(intent, ctx)
    series = [s for s in await ctx.metrics(ctx.window, services) if POOL_METRIC.search(s.name)]
    metric = metric_findings(series, ctx)
    records = await ctx.logs(ctx.window, services)
    logged = log_findings(records, ctx)
    verdict, basis = decide(metric, logged, metrics_read=bool(series), logs_read=ctx.sources.logs is not None)
    lines = [_title(intent, verdict), "", basis, ""]
    calm = [f for f in metric if not f.exhausted][:4] + [f for f in logged if not f.exhausted][:2]
    lines += [f"- {f.text}" for f in [f for f in metric + logged if f.exhausted] + calm]
    lines += _context(verdict, [f for f in metric + logged if f.exhausted], ctx.report)
    return ctx.answer("\n".join(lines).rstrip(), verdict=verdict)


def _title(intent: Intent, verdict: Verdict) -> str:
    of = f" of {md_code(intent.service)}" if intent.service else ""
    return f"### Was the database connection pool{of} exhausted? **{verdict.capitalize()}**"


def decide(
    metric: Sequence[Finding], logged: Sequence[Finding], *, metrics_read: bool, logs_read: bool
) -> tuple[Verdict, str]:
    exhausted = sorted({f.service for f in [*metric, *logged] if f.exhausted})
    if exhausted:
        kinds = " and ".join(k for k, fs in (("metrics", metric), ("logs", logged)) if any(f.exhausted for f in fs))
        return "yes", f"The {kinds} show pool exhaustion on {', '.join(md_code(s) for s in exhausted)}."
    if metrics_read:
        also = ", and the logs no surge of pool-exhaustion messages" if logs_read else " (no log source to cross-check)"
        return "no", f"The connection-pool metrics show no saturation{also}."
    if logs_read:
        return "unknown", (
            "The connected sources have no connection-pool metrics, and the logs show no surge of pool-exhaustion "
            "messages, so there is no sign of it, but nothing to confirm the pool's state either."
        )
    return "unknown", "The connected sources have neither connection-pool metrics nor logs to check."


def metric_findings(series: Sequence[Series], ctx: Ctx) -> list[Finding]:
    after = TimeRange(ctx.start, ctx.window.end)
    scores = {
        id(m.series): m.score
        for m in robust_scores(series, baseline=ctx.baseline, anomaly_start=ctx.start, end=after.end)
    }
    limits = {s.service: s for s in series if role(s.name) == "limit"}
    out = []
    for s in series:
        base, post = window_values(s, ctx.baseline), window_values(s, after)
        if len(post) == 0 or role(s.name) == "limit":
            continue
        kind = role(s.name)
        if kind == "usage":
            found = _usage(s, base, post, limits.get(s.service), after, scores.get(id(s), 0.0))
        else:
            found = _wait_or_idle(s, kind, base, post, scores.get(id(s), 0.0))
        out.append(found)
    return out


def _cite(s: Series) -> str:
    return md_code(s.query or s.name)


def _usage(
    s: Series, base: np.ndarray, post: np.ndarray, limit: Series | None, after: TimeRange, score: float
) -> Finding:
    b = float(np.median(base)) if len(base) else float("nan")
    peak = float(np.max(post))
    moved = (
        f"{_cite(s)}: {num(b)} before → {num(float(np.median(post)))} after {after.start:%H:%M} UTC, peak {num(peak)}"
    )
    caps = window_values(limit, after) if limit is not None else np.array([])
    if limit is not None and len(caps) and float(np.median(caps)) > 0:
        cap = float(np.median(caps))
        full = int(np.sum(post >= _FULL * cap))
        if full >= min(2, len(post)):
            state = f"at ≥{_FULL:.0%} of its limit {num(cap)} ({_cite(limit)}) in {full} of {len(post)} samples"
            return Finding(s.service, True, f"{moved}; {state}")
        return Finding(s.service, False, f"{moved}; limit {num(cap)} ({_cite(limit)})")
    at_top = int(np.sum(post >= peak - max(0.005 * abs(peak), 1e-9)))
    flat_top = at_top >= max(3, int(0.3 * len(post)))
    grew = peak >= 2 * max(b, 1e-9) and score >= 5.0
    if flat_top and grew:
        text = (
            f"{moved}; it sat flat at {num(peak)} in {at_top} of {len(post)} samples — a ceiling, most likely the "
            "pool size (no limit metric to confirm it)"
        )
        return Finding(s.service, True, text)
    return Finding(s.service, False, f"{moved} ({score:.1f} robust units: {'raised' if score >= 3 else 'normal'})")


def _wait_or_idle(s: Series, kind: SeriesRole, base: np.ndarray, post: np.ndarray, score: float) -> Finding:
    b = float(np.median(base)) if len(base) else 0.0
    a = float(np.median(post))
    moved = f"{_cite(s)}: {num(b)} before → {num(a)} after"
    if kind == "wait":
        exhausted = score >= 3.0 and a > b
        return Finding(s.service, exhausted, moved + ("; requests waited for a connection" if exhausted else ""))
    exhausted = b > 0 and a <= 0.05 * b
    return Finding(s.service, exhausted, moved + ("; no idle connection was left" if exhausted else ""))


def log_findings(records: Sequence[LogRecord], ctx: Ctx) -> list[Finding]:
    start, end = ctx.start, ctx.window.end
    before_min = max((start - ctx.window.start).total_seconds() / 60, 1.0)
    after_min = max((end - start).total_seconds() / 60, 1.0)
    groups: dict[str, list[LogRecord]] = {}
    for r in records:
        if EXHAUSTION_LOG.search(r.message):
            groups.setdefault(r.service, []).append(r)
    out = []
    for service, hits in sorted(groups.items(), key=lambda kv: -len(kv[1])):
        after = [r for r in hits if r.ts >= start]
        before = len(hits) - len(after)
        surge = len(after) >= 3 and (len(after) / after_min + 0.05) / (before / before_min + 0.05) >= 3.0
        example = (after or hits)[0]
        if not after:
            continue
        text = (
            f"{md_code(service)}: {len(after)} log line(s) like {md_code(example.message, 140)} after "
            f"{start:%H:%M} UTC, {before} in the {int(before_min)} minutes before"
            + (" — a surge" if surge else " — no more than usual")
        )
        out.append(Finding(service, surge, text))
    return out


def _context(verdict: Verdict, exhausted: Sequence[Finding], report: Report) -> list[str]:
    services = sorted({f.service for f in exhausted})
    out: list[str] = []
    if verdict == "yes" and len(services) >= 2:
        out.append(
            "Several services' pools filled at once: that points at the database itself (slow queries, locks) "
            "rather than one service's pool size."
        )
    if verdict == "yes" and report.root_cause in services and report.fault_type == "db_pool":
        out.append(f"This agrees with the report: {md_code(report.root_cause)}, {FAULT_LABELS['db_pool']}.")
    elif verdict == "yes" and report.root_cause is not None and report.root_cause not in services:
        out.append(
            f"The report ranks {md_code(report.root_cause)} first: the exhausted pool may be a consequence of it."
        )
    return ["", " ".join(out)] if out else []


def _from_report(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    """Fast mode (no source may be read): only the evidence stored with the report."""
    hits = []
    for e in ctx.report.evidence:
        if intent.service and e.service != intent.service:
            continue
        cited = " ".join(str(v) for v in e.citation.values())
        pool_metric = e.kind == "metric" and POOL_METRIC.search(cited) and "up" in e.summary
        if pool_metric or (e.kind == "log" and EXHAUSTION_LOG.search(cited)):
            hits.append(f"- {md_code(e.service or '?')} {md_escape(e.summary, 300)} ({md_code(_short(e.citation))})")
    if hits:
        basis = "The stored evidence shows it (this follow-up read no source again):"
        return ctx.answer("\n".join([_title(intent, "yes"), "", basis, "", *hits]), verdict="yes")
    basis = (
        "The stored evidence says nothing about connection pools, and this follow-up may not read the sources "
        "again (fast mode): ask again in `auto` or `deep` mode for a check of the pool metrics and logs."
    )
    return ctx.answer("\n".join([_title(intent, "unknown"), "", basis]), verdict="unknown")


def _short(citation: dict[str, object]) -> str:
    return "; ".join(f"{k}={v}" for k, v in citation.items() if k in ("query", "series", "template", "count"))
