"""Checks on the model's wording before it is shown: no figure or name the evidence does not have, no markup.

A language model asked to word evidence can still invent a number or a service. Every number, time, date and
back-quoted name in its text must occur in the facts it was given (a number may be rounded, or a ratio written as
a percentage); small counts up to 10 ("two services") are allowed. Anything else rejects the wording, and the
deterministic answer is shown alone.
"""

from __future__ import annotations

import re

_DATE = r"\d{4}-\d{2}-\d{2}"
_TIME = r"\d{1,2}:\d{2}(?::\d{2})?"
_TOKEN = re.compile(rf"{_DATE}|{_TIME}|\d+(?:,\d{{3}})*(?:\.\d+)?")
_CODE = re.compile(r"`([^`\n]{1,200})`")


def _value(token: str) -> float | None:
    if "-" in token or ":" in token:
        return None
    return float(token.replace(",", ""))


def _decimals(token: str) -> int:
    return len(token.split(".")[1]) if "." in token else 0


def _fact_tokens(facts: str) -> tuple[set[str], list[float]]:
    tokens: set[str] = set()
    values: list[float] = []
    for tok in _TOKEN.findall(facts):
        tokens.add(tok)
        if ":" in tok:
            tokens.add(tok[: tok.index(":") + 3].zfill(5))  # 14:50:00 -> 14:50
        v = _value(tok)
        if v is not None:
            values.append(v)
    return tokens, values


def _near(v: float, decimals: int, values: list[float]) -> bool:
    for f in values:
        for candidate in (f, f * 100.0, f / 1000.0, f * 1000.0):  # as written, as a percentage, ms <-> s
            if round(candidate, decimals) == v or abs(candidate - v) <= 0.5 * 10.0**-decimals:
                return True
    return False


def ungrounded(text: str, facts: str) -> list[str]:
    """The numbers, times, dates and back-quoted names of ``text`` that ``facts`` does not contain."""
    tokens, values = _fact_tokens(facts)
    bad = []
    for tok in _TOKEN.findall(text):
        if tok in tokens or tok.zfill(5) in tokens:
            continue
        v = _value(tok)
        if v is not None and ((v <= 10 and v == int(v)) or _near(v, _decimals(tok), values)):
            continue
        bad.append(tok)
    lower = facts.lower()
    bad += [f"`{name}`" for name in _CODE.findall(text) if name.strip().lower() not in lower]
    return bad


def prose(text: str, limit: int = 1500) -> str:
    """The model's text as plain Markdown paragraphs: no HTML, links, images, tables, headings or code blocks."""
    text = re.sub(r"```.*?(```|$)", " ", text, flags=re.S)
    paragraphs = [" ".join(p.split()) for p in re.split(r"\n\s*\n", text.strip())]
    out = []
    for p in paragraphs[:4]:
        if not p:
            continue
        p = re.sub(r"[<>\[\]|\\]", lambda m: "\\" + m.group(0), p)
        p = re.sub(r"^([#>+=-]|\*(?=\s))", r"\\\1", p)  # no heading, quote or list
        p = re.sub(r"^(\d+)\.", r"\1\\.", p)
        out.append(p)
    joined = "\n\n".join(out)
    return joined if len(joined) <= limit else joined[: limit - 1].rstrip() + "…"
