"""Reading a free-form follow-up question into one of the deterministic intents with the model's help."""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from datetime import datetime

from tracehound.engine.followup.intents import INTENTS, Intent, intent_from_dict
from tracehound.engine.llm.calls import ModelFailed, ModelUse, system, user
from tracehound.engine.llm.templates import render
from tracehound.engine.report import Report


def parse_json_object(text: str) -> object:
    """The JSON object in a reply (tolerating a Markdown code fence around it); ``ValueError`` when there is none."""
    body = re.sub(r"^\s*```(?:json)?\s*|\s*```\s*$", "", text.strip())
    first, last = body.find("{"), body.rfind("}")
    if first < 0 or last < first:
        raise ValueError("the reply holds no JSON object")
    try:
        return json.loads(body[first : last + 1])
    except ValueError as exc:
        raise ValueError(f"the reply is not valid JSON ({exc.args[0][:80]})") from None


def _hm(ts: datetime | None) -> str:
    return f"{ts:%Y-%m-%d %H:%M}" if ts else "unknown"


async def interpret(
    use: ModelUse,
    question: str,
    *,
    earlier: Sequence[str],
    previous: Intent | None,
    known: Sequence[str],
    report: Report,
    ref: datetime,
) -> Intent:
    """The model's reading of ``question``, validated; ``ModelFailed`` on any problem."""
    window = f"{_hm(report.window.start)} to {_hm(report.window.end)}" if report.window else "unknown"
    prompt = render(
        "interpret_user",
        services=", ".join(known[:200]) or "none known",
        window=window,
        anomaly_start=_hm(report.anomaly_start),
        root_cause=report.root_cause or "not determined",
        earlier="\n".join(f"- {q[:300]}" for q in earlier[-6:]) or "- none",
        previous=previous.describe().replace("`", "") if previous else "none",
        question=question[:2000],
    )
    intents = "\n".join(f"- {name}: {text}" for name, text in INTENTS.items())
    reply = await use.ask(
        [system(render("interpret_system", intents=intents)), user(prompt)], json_output=True, max_tokens=200
    )
    try:
        return intent_from_dict(parse_json_object(reply), known=known, ref=ref)
    except ValueError as exc:
        raise ModelFailed(f"its reading was refused: {exc}") from None
