"""``thinking_mode``: how much work a turn does.

- ``fast``: a quick pass over the cheapest signals (metrics and changes), narrow windows, a short answer; a
  follow-up in fast mode answers from the stored evidence without querying the sources again.
- ``deep``: every signal, wide windows, the full report. Without a start time (from ``time`` or the text) the
  answer opens with that question and states the assumption it made.
- ``auto`` (default): ``deep`` when the request names a time and a symptom (an incident), else ``fast`` (an
  exploratory question).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from tracehound.engine.investigate import InvestigationConfig
from tracehound.engine.parse import parse_incident
from tracehound.engine.ports import Sources
from tracehound.engine.types import Incident

ThinkingMode = Literal["auto", "deep", "fast"]
THINKING_MODES: tuple[str, ...] = ("auto", "deep", "fast")

FAST = InvestigationConfig(
    lookback=timedelta(minutes=30),
    search_before=timedelta(minutes=15),
    after=timedelta(minutes=15),
    log_limit=20_000,
    span_limit=20_000,
)
DEEP = InvestigationConfig(
    lookback=timedelta(minutes=120),
    search_before=timedelta(minutes=60),
    after=timedelta(minutes=60),
)


@dataclass(frozen=True, slots=True)
class Plan:
    mode: Literal["deep", "fast"]
    reason: str
    has_start_time: bool
    config: InvestigationConfig

    def sources(self, sources: Sources) -> Sources:
        if self.mode == "deep":
            return sources
        return Sources(metrics=sources.metrics, changes=sources.changes, call_graph=sources.call_graph)


def plan(requested: str, incident: Incident) -> Plan:
    understood = parse_incident(incident, known_services=())
    has_time = understood.time is not None
    if requested == "deep":
        return Plan("deep", "deep mode was requested", has_time, DEEP)
    if requested == "fast":
        return Plan("fast", "fast mode was requested", has_time, FAST)
    if has_time and understood.symptom != "unknown":
        return Plan("deep", f"the request names a time and a symptom ({understood.symptom})", has_time, DEEP)
    return Plan("fast", "the request reads as an exploratory question (no time or no symptom named)", has_time, FAST)


def missing_time_question(incident: Incident) -> str:
    assumed = incident.created_at.strftime("%Y-%m-%d %H:%M UTC")
    return (
        "> **When did this start?** Deep mode needs a start time and I found none in the request, so I assumed the "
        f"problem began shortly before you asked ({assumed}). If it started earlier, reply with the time "
        '(for example *"it started at 14:30 UTC"*) and I will look again.\n\n'
    )


def short_markdown(report: dict[str, Any], reason: str) -> str:
    """The fast answer: the conclusion and the three strongest pieces of evidence."""
    lines = ["## Quick look", "", str(report.get("summary", "")), ""]
    root = report.get("root_cause")
    if root:
        lines.append(
            f"**Most likely cause:** {root} ({report.get('fault_type') or 'unknown fault type'}) — "
            f"confidence **{report.get('confidence')}**: {report.get('confidence_reason', '')}"
        )
        lines.append("")
    evidence = list(report.get("evidence") or [])[:3]
    if evidence:
        lines.append("**Strongest evidence**")
        lines += [f"- {e.get('summary', '')} _(source: {e.get('source', '?')})_" for e in evidence]
        lines.append("")
    lines.append(
        f"_Fast mode ({reason}): metrics and changes only. Ask again with `thinking_mode: deep` for the "
        "full report with logs, traces, timeline and impact._"
    )
    return "\n".join(lines)
