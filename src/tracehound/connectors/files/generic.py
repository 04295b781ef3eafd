"""The generic file layout: convert any labelled dataset into these files and the engine can read it.

One case (or one stretch of telemetry) is a folder holding any of::

    metrics.csv[.gz]   long form: timestamp, service, metric, value[, caller, reporter]
                       (a row with caller and reporter = source|destination is the latency of calls from
                       caller to service as that end of the call measured it: see engine/rca/edges.py)
                       or wide form: timestamp, <service><sep><metric>, ...   (sep: "_" unless configured;
                       the longest known service name that prefixes the column wins, else the first sep splits)
    metrics_*.csv[.gz] more metric files (e.g. metrics_normal.csv + metrics_anomalous.csv): merged by series
    logs.csv[.gz] | logs.jsonl[.gz]           timestamp, service, message[, level][, trace_id]
    spans.csv[.gz] | spans.jsonl | spans.json trace_id, span_id, parent_id, service, operation, start,
                                              duration_ms | duration_us | end[, error]
    changes.json       [{"ts": ..., "service": ..., "kind": "deploy|config|flag|scale|other", "description": ...}]
    call_graph.csv | call_graph.json          caller, callee (also accepted: source, target)
    reference.json     [{"start": ..., "end": ...}]: stretches of the data known to be healthy (fault-free)

Timestamps are epoch numbers (s, ms, µs or ns: told apart by magnitude) or ISO-8601 (naive = UTC); any
sampling step works. A labelled dataset adds ``cases.csv`` (or ``cases.json``) at the top with ``case_id``,
``inject_time``, ``root_cause_service``, ``fault_type`` and optionally ``system`` and ``path`` (the case's
folder, default ``<case_id>``); a file missing in a case folder is taken from the top folder (e.g. one call
graph for all cases).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from tracehound.connectors.files.common import (
    FileChanges,
    FileLogs,
    FileMetrics,
    FileTraces,
    find,
    log_level,
    open_text,
    parse_epoch,
    read_records,
    read_rows,
    to_bool,
    to_float,
    utc,
)
from tracehound.engine.ports import Sources
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, Change, LogRecord, Series, Span, TimeRange

_TIME_KEYS = ("timestamp", "time", "ts", "datetime", "date")


@dataclass(frozen=True, slots=True)
class GenericCase:
    case_id: str
    system: str
    folder: Path
    inject_time: datetime
    service: str
    fault_type: str


def _get(rec: dict[str, Any], *keys: str) -> Any:
    for k in keys:
        if k in rec and rec[k] not in (None, ""):
            return rec[k]
    lower = {str(k).lower(): v for k, v in rec.items()}
    for k in keys:
        if lower.get(k) not in (None, ""):
            return lower[k]
    return None


def _time_key(fields: Sequence[str]) -> str:
    for k in fields:
        if k.lower() in _TIME_KEYS:
            return k
    raise ValueError(f"no timestamp column (one of {', '.join(_TIME_KEYS)}) among {list(fields)[:8]}")


def _file(folder: Path, root: Path, stem: str, exts: Sequence[str]) -> Path | None:
    return find(folder, stem, exts) or (find(root, stem, exts) if root != folder else None)


def _split(column: str, sep: str, services: Sequence[str]) -> tuple[str, str]:
    for svc in sorted(services, key=len, reverse=True):
        if column.startswith(svc + sep):
            return svc, column[len(svc) + len(sep) :]
    if sep in column:
        svc, metric = column.split(sep, 1)
        return svc, metric
    return column, "value"


Key = tuple[str, str, tuple[tuple[str, str], ...]]  # service, metric, labels


def _build(data: dict[Key, list[tuple[float, float]]], source: str) -> tuple[Series, ...]:
    out = []
    for (svc, metric, labels), points in sorted(data.items()):
        points.sort()
        tag = ",".join(f"{k}={v}" for k, v in labels)
        out.append(
            Series(
                metric,
                svc,
                tuple(p[0] for p in points),
                tuple(p[1] for p in points),
                labels,
                query=f"file:{source}#{svc}/{metric}" + (f"[{tag}]" if tag else ""),
            )
        )
    return tuple(out)


def _edge_labels(row: dict[str, str], caller_key: str | None, reporter_key: str | None) -> tuple[tuple[str, str], ...]:
    caller = (row.get(caller_key) or "").strip() if caller_key else ""
    reporter = (row.get(reporter_key) or "").strip().lower() if reporter_key else ""
    if caller and reporter in ("source", "destination"):
        return ((CALLER_LABEL, caller), (REPORTER_LABEL, reporter))
    return ()


@lru_cache(maxsize=4)
def load_metrics(path: str, sep: str = "_", services: tuple[str, ...] = ()) -> tuple[Series, ...]:
    """Series from a long or wide metrics CSV."""
    p = Path(path)
    rows = read_rows(p)
    first = next(rows, None)
    if first is None:
        return ()
    fields = list(first)
    tkey = _time_key(fields)
    lower = {f.lower(): f for f in fields}
    data: dict[Key, list[tuple[float, float]]] = defaultdict(list)

    def all_rows() -> Iterator[dict[str, str]]:
        yield first
        yield from rows

    if {"service", "metric", "value"} <= set(lower):
        s_key, m_key, v_key = lower["service"], lower["metric"], lower["value"]
        c_key, r_key = lower.get(CALLER_LABEL), lower.get(REPORTER_LABEL)
        for r in all_rows():
            key = (r[s_key], r[m_key], _edge_labels(r, c_key, r_key))
            data[key].append((parse_epoch(r[tkey]), to_float(r[v_key])))
    else:
        split = {c: _split(c, sep, services) for c in fields if c != tkey and c.lower() not in _TIME_KEYS}
        for r in all_rows():
            t = parse_epoch(r[tkey])
            for c, (svc, metric) in split.items():
                data[(svc, metric, ())].append((t, to_float(r.get(c))))
    return _build(data, p.name)


def load_logs(path: Path) -> list[LogRecord]:
    out = []
    for r in read_records(path):
        msg = str(_get(r, "message", "msg", "log", "body") or "")
        lvl = _get(r, "level", "severity", "lvl")
        tid = _get(r, "trace_id", "traceid", "trace")
        out.append(
            LogRecord(
                utc(parse_epoch(_get(r, *_TIME_KEYS))),
                str(_get(r, "service", "service_name", "app", "container") or "unknown"),
                log_level(msg, str(lvl) if lvl else None),
                msg,
                str(tid) if tid else None,
            )
        )
    out.sort(key=lambda x: x.ts)
    return out


def load_spans(path: Path) -> list[Span]:
    out = []
    for r in read_records(path):
        start = parse_epoch(_get(r, "start", "start_time", "starttime", "timestamp", "ts"))
        if (d := _get(r, "duration_ms")) is not None:
            dur = to_float(d)
        elif (d := _get(r, "duration_us", "duration")) is not None:
            dur = to_float(d) / 1000.0
        elif (e := _get(r, "end", "end_time", "endtime")) is not None:
            dur = (parse_epoch(e) - start) * 1000.0
        else:
            dur = 0.0
        parent = _get(r, "parent_id", "parentid", "parent_span_id", "parent")
        out.append(
            Span(
                str(_get(r, "trace_id", "traceid") or ""),
                str(_get(r, "span_id", "spanid") or ""),
                None if parent in (None, "", "root", "0", 0) else str(parent),
                str(_get(r, "service", "service_name") or "unknown"),
                str(_get(r, "operation", "operation_name", "name") or ""),
                utc(start),
                dur,
                to_bool(_get(r, "error", "is_error", "status_code") or False),
            )
        )
    out.sort(key=lambda s: s.start)
    return out


def load_changes(path: Path) -> list[Change]:
    out = []
    for r in read_records(path):
        author = _get(r, "author", "user")
        out.append(
            Change(
                utc(parse_epoch(_get(r, "ts", *_TIME_KEYS))),
                str(_get(r, "service") or "unknown"),
                str(_get(r, "kind", "type") or "other"),
                str(_get(r, "description", "message", "summary") or ""),
                str(author) if author else None,
            )
        )
    return sorted(out, key=lambda c: c.ts)


def load_call_graph(path: Path) -> tuple[tuple[str, str], ...]:
    edges = set()
    for r in read_records(path):
        a, b = _get(r, "caller", "source", "parent"), _get(r, "callee", "target", "child")
        if a and b and a != b:
            edges.add((str(a), str(b)))
    return tuple(sorted(edges))


def load_reference(path: Path) -> tuple[TimeRange, ...]:
    """Healthy stretches declared by the dataset (``start``/``end`` or ``from``/``to``), sorted; an empty or
    inverted stretch is an error a converter should see, not something to skip silently."""
    out = []
    for r in read_records(path):
        start = utc(parse_epoch(_get(r, "start", "from")))
        end = utc(parse_epoch(_get(r, "end", "to")))
        if end <= start:
            raise ValueError(
                f"{path.name}: a reference stretch must end after it starts "
                f"(start {start:%Y-%m-%dT%H:%M:%SZ}, end {end:%Y-%m-%dT%H:%M:%SZ})"
            )
        out.append(TimeRange(start, end))
    return tuple(sorted(out, key=lambda t: t.start))


def cases(root: Path) -> list[GenericCase]:
    index = find(root, "cases", ("csv", "json", "jsonl"))
    if index is None:
        return []
    out = []
    for r in read_records(index):
        cid = str(_get(r, "case_id", "id"))
        folder = root / str(_get(r, "path", "folder") or cid)
        out.append(
            GenericCase(
                cid,
                str(_get(r, "system", "dataset") or root.name),
                folder if folder.is_dir() else root,
                utc(parse_epoch(_get(r, "inject_time", "time", "timestamp"))),
                str(_get(r, "root_cause_service", "root_cause", "service")),
                str(_get(r, "fault_type", "fault") or "unknown"),
            )
        )
    return sorted(out, key=lambda c: (c.system, c.inject_time, c.case_id))


def _metric_files(folder: Path, top: Path) -> tuple[str, ...]:
    for d in (folder, top):
        found = sorted(str(p) for p in d.glob("metrics*.csv*") if p.name.removesuffix(".gz").endswith(".csv"))
        if found:
            return tuple(found)
    return ()


def load_metric_files(paths: tuple[str, ...], sep: str = "_", services: tuple[str, ...] = ()) -> tuple[Series, ...]:
    """Series of several metric files, merged per (service, metric) and sorted by time."""
    if len(paths) == 1:
        return load_metrics(paths[0], sep, services)
    data: dict[Key, list[tuple[float, float]]] = defaultdict(list)
    for path in paths:
        for s in load_metrics(path, sep, services):
            data[(s.service, s.name, s.labels)].extend(zip(s.timestamps, s.values, strict=True))
    return _build(data, "+".join(Path(p).name for p in paths))


def build_generic_sources(
    folder: Path,
    *,
    root: Path | None = None,
    sep: str = "_",
    horizon: datetime | None = None,
) -> Sources:
    """Sources over one folder of the generic layout (files missing there come from ``root``)."""
    top = root or folder
    h = horizon.timestamp() if horizon is not None else None
    graph_path = _file(folder, top, "call_graph", ("csv", "json", "jsonl"))
    graph = load_call_graph(graph_path) if graph_path else ()
    span_path = _file(folder, top, "spans", ("csv", "jsonl", "json"))
    log_path = _file(folder, top, "logs", ("csv", "jsonl", "json"))
    metric_paths = _metric_files(folder, top)
    change_path = _file(folder, top, "changes", ("json", "jsonl", "csv"))
    ref_path = _file(folder, top, "reference", ("json", "jsonl", "csv"))
    # a stretch is usable up to the horizon (a case sees nothing after it)
    reference = tuple(
        TimeRange(r.start, min(r.end, horizon) if horizon is not None else r.end)
        for r in (load_reference(ref_path) if ref_path else ())
        if horizon is None or r.start < horizon
    )
    known = tuple(sorted({s for e in graph for s in e}))
    spans: list[Span] | None = None
    logs: list[LogRecord] | None = None

    def read_spans(window: TimeRange) -> list[Span]:
        nonlocal spans
        if spans is None and span_path is not None:
            spans = load_spans(span_path)
        return spans or []

    def read_logs(window: TimeRange) -> list[LogRecord]:
        nonlocal logs
        if logs is None and log_path is not None:
            logs = load_logs(log_path)
        return logs or []

    return Sources(
        metrics=FileMetrics("files", lambda: load_metric_files(metric_paths, sep, known), h) if metric_paths else None,
        logs=FileLogs("files", read_logs, h) if log_path else None,
        traces=FileTraces("files", read_spans, h) if span_path else None,
        changes=FileChanges("files", load_changes(change_path), h) if change_path else None,
        call_graph=graph,
        reference=reference,
    )


def write_json(path: Path, doc: Any) -> None:
    """Small helper for converters: write JSON (UTF-8)."""
    with open(path, "w", encoding="utf-8") as fh:
        json.dump(doc, fh, indent=1, default=str)


__all__ = ["GenericCase", "build_generic_sources", "cases", "load_metrics", "open_text", "write_json"]
