"""Helpers shared by the file layouts: tolerant readers and in-memory sources implementing the engine's ports."""

from __future__ import annotations

import bisect
import csv
import gzip
import io
import json
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from tracehound.engine.types import Change, LogRecord, Series, Span, TimeRange

csv.field_size_limit(1 << 26)

_LEVEL_RE = re.compile(r"\b(TRACE|DEBUG|INFO|NOTICE|WARNING|WARN|ERROR|SEVERE|CRITICAL|FATAL|PANIC)\b", re.I)
_LEVEL_ALIASES = {"WARNING": "WARN", "SEVERE": "ERROR", "PANIC": "FATAL", "NOTICE": "INFO", "TRACE": "DEBUG"}


def open_text(path: Path) -> io.TextIOBase:
    """A text handle on ``path``, transparently gunzipping ``*.gz``."""
    if path.suffix == ".gz":
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8", errors="replace", newline="")
    return open(path, encoding="utf-8", errors="replace", newline="")


def find(directory: Path, stem: str, exts: Sequence[str]) -> Path | None:
    """``directory/stem.ext`` (or ``.ext.gz``) for the first extension that exists."""
    for ext in exts:
        for name in (f"{stem}.{ext}", f"{stem}.{ext}.gz"):
            if (directory / name).is_file():
                return directory / name
    return None


def read_rows(path: Path) -> Iterator[dict[str, str]]:
    """Rows of a CSV file as dicts (keys stripped)."""
    with open_text(path) as fh:
        reader = csv.DictReader(fh)
        if reader.fieldnames is not None:
            reader.fieldnames = [f.strip() for f in reader.fieldnames]
        yield from reader


def read_columns(path: Path, columns: Sequence[str]) -> Iterator[tuple[str, ...]]:
    """The named columns of each row of a CSV file ("" where a column or a cell is missing): the fast path for
    large files, with no dict per row."""
    with open_text(path) as fh:
        reader = csv.reader(fh)
        header = [h.strip() for h in next(reader, [])]
        at = [header.index(c) if c in header else -1 for c in columns]
        width = len(header)
        for row in reader:
            if len(row) >= width:
                yield tuple(row[i] if i >= 0 else "" for i in at)
            else:
                yield tuple(row[i] if 0 <= i < len(row) else "" for i in at)


def read_records(path: Path) -> Iterator[dict[str, Any]]:
    """Records of a CSV, JSON-lines or JSON (list, or object with one list value) file."""
    name = path.name.removesuffix(".gz")
    if name.endswith(".csv"):
        yield from read_rows(path)
        return
    with open_text(path) as fh:
        if name.endswith(".jsonl") or name.endswith(".ndjson"):
            for line in fh:
                if line.strip():
                    yield json.loads(line)
            return
        doc = json.load(fh)
    if isinstance(doc, dict):
        lists = [v for v in doc.values() if isinstance(v, list)]
        doc = lists[0] if len(lists) == 1 else [doc]
    yield from doc


def parse_epoch(value: Any) -> float:
    """Epoch seconds from a number (s, ms, µs or ns, told apart by magnitude) or an ISO-8601 text (naive = UTC)."""
    if isinstance(value, int | float):
        x = float(value)
    else:
        text = str(value).strip()
        try:
            x = float(text)
        except ValueError:
            return parse_iso(text)
    for limit, div in ((1e17, 1e9), (1e14, 1e6), (1e11, 1e3)):
        if abs(x) >= limit:
            return x / div
    return x


def parse_iso(text: str) -> float:
    """Epoch seconds of an ISO-8601-like text; tolerates 'Z'/'UTC', nanoseconds and Go's ``m=+...`` tails."""
    t = text.strip().replace("T", " ", 1)
    m = re.match(r"(\d{4}-\d{2}-\d{2} \d{2}:\d{2}(?::\d{2})?)(\.\d+)?\s*(Z|UTC|[+-]\d{2}:?\d{2})?", t)
    if not m:
        raise ValueError(f"unrecognised timestamp {text!r}")
    base = datetime.fromisoformat(m.group(1))
    frac = float(m.group(2)) if m.group(2) else 0.0
    tz = m.group(3)
    if tz and tz not in ("Z", "UTC"):
        offset = datetime.strptime(tz.replace(":", ""), "%z").tzinfo
        ts = base.replace(tzinfo=offset).astimezone(UTC)
    else:
        ts = base.replace(tzinfo=UTC)
    return ts.timestamp() + frac


