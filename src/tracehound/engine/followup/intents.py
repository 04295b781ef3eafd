"""What a follow-up question asks: one of a fixed set of intents with its arguments, read by rules.

The conversation is the context: a question that names no service ("and the logs?") takes the service of the
previous question, and one that names only a service ("what about cart?") repeats the previous intent for it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any, Literal

from tracehound.engine.parse import match_services, parse_time
from tracehound.engine.report import iso, md_code

IntentName = Literal["why_not", "logs", "changes", "zoom", "impact", "pool", "search", "summary", "help"]

# name -> what it answers (shown to the language model and used in the help text)
INTENTS: dict[IntentName, str] = {
    "why_not": "why one service is, or is not, the root cause (needs service)",
    "logs": "the error and warning log templates of one service, optionally between start and end",
    "changes": "deployments and config changes before a time (end), or between start and end, optionally of one "
    "service",
    "zoom": "rank the services by how anomalous their metrics are between start and end (both needed)",
    "impact": "what degraded for users, since when and by how much",
    "pool": "check whether a database connection pool was exhausted, optionally of one service",
    "search": "search the metrics and logs for some words (terms)",
    "summary": "the root cause, the fault type, the confidence and the next steps",
    "help": "what follow-up questions tracehound can answer (when nothing else fits)",
}
INTENT_NAMES: tuple[IntentName, ...] = tuple(INTENTS)
_REPEAT: frozenset[IntentName] = frozenset({"why_not", "logs", "pool"})  # "and cart?" asks these again for cart
_INHERIT: frozenset[IntentName] = frozenset({"why_not", "logs"})  # "and the logs?" takes the previous service

_RANGE = re.compile(r"(\d{1,2}:\d{2})\s*(?:-|–|to|and|until|till)\s*(\d{1,2}:\d{2})")
_RULE_TEXT: tuple[tuple[IntentName, str], ...] = (
    ("help", r"^\W*(help|what can (you|i) (do|ask)|commands|options)\W*$"),
    (
        "pool",
        r"\bpool\b|\btoo many (connections|clients)\b|\b(exhaust\w*|r[au]n(ning)? out|starv\w*)\b.*\bconnections?\b"
        r"|\bconnections?\b.*\b(exhaust\w*|saturat\w*|run(ning)? out|ran out|starv\w*|leak\w*|maxed)",
    ),
    ("why_not", r"\bwhy (not|isn'?t|wasn'?t|is it not)\b|\brul(e|ed|ing) out\b|\bexonerat|\bnot (the )?culprit"),
    ("zoom", r"\bzoom\b|\bnarrow (it )?down\b"),
    (
        "summary",
        r"\broot cause\b|\bsummar\w*|\bconclu\w*|\bconfiden\w*|\bculprit\b|\bwhat happened\b"
        r"|\bnext steps?\b|\bwhat (should|do|can) (i|we) do\b",
    ),
    ("changes", r"\bchang(e|ed|es)\b|\bdeploy\w*|\breleas\w*|\brollouts?\b|\brolled (out|back)\b|\bflags?\b"),
    ("impact", r"\bimpact\w*|\baffect\w*|\bblast radius\b|\bhow bad\b|\bseverity\b|\bhow many (users|customers)"),
    ("logs", r"\blogs?\b|\blog lines?\b|\berrors?\b|\bexceptions?\b|\bstack ?traces?\b|\bwarnings?\b"),
    ("summary", r"\bwhy\b"),
    ("search", r"\b(check|whether|is there|was there|were there|did|any|look for|search|find)\b"),
)
_RULES: tuple[tuple[IntentName, re.Pattern[str]], ...] = tuple((n, re.compile(p)) for n, p in _RULE_TEXT)
# Generic words for kinds of services, mapped to name patterns (not to any one system's service names)
_ALIASES: tuple[tuple[str, str], ...] = (
    (r"\b(database|db|sql)\b", r"postgres|mysql|maria|mongo|sql|database|\bdb|db\b|dynamo|cassandra|oracle"),
    (r"\bcache\b", r"redis|memcache|cache"),
    (r"\b(queue|broker|message bus)\b", r"kafka|rabbit|nats|sqs|pulsar|queue|broker"),
)
_WHY_NOT_NAME = re.compile(r"why (?:not|isn'?t|wasn'?t|is it not)\s+(?:the\s+|it\s+)?([a-z0-9][\w.-]*)")
_NOT_NAMES = {"it", "this", "that", "they", "there", "so", "sure", "both", "one", "root", "other", "another"}


@dataclass(frozen=True, slots=True)
class Intent:
    """One deterministic question: ``start``/``end`` bound zoom, logs and changes (``end`` alone = "before")."""

    name: IntentName
    service: str | None = None
    start: datetime | None = None
    end: datetime | None = None
    terms: tuple[str, ...] = ()
    unknown_name: str | None = None  # a service the user named that no source knows
    carried: bool = False  # the service came from an earlier question

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "service": self.service,
            "start": iso(self.start) if self.start else None,
            "end": iso(self.end) if self.end else None,
            "terms": list(self.terms),
            "unknown_name": self.unknown_name,
            "carried": self.carried,
        }

    def describe(self) -> str:
        """A short Markdown phrase: what was understood."""
        svc = f" of {md_code(self.service)}" if self.service else ""
        when = ""
        if self.start and self.end:
            when = f" between {self.start:%H:%M} and {self.end:%H:%M} UTC"
        elif self.end:
            when = f" before {self.end:%H:%M} UTC"
        text = {
            "why_not": f"why (not) {md_code(self.service or self.unknown_name or '?')}",
            "logs": f"the error logs{svc}{when}",
            "changes": f"the changes{svc}{when}",
            "zoom": f"a zoom{when}",
            "impact": "the impact",
            "pool": f"a connection-pool check{svc}",
            "search": "a search for " + (", ".join(md_code(t) for t in self.terms) or "nothing"),
            "summary": "the root cause and confidence",
            "help": "not one of the questions I can answer",
        }[self.name]
        return text + (" (service from the previous question)" if self.carried else "")


def prior_questions(history: Sequence[tuple[str, str]], question: str) -> list[str]:
    """The follow-up questions asked before ``question``: user turns after the first answer, oldest first."""
    turns = list(history)
    if turns and turns[-1][0] == "user" and turns[-1][1].strip() == question.strip():
        turns = turns[:-1]
    first_answer = next((i for i, (role, _) in enumerate(turns) if role == "assistant"), len(turns))
    return [text for role, text in turns[first_answer:] if role == "user"]


def previous_intent(
    question: str, *, history: Sequence[tuple[str, str]], known: Sequence[str], ref: datetime
) -> Intent | None:
    """What the question before ``question`` asked, read in its own context (up to eight questions back)."""
    previous: Intent | None = None
    for earlier in prior_questions(history, question)[-8:]:
        previous = parse_question(earlier, known=known, ref=ref, previous=previous)
    return previous


def resolve(question: str, *, history: Sequence[tuple[str, str]], known: Sequence[str], ref: datetime) -> Intent:
    """The intent of ``question`` in its conversation."""
    previous = previous_intent(question, history=history, known=known, ref=ref)
    return parse_question(question, known=known, ref=ref, previous=previous)


def parse_question(question: str, *, known: Sequence[str], ref: datetime, previous: Intent | None = None) -> Intent:
    q = question.lower()
    name = next((n for n, rx in _RULES if rx.search(q)), None)
    # in a pool question "the database" is the pool's kind, not a service
    services = match_services(question, known) if name == "pool" else find_services(question, known)
    service = services[0] if services else None
    rng = _RANGE.search(question)
    if rng and name not in ("logs", "changes"):
        name = "zoom"
    if name is None:
        if service is None:
            return Intent("help")
        name = previous.name if previous is not None and previous.name in _REPEAT else "why_not"
    if name == "summary" and service is not None:
        name = "why_not"
    intent = Intent(name, service)
    if rng:
        intent = _with_range(intent, rng, ref)
    elif name == "changes":
        found = parse_time(question, ref)
        intent = replace(intent, end=found[0] if found else None)
    if name == "search":
        intent = replace(intent, terms=search_terms(question))
    return _carry(intent, q, known, previous)


def _with_range(intent: Intent, m: re.Match[str], ref: datetime) -> Intent:
    a, b = parse_time(m.group(1), ref), parse_time(m.group(2), ref)
    if a is None or b is None or b[0] <= a[0]:
        return intent
    return replace(intent, start=a[0], end=b[0])


def _carry(intent: Intent, q: str, known: Sequence[str], previous: Intent | None) -> Intent:
    if intent.service is not None or intent.name not in _INHERIT:
        return intent
    if intent.name == "why_not":
        m = _WHY_NOT_NAME.search(q)
        if m and m.group(1) not in _NOT_NAMES:
            return replace(intent, unknown_name=m.group(1))
    if previous is not None and previous.service is not None:
        return replace(intent, service=previous.service, carried=True)
    if intent.name == "why_not":
        return Intent("summary")
    return intent


def find_services(text: str, known: Sequence[str]) -> tuple[str, ...]:
    """Known services named in ``text``, or named by a generic word ("the database" -> a database service)."""
    found = match_services(text, known)
    if found:
        return found
    lower = text.lower()
    for word, pattern in _ALIASES:
        if re.search(word, lower):
            hits = [s for s in known if re.search(pattern, s.lower())]
            if hits:
                return (hits[0],)
    return ()


_STOP = frozenset(
    {
        *("check", "whether", "the", "was", "were", "is", "are", "a", "an", "of", "on", "in", "for", "did", "does"),
        *("any", "there", "if", "show", "me", "what", "why", "not", "get", "be", "been", "to", "it", "and", "or"),
        *("look", "search", "find", "please", "can", "you", "tell"),
    }
)


def search_terms(question: str) -> tuple[str, ...]:
    return tuple(dict.fromkeys(w for w in re.findall(r"[a-z]{3,}", question.lower()) if w not in _STOP))[:8]


def intent_from_dict(payload: object, *, known: Sequence[str], ref: datetime) -> Intent:
    """An intent from outside (a language model's JSON), validated; ``ValueError`` says what is wrong."""
    if not isinstance(payload, dict):
        raise ValueError("not a JSON object")
    name = payload.get("intent")
    if name not in INTENT_NAMES:
        raise ValueError(f"unknown intent {str(name)[:40]!r}")
    service = _known_service(payload.get("service"), known)
    start, end = _clock(payload.get("start"), ref, "start"), _clock(payload.get("end"), ref, "end")
    if start is not None and (end is None or end <= start):
        raise ValueError("start needs an end after it")
    if name == "zoom" and start is None:
        raise ValueError("zoom needs start and end")
    if name == "why_not" and service is None:
        raise ValueError("why_not needs a known service")
    terms = payload.get("terms") or []
    if not isinstance(terms, list) or not all(isinstance(t, str) for t in terms):
        raise ValueError("terms must be a list of strings")
    words = tuple(dict.fromkeys(t.strip().lower()[:40] for t in terms if t.strip()))[:8]
    if name == "search" and not words:
        raise ValueError("search needs terms")
    return Intent(name, service, start, end, words if name == "search" else ())


def _known_service(value: object, known: Sequence[str]) -> str | None:
    if value is None or value == "" or value == "null":
        return None
    if not isinstance(value, str):
        raise ValueError("service must be a string or null")
    by_lower = {s.lower(): s for s in known}
    if value.strip().lower() in by_lower:
        return by_lower[value.strip().lower()]
    raise ValueError(f"unknown service {value[:60]!r}")


def _clock(value: object, ref: datetime, field: str) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str) or not re.fullmatch(r"\s*(\d{1,2}:\d{2}|\d{4}-\d{2}-\d{2}T[\d:.]+Z?)\s*", value):
        raise ValueError(f"{field} must be HH:MM")
    found = parse_time(value, ref)
    if found is None:
        raise ValueError(f"{field} is not a time")
    return found[0]
