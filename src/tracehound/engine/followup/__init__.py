"""Follow-up questions on a finished investigation.

    question + conversation -> Intent (rules; or the language model, validated, falling back to the rules)
        -> deterministic answer from the stored report and the sources (answers.py, pool.py, search.py)
        -> optional wording by the language model, checked against that answer, shown above it

Without a model every step is deterministic. The answer's ``meta`` and its last line say which path was taken.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tracehound.engine.followup import answers
from tracehound.engine.followup.common import Ctx, FollowUpAnswer, SourceError
from tracehound.engine.followup.intents import Intent, previous_intent, prior_questions, resolve
from tracehound.engine.followup.interpret import interpret
from tracehound.engine.followup.pool import check_pool
from tracehound.engine.followup.search import search
from tracehound.engine.llm.calls import ModelFailed, ModelUse
from tracehound.engine.llm.narrate import phrase_answer
from tracehound.engine.ports import ChatModel, Sources
from tracehound.engine.report import Report, md_code, md_escape
from tracehound.engine.types import Incident

__all__ = ["FollowUpAnswer", "Intent", "answer_follow_up", "execute"]


async def answer_follow_up(
    question: str,
    *,
    incident: Incident,
    report: Report,
    history: Sequence[tuple[str, str]],
    sources: Sources,
    now: datetime,
    chat: ChatModel | None = None,
) -> FollowUpAnswer:
    """Answer one follow-up about ``report``; ``history`` holds the conversation's (role, markdown) turns."""
    known = sorted({c.service for c in report.candidates} | set(report.understood.get("services") or []))
    known = sorted(set(known) | set(await _services(sources)))
    ref = report.window.end if report.window else now
    intent = resolve(question, history=history, known=known, ref=ref)
    path: dict[str, Any] = {"interpreted_by": "rules", "phrased_by": "rules", "model": None, "fallbacks": []}
    use = ModelUse(chat) if chat is not None else None
    if use is not None:
        path["model"] = use.model
        intent = await _model_intent(use, question, history, intent, known, report, ref, path)
    answer = await execute(intent, Ctx(report, sources, now, known))
    markdown = answer.markdown
    if use is not None and intent.name != "help":
        markdown = await _worded(use, question, intent, answer, report, path)
    usage = {**answer.usage, **(use.usage() if use else {})}
    meta = {"intent": intent.to_dict(), **path, **{k: v for k, v in answer.meta.items() if k == "verdict"}}
    return FollowUpAnswer(f"{markdown}\n\n{footer(intent, path)}", usage, meta)


async def _worded(
    use: ModelUse, question: str, intent: Intent, answer: FollowUpAnswer, report: Report, path: dict[str, Any]
) -> str:
    """The model's wording above the deterministic answer, or the deterministic answer alone."""
    try:
        text = await phrase_answer(
            use,
            question=question,
            understood=intent.describe(),
            answer=answer.markdown,
            report=report,
            verdict=answer.meta.get("verdict"),
        )
    except ModelFailed as exc:
        path["fallbacks"].append(f"wording the answer: {exc}")
        return answer.markdown
    path["phrased_by"] = "model"
    return f"{text}\n\n---\n\n{answer.markdown}"


async def _model_intent(
    use: ModelUse,
    question: str,
    history: Sequence[tuple[str, str]],
    rules: Intent,
    known: Sequence[str],
    report: Report,
    ref: datetime,
    path: dict[str, Any],
) -> Intent:
    earlier = prior_questions(history, question)
    previous = previous_intent(question, history=history, known=known, ref=ref)
    try:
        intent = await interpret(use, question, earlier=earlier, previous=previous, known=known, report=report, ref=ref)
    except ModelFailed as exc:
        path["fallbacks"].append(f"reading the question: {exc}")
        return rules
    path["interpreted_by"] = "model"
    return intent


async def execute(intent: Intent, ctx: Ctx) -> FollowUpAnswer:
    """The deterministic answer to ``intent``."""
    try:
        match intent.name:
            case "why_not":
                return await answers.why_not(intent, ctx)
            case "logs":
                return await answers.logs(intent, ctx)
            case "changes":
                return await answers.changes(intent, ctx)
            case "zoom":
                return await answers.zoom(intent, ctx)
            case "impact":
                return await answers.impact(ctx)
            case "pool":
                return await check_pool(intent, ctx)
            case "search":
                return await search(intent, ctx)
            case "summary":
                return answers.summary(ctx)
            case _:
                return answers.unknown(ctx)
    except SourceError as exc:
        return ctx.answer(f"I could not answer that: {md_escape(str(exc), 400)}.")


def footer(intent: Intent, path: dict[str, Any]) -> str:
    """The answer's last line: what was understood, and which path answered."""
    model = path.get("model")
    text = f"_Understood as {intent.describe()}"
    text += f" (read by the language model {md_code(str(model))})" if path["interpreted_by"] == "model" else ""
    if model is None:
        return text + ". Answered by tracehound's rules: no language model is configured._"
    if path["phrased_by"] == "model":
        text += ". The first paragraph is the model's wording of the evidence below the line"
    fallbacks = "; ".join(path["fallbacks"])
    if fallbacks:
        text += f". tracehound's rules took over from the model for {md_escape(fallbacks, 400)}"
    return text + "._"


async def _services(sources: Sources) -> Sequence[str]:
    if sources.metrics is None:
        return []
    try:
        return await sources.metrics.services()
    except Exception:  # an unavailable source only limits name matching
        return []