def to_float(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return float("nan")


def to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    return text in ("1", "true", "yes", "error", "err", "t", "y") or (text.isdigit() and int(text) >= 400)


def log_level(message: str, given: str | None = None) -> str:
    """The level of a log line: the given one, else the first level word in the line's first 200 characters."""
    if given:
        g = given.strip().upper()
        return _LEVEL_ALIASES.get(g, g)
    lower = message[:200]
    m = re.search(r'"(?:severity|level|lvl)"\s*:\s*\\?"(\w+)', lower, re.I)
    word = m.group(1) if m else None
    if word is None:
        m2 = _LEVEL_RE.search(lower)
        word = m2.group(1) if m2 else "INFO"
    w = word.upper()
    return _LEVEL_ALIASES.get(w, w)


def utc(ts: float) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


def slice_series(series: Series, window: TimeRange, horizon: float | None) -> Series | None:
    lo = bisect.bisect_left(series.timestamps, window.start.timestamp())
    end = window.end.timestamp() if horizon is None else min(window.end.timestamp(), horizon)
    hi = bisect.bisect_left(series.timestamps, end)
    if hi <= lo:
        return None
    return Series(
        series.name,
        series.service,
        series.timestamps[lo:hi],
        series.values[lo:hi],
        series.labels,
        series.unit,
        series.query,
    )


class FileMetrics:
    """Metric series held in memory (full length), sliced per query; nothing at or after ``horizon``."""

    def __init__(self, name: str, series: Callable[[], Sequence[Series]], horizon: float | None = None) -> None:
        self.name, self._series, self.horizon = name, series, horizon

    async def services(self) -> Sequence[str]:
        return sorted({s.service for s in self._series()})

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        wanted = None if services is None else set(services)
        out = []
        for s in self._series():
            if wanted is not None and s.service not in wanted:
                continue
            cut = slice_series(s, window, self.horizon)
            if cut is not None:
                out.append(cut)
        return out


def _clip_end(window: TimeRange, horizon: float | None) -> float:
    return window.end.timestamp() if horizon is None else min(window.end.timestamp(), horizon)


class FileLogs:
    def __init__(
        self, name: str, read: Callable[[TimeRange], Iterable[LogRecord]], horizon: float | None = None
    ) -> None:
        self.name, self._read, self.horizon = name, read, horizon

    async def logs(
        self, window: TimeRange, *, services: Sequence[str] | None = None, limit: int = 100_000
    ) -> Sequence[LogRecord]:
        wanted = None if services is None else set(services)
        lo, hi = window.start.timestamp(), _clip_end(window, self.horizon)
        out: list[LogRecord] = []
        for r in self._read(window):
            t = r.ts.timestamp()
            if lo <= t < hi and (wanted is None or r.service in wanted):
                out.append(r)
        out.sort(key=lambda r: r.ts)
        return out[-limit:] if len(out) > limit else out


class FileTraces:
    def __init__(self, name: str, read: Callable[[TimeRange], Iterable[Span]], horizon: float | None = None) -> None:
        self.name, self._read, self.horizon = name, read, horizon

    async def spans(self, window: TimeRange, *, limit: int = 200_000) -> Sequence[Span]:
        lo, hi = window.start.timestamp(), _clip_end(window, self.horizon)
        out = [s for s in self._read(window) if lo <= s.start.timestamp() < hi]
        out.sort(key=lambda s: s.start)
        return out[-limit:] if len(out) > limit else out


class FileChanges:
    def __init__(self, name: str, changes: Sequence[Change], horizon: float | None = None) -> None:
        self.name, self._changes, self.horizon = name, list(changes), horizon

    async def changes(self, window: TimeRange) -> Sequence[Change]:
        lo, hi = window.start.timestamp(), _clip_end(window, self.horizon)
        return [c for c in self._changes if lo <= c.ts.timestamp() < hi]
