"""Understand a free-text incident: when it started, which services it names, and what the symptom is."""

from __future__ import annotations

import difflib
import itertools
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import dateparser

from tracehound.engine.types import Incident

Symptom = Literal["errors", "latency", "saturation", "crash", "traffic", "unknown"]
TimeSource = Literal["field", "text", "none"]


@dataclass(frozen=True, slots=True)
class Understanding:
    time: datetime | None
    time_source: TimeSource
    services: tuple[str, ...]
    symptom: Symptom
    time_phrase: str | None = None


_TZ = r"(?:UTC|GMT|Z|[ECMP][SD]T|CET|CEST|BST|JST|[+-]\d{2}:?\d{2})"
_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_CLOCK = r"\d{1,2}(?::\d{2}){1,2}(?:\s*[ap]\.?m\.?)?|\d{1,2}\s*[ap]\.?m\.?"
_ISO_RE = re.compile(r"\b\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:?\d{2})?", re.I)
_DATE_RE = re.compile(
    rf"\b{_MONTH}\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?(?:,?\s+(?:at\s+)?(?:{_CLOCK}))?(?:\s*{_TZ}\b)?"
    rf"|\b\d{{1,2}}\s+{_MONTH}(?:\s+\d{{4}})?(?:,?\s+(?:at\s+)?(?:{_CLOCK}))?(?:\s*{_TZ}\b)?",
    re.I,
)
_AGO_RE = re.compile(
    r"\b(?:\d+|an?|one|two|three|five|ten|fifteen|twenty|thirty)\s*"
    r"(?:seconds?|secs?|minutes?|mins?|m|hours?|hrs?|h|days?|d)\s+ago\b",
    re.I,
)
_CLOCK_RE = re.compile(rf"(?<![\d:.-])(?:{_CLOCK})(?![\d])(?:\s*{_TZ}\b)?", re.I)
_DAY_RE = re.compile(r"\b(yesterday|today|last night|this morning)\b", re.I)

_SYMPTOMS: tuple[tuple[Symptom, tuple[str, ...]], ...] = (
    ("crash", (r"crash", r"restart", r"oom", r"killed", r"\bdown\b", r"outage", r"unavailable", r"panic")),
    ("errors", (r"error", r"\b5\d\d\b", r"\b5\d\ds\b", r"5xx", r"exception", r"fail", r"broken", r"refused")),
    ("latency", (r"slow", r"latenc", r"timeout", r"timing out", r"\bp9\d", r"delay", r"lag", r"hang")),
    (
        "saturation",
        (r"\bcpu\b", r"memory", r"saturat", r"exhaust", r"\bpool\b", r"\bdisk\b", r"throttl", r"leak"),
    ),
    (
        "traffic",
        (r"traffic", r"\bqps\b", r"\brps\b", r"spike in requests", r"requests? (?:dropped|drop)", r"load"),
    ),
)
_SUFFIXES = ("-service", "_service", "service", "-svc", "_svc", "svc", "-server", "-api")


def parse_incident(incident: Incident, known_services: Sequence[str]) -> Understanding:
    """Extract time, services and symptom from an incident. Times are relative to ``incident.created_at``."""
    text = " ".join(filter(None, [incident.title, incident.text]))
    created = _utc(incident.created_at)
    services = match_services(text, known_services)
    symptom = detect_symptom(text)
    if incident.time is not None:
        return Understanding(_utc(incident.time), "field", services, symptom)
    found = parse_time(text, created)
    if found is None:
        return Understanding(None, "none", services, symptom)
    return Understanding(found[0], "text", services, symptom, found[1])


def _utc(ts: datetime) -> datetime:
    return ts.replace(tzinfo=UTC) if ts.tzinfo is None else ts.astimezone(UTC)


def _dp(phrase: str, base: datetime) -> datetime | None:
    settings = {
        "RELATIVE_BASE": base.replace(tzinfo=None),
        "PREFER_DATES_FROM": "past",
        "RETURN_AS_TIMEZONE_AWARE": True,
        "TIMEZONE": "UTC",
        "TO_TIMEZONE": "UTC",
    }
    result = dateparser.parse(phrase, settings=settings, languages=["en"])
    return _utc(result) if isinstance(result, datetime) else None


def parse_time(text: str, now: datetime) -> tuple[datetime, str] | None:
    """The first time expression in ``text`` (absolute or relative to ``now``) and the phrase it came from."""
    now = _utc(now)
    m = _ISO_RE.search(text)
    if m:
        try:
            return _utc(datetime.fromisoformat(m.group(0).replace("Z", "+00:00").replace("z", "+00:00"))), m.group(0)
        except ValueError:
            pass
    for regex in (_DATE_RE, _AGO_RE):
        m = regex.search(text)
        if m:
            ts = _dp(m.group(0), now)
            if ts is not None:
                return ts, m.group(0)
    return _clock_time(text, now)


def _clock_time(text: str, now: datetime) -> tuple[datetime, str] | None:
    """A bare time of day: the latest such time not after ``now`` (or on the day 'yesterday' names)."""
    for m in _CLOCK_RE.finditer(text):
        phrase = m.group(0)
        day = _DAY_RE.search(text)
        ts = _dp(f"{day.group(1)} {phrase}" if day else phrase, now)
        if ts is None:
            continue
        if day is None or day.group(1).lower() == "today":
            while ts > now:
                ts -= timedelta(days=1)
            while ts + timedelta(days=1) <= now:
                ts += timedelta(days=1)
        return ts, phrase
    return None


def detect_symptom(text: str) -> Symptom:
    lower = text.lower()
    best: Symptom = "unknown"
    best_hits = 0
    for name, patterns in _SYMPTOMS:
        hits = sum(1 for p in patterns if re.search(p, lower))
        if hits > best_hits:
            best, best_hits = name, hits
    return best


def normalize_service(name: str) -> str:
    n = name.lower().strip()
    for suffix in _SUFFIXES:
        if n.endswith(suffix) and len(n) > len(suffix) + 1:
            n = n[: -len(suffix)]
            break
    return re.sub(r"[^a-z0-9]", "", n)


def match_services(text: str, known_services: Sequence[str]) -> tuple[str, ...]:
    """Known services named in the text, tolerant of case, small misspellings and service/svc suffixes."""
    words = re.findall(r"[a-z0-9][a-z0-9_.-]*", text.lower())
    grams = set(words)
    grams |= {a + b for a, b in itertools.pairwise(words)}
    grams |= {f"{a}-{b}" for a, b in itertools.pairwise(words)}
    norm_grams = {normalize_service(g) for g in grams} - {""}
    found: list[tuple[int, str]] = []
    for service in known_services:
        key = normalize_service(service)
        if not key:
            continue
        hit = service.lower() in grams or key in norm_grams
        if not hit and len(key) >= 5:
            hit = bool(difflib.get_close_matches(key, norm_grams, n=1, cutoff=0.85))
        if hit:
            pos = text.lower().find(key[:4])
            found.append((pos if pos >= 0 else len(text), service))
    return tuple(s for _, s in sorted(found))
