"""The Nezha dataset layout (Yu et al., FSE 2023; https://github.com/IntelligentDDS/Nezha, MIT).

```
rca_data/<date>/<date>-fault_list.json        hour -> [{inject_time, inject_pod, inject_type, ...}]
rca_data/<date>/metric/<pod>_metric.csv[.gz]  one file per pod (Time, TimeStamp, PodName, metric columns...)
rca_data/<date>/metric/dependency.csv[.gz]    optional static call graph (Source, Target, ...)
rca_data/<date>/metric/{source,destination}_50.csv[.gz]  optional per-edge median latency (s) as the caller's and
                                              the callee's proxy report it: time, timestamp, <caller>_<callee>...
rca_data/<date>/log/<HH>_<MM>_log.csv[.gz]    Timestamp, TimeUnixNano, Node, PodName, Container, TraceID, SpanID, Log
rca_data/<date>/trace/<HH>_<MM>_trace.csv[.gz] TraceID, SpanID, ParentID, PodName, OperationName, StartTimeUnixNano, ...
construct_data/<date>/{log,trace}/...         fault-free minutes, same formats (served alongside)
```
Service = pod name without its last two dash-separated parts. Times come from the ``Time`` text column and the
``inject_time`` string (read as UTC): the numeric timestamps of this dataset are unreliable in places.
Per-node columns (``Node*``) describe the machine, not the service, and are not served.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

from tracehound.connectors.files.common import (
    FileLogs,
    FileMetrics,
    FileTraces,
    log_level,
    open_text,
    parse_iso,
    read_columns,
    read_rows,
    to_float,
    utc,
)
from tracehound.engine.ports import Sources
from tracehound.engine.types import CALLER_LABEL, REPORTER_LABEL, LogRecord, Series, Span, TimeRange

_SKIP_COLUMNS = {"time", "timestamp", "podname"}
_UNIT_RE = re.compile(r"\(([^)]*)\)\s*$")
CASE_HORIZON = timedelta(minutes=10)  # a case's data ends at the next injection or this long after its own


@dataclass(frozen=True, slots=True)
class NezhaCase:
    case_id: str
    system: str
    date: str
    inject_time: datetime  # UTC
    pod: str
    service: str
    fault_type: str
    horizon: datetime  # the case's data ends here (exclusive)


@lru_cache(maxsize=4096)
def service_of(pod: str) -> str:
    parts = pod.split("-")
    return "-".join(parts[:-2]) if len(parts) > 2 else pod


def _system(root: Path, date: str, pod: str) -> str:
    index = root / "cases.csv"
    if index.is_file():
        for row in read_rows(index):
            if row.get("date") == date and row.get("system"):
                return row["system"]
    return "TrainTicket" if pod.startswith("ts-") else "OnlineBoutique"


def dates(root: Path) -> list[str]:
    base = root / "rca_data"
    return sorted(p.name for p in base.iterdir() if p.is_dir()) if base.is_dir() else []


def cases(root: Path, date: str | None = None) -> list[NezhaCase]:
    """Every labelled case (of one date folder, or all), in time order."""
    out: list[NezhaCase] = []
    for d in [date] if date else dates(root):
        fl = root / "rca_data" / d / f"{d}-fault_list.json"
        if not fl.is_file():
            continue
        with open_text(fl) as fh:
            doc = json.load(fh)
        raw = sorted(
            (parse_iso(str(x["inject_time"])), x)
            for hour in doc.values()
            for x in (hour if isinstance(hour, list) else [hour])
        )
        system = _system(root, d, str(raw[0][1]["inject_pod"])) if raw else ""
        for i, (ts, x) in enumerate(raw):
            t = utc(ts)
            nxt = utc(raw[i + 1][0]) if i + 1 < len(raw) else t + CASE_HORIZON
            pod = str(x["inject_pod"])
            out.append(
                NezhaCase(
                    f"{system}_{d}_{t:%H%M%S}",
                    system,
                    d,
                    t,
                    pod,
                    service_of(pod),
                    str(x["inject_type"]),
                    min(nxt, t + CASE_HORIZON),
                )
            )
    return out


@lru_cache(maxsize=8)
def load_metrics(metric_dir: str) -> tuple[Series, ...]:
    """Every per-pod series of a ``metric`` folder (cached: the bench reads each folder once)."""
    out: list[Series] = []
    for path in sorted(Path(metric_dir).glob("*_metric.csv*")):
        columns: dict[str, list[float]] = {}
        times: list[float] = []
        pod = path.name.split("_metric.csv")[0]
        for row in read_rows(path):
            try:
                t = parse_iso(row.get("Time") or row.get("TimeStamp") or "")
            except ValueError:
                continue
            times.append(float(round(t)))
            pod = row.get("PodName") or pod
            for k, v in row.items():
                if k is None or k.lower() in _SKIP_COLUMNS or k.startswith("Node"):
                    continue
                columns.setdefault(k, []).append(to_float(v))
        order = sorted(range(len(times)), key=times.__getitem__)
        ts = tuple(times[i] for i in order)
        svc = service_of(pod)
        for name, values in columns.items():
            if len(values) != len(times):
                continue
            unit = _UNIT_RE.search(name)
            out.append(
                Series(
                    name,
                    svc,
                    ts,
                    tuple(values[i] for i in order),
                    (("pod", pod),),
                    unit.group(1) if unit else "",
                    f"file:{path.name}#{name}",
                )
            )
    out += _edge_latency(Path(metric_dir))
    return tuple(out)


EDGE_LATENCY = "EdgeLatencyP50(s)"


def _edge_latency(metric_dir: Path) -> list[Series]:
    """``source_50`` / ``destination_50``: one series per edge and reporter, the callee's, labelled with its caller
    (the engine pairs them: ``engine/rca/edges.py``)."""
    out: list[Series] = []
    for reporter in ("source", "destination"):
        path = next(
            (p for p in (metric_dir / f"{reporter}_50.csv.gz", metric_dir / f"{reporter}_50.csv") if p.is_file()), None
        )
        if path is None:
            continue
        columns: dict[str, list[float]] = {}
        times: list[float] = []
        for row in read_rows(path):
            try:
                t = parse_iso((row.get("time") or "")[:19] + "Z")
            except ValueError:
                continue
            times.append(float(round(t)))
            for k, v in row.items():
                if k and "_" in k and k.lower() not in _SKIP_COLUMNS:
                    columns.setdefault(k, []).append(to_float(v))
        order = sorted(range(len(times)), key=times.__getitem__)
        ts = tuple(times[i] for i in order)
        for edge, values in columns.items():
            caller, _, callee = edge.partition("_")
            if len(values) != len(times) or not caller or not callee:
                continue
            labels = ((CALLER_LABEL, caller), (REPORTER_LABEL, reporter))
            vs = tuple(values[i] for i in order)
            out.append(Series(EDGE_LATENCY, callee, ts, vs, labels, "s", f"file:{path.name}#{edge}"))
    return out


def _message(raw: str) -> tuple[str, str | None]:
    """(message, level if the line says) from a container log line (JSON envelope, maybe JSON inside)."""
    msg = raw
    try:
        env = json.loads(raw)
        msg = str(env.get("log", raw)) if isinstance(env, dict) else raw
    except ValueError:
        pass
    msg = msg.strip()
    if msg.startswith("{"):
        try:
            inner = json.loads(msg)
            if isinstance(inner, dict):
                lvl = inner.get("severity") or inner.get("level")
                return str(inner.get("message", msg)), str(lvl) if lvl else None
        except ValueError:
            pass
    return msg, None


@lru_cache(maxsize=48)
def _log_file(path: str) -> tuple[LogRecord, ...]:
    out = []
    for ts_ns, pod, raw, trace in read_columns(Path(path), ("TimeUnixNano", "PodName", "Log", "TraceID")):
        try:
            ts = int(ts_ns) / 1e9
        except ValueError:
            continue
        msg, lvl = _message(raw)
        out.append(LogRecord(utc(ts), service_of(pod), log_level(msg, lvl), msg, trace or None))
    return tuple(out)


_SPAN_COLUMNS = ("StartTimeUnixNano", "Duration", "TraceID", "SpanID", "ParentID", "PodName", "OperationName")


@lru_cache(maxsize=48)
def _trace_file(path: str) -> tuple[Span, ...]:
    """The spans of one minute file. Trace ids and operation names repeat across a file's rows: one string object
    each (a minute of Online Boutique holds ~19,000 spans, and 48 minutes stay cached)."""
    out = []
    same: dict[str, str] = {}
    for start_ns, duration, trace, span, parent, pod, op in read_columns(Path(path), _SPAN_COLUMNS):
        try:
            start = int(start_ns) / 1e9
            dur_ms = float(duration) / 1000.0
        except ValueError:
            continue
        out.append(
            Span(
                same.setdefault(trace, trace),
                span,
                None if parent in ("root", "0", "") else parent,
                service_of(pod),
                same.setdefault(op, op),
                utc(start),
                dur_ms,
                False,
            )
        )
    return tuple(out)


def _minute_files(root: Path, date: str, kind: str, window: TimeRange) -> Iterator[Path]:
    t = window.start.replace(second=0, microsecond=0) - timedelta(minutes=1)
    while t <= window.end + timedelta(minutes=1):
        seen = False
        for top in ("rca_data", "construct_data"):
            folder = root / top / date / kind
            for name in (f"{t:%H_%M}_{kind}.csv.gz", f"{t:%H_%M}_{kind}.csv"):
                if not seen and (folder / name).is_file():
                    seen = True
                    yield folder / name
        t += timedelta(minutes=1)


def call_graph(root: Path, date: str) -> tuple[tuple[str, str], ...]:
    for name in ("dependency.csv.gz", "dependency.csv"):
        path = root / "rca_data" / date / "metric" / name
        if path.is_file():
            edges = {(r["Source"], r["Target"]) for r in read_rows(path) if r.get("Source") and r.get("Target")}
            return tuple(sorted(edges))
    return ()


def build_nezha_sources(root: Path, date: str, *, horizon: datetime | None = None) -> Sources:
    """Sources over one date folder; with ``horizon`` nothing at or after it is served."""
    h = horizon.timestamp() if horizon is not None else None
    metric_dir = str(root / "rca_data" / date / "metric")

    def logs(window: TimeRange) -> Iterator[LogRecord]:
        for path in _minute_files(root, date, "log", window):
            yield from _log_file(str(path))

    def spans(window: TimeRange) -> Iterator[Span]:
        for path in _minute_files(root, date, "trace", window):
            yield from _trace_file(str(path))

    return Sources(
        metrics=FileMetrics("nezha", lambda: load_metrics(metric_dir), h),
        logs=FileLogs("nezha", logs, h),
        traces=FileTraces("nezha", spans, h),
        changes=None,
        call_graph=call_graph(root, date),
        reference=reference_minutes(root, date, horizon),
    )


def reference_minutes(root: Path, date: str, horizon: datetime | None = None) -> tuple[TimeRange, ...]:
    """The minutes of ``construct_data/<date>`` (the dataset's fault-free period) that have logs or spans, before
    ``horizon``: the healthy reference the engine may learn the usual request shapes from."""
    out = set()
    for kind in ("log", "trace"):
        folder = root / "construct_data" / date / kind
        for path in folder.glob(f"*_{kind}.csv*") if folder.is_dir() else ():
            m = re.fullmatch(rf"(\d{{2}})_(\d{{2}})_{kind}\.csv(?:\.gz)?", path.name)
            if m:
                start = utc(parse_iso(f"{date}T{m.group(1)}:{m.group(2)}:00"))
                if horizon is None or start + timedelta(minutes=1) <= horizon:
                    out.add(TimeRange(start, start + timedelta(minutes=1)))
    return tuple(sorted(out, key=lambda r: r.start))
