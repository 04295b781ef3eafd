"""The investigation report: frozen values, a JSON round trip and a Markdown rendering."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

from tracehound.engine.types import Confidence, SourceFailure, TimeRange

EvidenceKind = Literal["metric", "log", "trace", "change", "note"]


def iso(ts: datetime) -> str:
    """ISO-8601 in UTC with a ``Z`` suffix."""
    return ts.astimezone(UTC).isoformat().replace("+00:00", "Z")


def parse_iso(s: str) -> datetime:
    ts = datetime.fromisoformat(s.replace("Z", "+00:00"))
    return ts if ts.tzinfo else ts.replace(tzinfo=UTC)


def _opt_iso(ts: datetime | None) -> str | None:
    return iso(ts) if ts is not None else None


def _opt_parse(s: str | None) -> datetime | None:
    return parse_iso(s) if s is not None else None


def md_escape(text: str, limit: int = 300) -> str:
    """Make untrusted text safe inside one Markdown line: no newlines, no markup, bounded length."""
    flat = " ".join(str(text).split())
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    out = "".join("\\" + ch if ch in "\\`*_[]<>|~" else ch for ch in flat)
    return "\\" + out if out and out[0] in "#-+=>" else out


def md_code(text: str, limit: int = 300) -> str:
    """Untrusted text as inline code (backticks removed, single line)."""
    flat = " ".join(str(text).split()).replace("`", "'")
    if len(flat) > limit:
        flat = flat[: limit - 1] + "…"
    return f"`{flat}`" if flat else "``"


@dataclass(frozen=True)
class Evidence:
    kind: EvidenceKind
    service: str | None
    summary: str
    source: str
    citation: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "summary": self.summary,
            "source": self.source,
            "citation": dict(self.citation),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Evidence:
        return cls(d["kind"], d.get("service"), d["summary"], d["source"], dict(d.get("citation") or {}))


@dataclass(frozen=True)
class Candidate:
    service: str
    score: float
    reasons: tuple[str, ...]
    fault_type: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "service": self.service,
            "score": self.score,
            "reasons": list(self.reasons),
            "fault_type": self.fault_type,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Candidate:
        return cls(d["service"], float(d["score"]), tuple(d.get("reasons") or ()), d["fault_type"])


@dataclass(frozen=True)
class TimelineEntry:
    ts: datetime
    text: str


@dataclass(frozen=True)
class Report:
    summary: str
    root_cause: str | None
    fault_type: str | None
    confidence: Confidence
    confidence_reason: str
    candidates: tuple[Candidate, ...] = ()
    evidence: tuple[Evidence, ...] = ()
    timeline: tuple[TimelineEntry, ...] = ()
    impact: str = ""
    next_steps: tuple[str, ...] = ()
    understood: dict[str, Any] = field(default_factory=dict)
    window: TimeRange | None = None
    anomaly_start: datetime | None = None
    sources_used: tuple[str, ...] = ()
    source_failures: tuple[SourceFailure, ...] = ()
    usage: dict[str, int] = field(default_factory=dict)
    baseline: TimeRange | None = None
    sources_missing: tuple[str, ...] = ()
    explained_by: dict[str, str] = field(default_factory=dict)  # victim -> downstream service that explains it

    def to_dict(self) -> dict[str, Any]:
        def rng(r: TimeRange | None) -> dict[str, str] | None:
            return {"start": iso(r.start), "end": iso(r.end)} if r else None

        return {
            "summary": self.summary,
            "root_cause": self.root_cause,
            "fault_type": self.fault_type,
            "confidence": self.confidence,
            "confidence_reason": self.confidence_reason,
            "candidates": [c.to_dict() for c in self.candidates],
            "evidence": [e.to_dict() for e in self.evidence],
            "timeline": [{"ts": iso(t.ts), "text": t.text} for t in self.timeline],
            "impact": self.impact,
            "next_steps": list(self.next_steps),
            "understood": dict(self.understood),
            "window": rng(self.window),
            "baseline": rng(self.baseline),
            "anomaly_start": _opt_iso(self.anomaly_start),
            "sources_used": list(self.sources_used),
            "sources_missing": list(self.sources_missing),
            "source_failures": [{"source": f.source, "error": f.error} for f in self.source_failures],
            "usage": dict(self.usage),
            "explained_by": dict(self.explained_by),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Report:
        def rng(r: dict[str, str] | None) -> TimeRange | None:
            return TimeRange(parse_iso(r["start"]), parse_iso(r["end"])) if r else None

        return cls(
            summary=d["summary"],
            root_cause=d.get("root_cause"),
            fault_type=d.get("fault_type"),
            confidence=d["confidence"],
            confidence_reason=d.get("confidence_reason", ""),
            candidates=tuple(Candidate.from_dict(c) for c in d.get("candidates", [])),
            evidence=tuple(Evidence.from_dict(e) for e in d.get("evidence", [])),
            timeline=tuple(TimelineEntry(parse_iso(t["ts"]), t["text"]) for t in d.get("timeline", [])),
            impact=d.get("impact", ""),
            next_steps=tuple(d.get("next_steps", [])),
            understood=dict(d.get("understood") or {}),
            window=rng(d.get("window")),
            baseline=rng(d.get("baseline")),
            anomaly_start=_opt_parse(d.get("anomaly_start")),
            sources_used=tuple(d.get("sources_used", [])),
            sources_missing=tuple(d.get("sources_missing", [])),
            source_failures=tuple(SourceFailure(f["source"], f["error"]) for f in d.get("source_failures", [])),
            usage={str(k): int(v) for k, v in (d.get("usage") or {}).items()},
            explained_by={str(k): str(v) for k, v in (d.get("explained_by") or {}).items()},
        )

    def to_markdown(self) -> str:
        return "\n".join(_render(self)).rstrip() + "\n"


def _hm(ts: datetime) -> str:
    return ts.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def _render(r: Report) -> list[str]:
    lines = ["## Summary", "", md_escape(r.summary, 1000), ""]
    if r.root_cause:
        lines.append(f"**Root cause:** {md_code(r.root_cause)} ({md_escape(r.fault_type or 'unknown')})")
    else:
        lines.append("**Root cause:** not determined")
    lines += [f"**Confidence:** **{r.confidence}** — {md_escape(r.confidence_reason, 600)}", ""]
    if r.candidates:
        lines += [
            "### Ranked candidates",
            "",
            "| # | service | score | fault type | reasons |",
            "|---|---|---|---|---|",
        ]
        for i, c in enumerate(r.candidates[:5], 1):
            reasons = md_escape("; ".join(c.reasons), 300)
            lines.append(f"| {i} | {md_code(c.service)} | {c.score:.2f} | {md_escape(c.fault_type)} | {reasons} |")
        lines.append("")
    lines += ["## Evidence", ""]
    if not r.evidence:
        lines.append("- No evidence was found.")
    for e in r.evidence:
        svc = f"{md_code(e.service)} " if e.service else ""
        lines.append(f"- **{e.kind}** {svc}{md_escape(e.summary, 400)}")
        lines.append(f"  - source: {md_code(e.source)}; citation: {md_code(_cite(e.citation), 400)}")
    lines += ["", "## Timeline", ""]
    if not r.timeline:
        lines.append("- No timeline events.")
    lines += [f"- {_hm(t.ts)} — {md_escape(t.text, 300)}" for t in r.timeline]
    lines += ["", "## Impact", "", md_escape(r.impact or "Unknown.", 1000), "", "## Next steps", ""]
    lines += [f"{i}. {md_escape(s, 400)}" for i, s in enumerate(r.next_steps, 1)] or ["- None."]
    lines += ["", "## What I understood", ""]
    for key, value in r.understood.items():
        lines.append(f"- **{md_escape(str(key))}:** {md_code(_fmt(value))}")
    if r.window:
        lines.append(f"- **window:** {_hm(r.window.start)} → {_hm(r.window.end)}")
    if r.anomaly_start:
        lines.append(f"- **anomaly start:** {_hm(r.anomaly_start)}")
    lines += ["", "## Data sources", ""]
    lines.append("- Used: " + (", ".join(md_code(s) for s in r.sources_used) if r.sources_used else "none"))
    if r.sources_missing:
        lines.append("- **Not connected:** " + ", ".join(md_code(s) for s in r.sources_missing))
    for f in r.source_failures:
        lines.append(f"- **Failed:** {md_code(f.source)} — {md_escape(f.error, 300)}")
    if r.usage:
        lines.append("- Read: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in r.usage.items()))
    return lines


def _fmt(value: Any) -> str:
    if isinstance(value, list | tuple):
        return ", ".join(str(v) for v in value) or "none"
    return "none" if value is None else str(value)


def _cite(c: dict[str, Any]) -> str:
    parts = []
    for k, v in c.items():
        if isinstance(v, float):
            v = round(v, 3)
        parts.append(f"{k}={v}")
    return "; ".join(parts)
