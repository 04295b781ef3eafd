"""A free search of the metrics and logs for the words of a question ("check whether there were timeouts")."""

from __future__ import annotations

from tracehound.engine.followup.common import Ctx, FollowUpAnswer, num
from tracehound.engine.followup.intents import Intent
from tracehound.engine.rca.robust import robust_scores
from tracehound.engine.report import md_code
from tracehound.engine.types import LogRecord


async def search(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    stems = {t[:5] for t in intent.terms}
    head = f"### Searching for: {md_code(' '.join(intent.terms))}"
    if not stems:
        return ctx.answer(f"{head}\n\nThere is nothing to search for in that question.")
    services = [intent.service] if intent.service else None
    found = await _metric_hits(stems, services, ctx) + await _log_hits(stems, services, ctx)
    if ctx.sources.metrics is None and ctx.sources.logs is None:
        body = "No metrics or log source is connected (or this follow-up ran in fast mode), so I cannot search."
    else:
        body = "\n".join(found) if found else "Nothing matching exists in the connected metrics or logs."
    return ctx.answer(f"{head}\n\n{body}")


async def _metric_hits(stems: set[str], services: list[str] | None, ctx: Ctx) -> list[str]:
    series = await ctx.metrics(ctx.window, services)
    need = min(2, len(stems))
    hits = [s for s in series if sum(st in s.name.lower() for st in stems) >= need]
    out = []
    for m in robust_scores(hits, baseline=ctx.baseline, anomaly_start=ctx.start, end=ctx.window.end)[:5]:
        state = "anomalous" if m.score >= 3 else "normal"
        out.append(
            f"- metric {md_code(m.series.query or m.series.name)}: {num(m.baseline_value)} → "
            f"{num(m.incident_value)}, peak {num(m.peak_value)} ({state}, {m.score:.1f} robust units)"
        )
    return out


async def _log_hits(stems: set[str], services: list[str] | None, ctx: Ctx) -> list[str]:
    records = [r for r in await ctx.logs(ctx.window, services) if any(st in r.message.lower() for st in stems)]
    groups: dict[tuple[str, str], list[LogRecord]] = {}
    for r in records:
        groups.setdefault((r.service, r.level), []).append(r)
    ranked = sorted(groups.values(), key=len, reverse=True)[:5]
    out = []
    for group in ranked:
        after = sum(1 for r in group if r.ts >= ctx.start)
        r = group[0]
        out.append(
            f"- {len(group)} log line(s) match ({after} after {ctx.start:%H:%M} UTC), e.g. {md_code(r.service)} "
            f"{r.level}: {md_code(r.message, 160)}"
        )
    return out
