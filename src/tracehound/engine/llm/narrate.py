"""Wording with the model: the opening summary of a report, and the direct answer to a follow-up question.

The model gets the structured report or the deterministic answer only; its text is sanitised and checked
against them (:mod:`tracehound.engine.llm.grounding`), and the deterministic Markdown with its citations is always
kept below it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from tracehound.engine.llm.calls import ModelFailed, ModelUse, system, user
from tracehound.engine.llm.grounding import prose, ungrounded
from tracehound.engine.llm.templates import render
from tracehound.engine.narrative import FAULT_LABELS
from tracehound.engine.ports import ChatModel
from tracehound.engine.report import Report, iso, md_code, md_escape


def report_facts(r: Report) -> str:
    """The report as compact JSON: what the summary may draw on, and nothing else."""
    facts: dict[str, Any] = {
        "summary": r.summary,
        "root_cause": r.root_cause,
        "fault_type": FAULT_LABELS.get(r.fault_type or "", r.fault_type),
        "confidence": r.confidence,
        "confidence_reason": r.confidence_reason,
        "anomaly_start": iso(r.anomaly_start) if r.anomaly_start else None,
        "candidates": [
            {"service": c.service, "score": round(c.score, 2), "reasons": c.reasons} for c in r.candidates[:5]
        ],
        "evidence": [{"kind": e.kind, "service": e.service, "summary": e.summary} for e in r.evidence[:12]],
        "timeline": [f"{t.ts:%H:%M} UTC {t.text}" for t in r.timeline[:10]],
        "impact": r.impact,
        "next_steps": list(r.next_steps),
        "sources_not_connected": list(r.sources_missing),
        "sources_failed": [f.source for f in r.source_failures],
    }
    return json.dumps(facts, ensure_ascii=False, default=list)


def conclusion(r: Report) -> str:
    fault = FAULT_LABELS.get(r.fault_type or "", r.fault_type or "unknown")
    start = f"{r.anomaly_start:%Y-%m-%d %H:%M} UTC" if r.anomaly_start else "unknown"
    root = r.root_cause or "not determined"
    return f"root cause: {root} ({fault}); confidence: {r.confidence} ({r.confidence_reason}); anomaly start: {start}"


async def _checked(use: ModelUse, system_name: str, prompt: str, facts: str, max_tokens: int) -> str:
    text = prose(await use.ask([system(render(system_name)), user(prompt)], max_tokens=max_tokens))
    if not text:
        raise ModelFailed("the model's reply had no text")
    bad = ungrounded(text, facts)
    if bad:
        raise ModelFailed(f"its wording was discarded: {', '.join(bad[:5])} is not in the evidence")
    return text


async def phrase_answer(
    use: ModelUse, *, question: str, understood: str, answer: str, report: Report, verdict: str | None = None
) -> str:
    """The model's direct answer to ``question`` from the deterministic ``answer``; ``ModelFailed`` if unusable.
    With a ``verdict`` (a yes/no/unknown check) the wording must open with it."""
    head = conclusion(report)
    must = f"The answer's verdict is {verdict.capitalize()}: make that the first word.\n" if verdict else ""
    prompt = render(
        "answer_user",
        question=question[:2000],
        understood=understood,
        verdict=must,
        report=head,
        facts=answer[:12000],
    )
    text = await _checked(use, "answer_system", prompt, f"{question}\n{head}\n{answer}", 400)
    first = re.match(r"[\W_]*(\w+)", text)
    if verdict and (first is None or first.group(1).lower() != verdict.lower()):
        raise ModelFailed(f"its wording was discarded: it does not open with the verdict ({verdict})")
    return text


@dataclass(frozen=True, slots=True)
class Narration:
    """The model's opening summary of a report (``text``, None on the deterministic path) and how it went."""

    text: str | None
    meta: dict[str, Any] = field(default_factory=dict)
    usage: dict[str, int] = field(default_factory=dict)

    def compose(self, markdown: str) -> str:
        """The report's Markdown with the model's summary on top, or a note that it could not be written."""
        model = self.meta.get("model")
        if self.text is not None:
            note = (
                f"_Summary worded by the language model {md_code(str(model))} from the structured report below, "
                "which stays the reference: check its citations._"
            )
            return f"{self.text}\n\n{note}\n\n---\n\n{markdown}"
        if model is not None:
            reason = md_escape(str(self.meta.get("reason") or "unknown error"), 300)
            return (
                f"_The language model {md_code(str(model))} could not word a summary ({reason}): the report "
                f"below is tracehound's own._\n\n{markdown}"
            )
        return markdown


async def narrate_report(report: Report, chat: ChatModel | None) -> Narration:
    """Ask the model for the report's opening summary; any failure keeps the deterministic report alone."""
    if chat is None:
        return Narration(None, {"summary_by": "rules", "model": None, "reason": "no language model is configured"})
    use = ModelUse(chat)
    facts = report_facts(report)
    try:
        text = await _checked(use, "summary_system", render("summary_user", report=facts), facts, 500)
    except ModelFailed as exc:
        return Narration(None, {"summary_by": "rules", "model": use.model, "reason": str(exc)}, use.usage())
    return Narration(text, {"summary_by": "model", "model": use.model, "reason": None}, use.usage())
