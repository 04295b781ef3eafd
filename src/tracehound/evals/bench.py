"""Run every labelled case of a dataset through :func:`~tracehound.engine.investigate.investigate`.

Each case sees only its own data (the connector serves nothing after the case's horizon) and a generic incident
text built from the symptom and the injection time; the culprit is never named. Beside the engine, an N-sigma
baseline (:mod:`tracehound.engine.rca.zscore`) ranks services from the same metrics, in the same process:
10 minutes of baseline before the injection time, the 3 minutes after it scored (as in the dataset README).

Cases are independent, so ``jobs`` worker processes can run them side by side (each case's engine and baseline
still run together in one worker); results come back in the cases' order, identical to a serial run.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, Literal

from tracehound.connectors.files import generic, nezha
from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.rca.evaluation import evaluate
from tracehound.engine.rca.zscore import service_scores, zscore_scores
from tracehound.engine.types import Incident, TimeRange

Layout = Literal["nezha", "generic"]
FAMILIES = {
    "cpu_contention": "resource",
    "cpu_consumed": "resource",
    "cpu": "resource",
    "memory": "resource",
    "network_delay": "network",
    "delay": "network",
    "loss": "network",
    "return": "code",
    "exception": "code",
}
BASELINE_BEFORE = timedelta(minutes=10)
BASELINE_AFTER = timedelta(minutes=3)
CASE_AFTER = timedelta(minutes=10)  # a generic case sees its data up to this long after the injection


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    system: str
    fault_type: str
    truth: str
    inject_time: datetime
    created_at: datetime
    sources: Callable[[], Sources]


@dataclass(slots=True)
class CaseResult:
    case_id: str
    system: str
    fault_type: str
    truth: str
    ranking: list[str]
    baseline_ranking: list[str]
    seconds: float
    error: str | None = None


@dataclass(slots=True)
class BenchResult:
    cases: list[CaseResult] = field(default_factory=list)
    seconds: float = 0.0
    peak_rss_mb: float = 0.0
    processes: int = 1  # the worker processes the cases ran in (1: this process)

    def to_dict(self) -> dict[str, Any]:
        return {"cases": [asdict(c) for c in self.cases], "summary": summary(self)}


def family(fault_type: str) -> str:
    return FAMILIES.get(fault_type.lower(), fault_type.lower())


def incident_text(case: Case) -> str:
    """Generic paging text: the symptom and the time, never the culprit."""
    return f"Errors and latency on the frontend since {case.inject_time:%Y-%m-%d %H:%M:%S} UTC"


def load_cases(path: Path, layout: Layout, *, limit_to: Sequence[str] = ()) -> list[Case]:
    out: list[Case] = []
    if layout == "nezha":
        for c in nezha.cases(path):
            out.append(
                Case(
                    c.case_id,
                    c.system,
                    c.fault_type,
                    c.service,
                    c.inject_time,
                    c.horizon,
                    partial(nezha.build_nezha_sources, path, c.date, horizon=c.horizon),
                )
            )
    else:
        for g in generic.cases(path):
            out.append(
                Case(
                    g.case_id,
                    g.system,
                    g.fault_type,
                    g.service,
                    g.inject_time,
                    g.inject_time + CASE_AFTER,
                    partial(generic.build_generic_sources, g.folder, root=path, horizon=g.inject_time + CASE_AFTER),
                )
            )
    if limit_to:
        out = [c for c in out if any(k in c.case_id for k in limit_to)]
    return out


def detect_layout(path: Path) -> Layout:
    return "nezha" if (path / "rca_data").is_dir() else "generic"


async def baseline_ranking(sources: Sources, t: datetime, end: datetime) -> list[str]:
    if sources.metrics is None:
        return []
    stop = min(t + BASELINE_AFTER, end)
    series = await sources.metrics.query(TimeRange(t - BASELINE_BEFORE, stop))
    scores = zscore_scores(series, baseline=TimeRange(t - BASELINE_BEFORE, t), anomaly_start=t, end=stop)
    ranked = sorted(service_scores(scores).items(), key=lambda kv: (-kv[1], kv[0]))
    return [s for s, _ in ranked]


async def run_case(case: Case) -> CaseResult:
    t0 = time.perf_counter()
    sources = case.sources()
    incident = Incident(incident_text(case), case.created_at)
    try:
        report = await investigate(incident, sources)
        ranking = [c.service for c in report.candidates]
        error = None
    except Exception as exc:  # a crashing case is a result too
        ranking, error = [], f"{type(exc).__name__}: {exc}"
    base = await baseline_ranking(sources, case.inject_time, case.created_at)
    return CaseResult(
        case.case_id,
        case.system,
        case.fault_type,
        case.truth,
        ranking,
        base,
        round(time.perf_counter() - t0, 3),
        error,
    )


def default_jobs() -> int:
    """The cores this process may use, at most 4 (each worker holds its own cache of the dataset's files,
    about half a gigabyte on Nezha)."""
    return max(1, min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1))


def run(cases: Sequence[Case], *, on_case: Callable[[CaseResult], None] | None = None, jobs: int = 1) -> BenchResult:
    """Every case, in ``jobs`` processes (1: in this process). ``peak_rss_mb`` is this process's peak resident
    memory, plus each worker's own peak when there are workers: an upper bound of what was in use at once."""
    result = BenchResult()
    t0 = time.perf_counter()
    workers = min(jobs, len(cases))
    if workers <= 1:
        for case in cases:
            r = asyncio.run(run_case(case))
            result.cases.append(r)
            if on_case is not None:
                on_case(r)
        workers_mb = 0.0
    else:
        result.cases, workers_mb = _run_in_workers(cases, workers, on_case)
        result.processes = workers
    result.seconds = round(time.perf_counter() - t0, 2)
    result.peak_rss_mb = round(_peak_mb() + workers_mb, 1)
    return result


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _case_in_worker(case: Case) -> tuple[CaseResult, int, float]:
    return asyncio.run(run_case(case)), os.getpid(), _peak_mb()


def _run_in_workers(
    cases: Sequence[Case], workers: int, on_case: Callable[[CaseResult], None] | None
) -> tuple[list[CaseResult], float]:
    # spawn, not fork: the caller may have threads (a progress display), and a fork copies their locks mid-use.
    # Cases are handed out in order, so each worker's file caches see neighbouring cases.
    done: dict[int, CaseResult] = {}
    peaks: dict[int, float] = {}
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(max_workers=workers, mp_context=context)
    try:
        futures = {pool.submit(_case_in_worker, case): i for i, case in enumerate(cases)}
        for future in as_completed(futures):
            r, pid, peak = future.result()
            done[futures[future]] = r
            peaks[pid] = max(peak, peaks.get(pid, 0.0))
            if on_case is not None:
                on_case(r)
    finally:
        # after a failure or Ctrl-C the queued cases are dropped, not run (not a `with` block: its exit would
        # shut down again without cancelling, and the pool would run every queued case before the error shows)
        pool.shutdown(wait=True, cancel_futures=True)
    return [done[i] for i in range(len(cases))], sum(peaks.values())


def _scores(rows: Sequence[CaseResult], baseline: bool) -> dict[str, float]:
    acc = evaluate([(r.baseline_ranking if baseline else r.ranking, r.truth) for r in rows])
    return {
        "AC@1": round(acc.ac[1], 4),
        "AC@3": round(acc.ac[3], 4),
        "AC@5": round(acc.ac[5], 4),
        "Avg@5": round(acc.avg5, 4),
    }


def groups(rows: Sequence[CaseResult]) -> list[tuple[str, str, list[CaseResult]]]:
    """(system, group, cases): per system and fault type, per system and fault family, per system, overall."""
    out: list[tuple[str, str, list[CaseResult]]] = []
    for system in sorted({r.system for r in rows}):
        mine = [r for r in rows if r.system == system]
        for ft in sorted({r.fault_type for r in mine}):
            out.append((system, ft, [r for r in mine if r.fault_type == ft]))
        for fam in sorted({family(r.fault_type) for r in mine}):
            out.append((system, f"family:{fam}", [r for r in mine if family(r.fault_type) == fam]))
        out.append((system, "all", mine))
    for fam in sorted({family(r.fault_type) for r in rows}):
        out.append(("ALL", f"family:{fam}", [r for r in rows if family(r.fault_type) == fam]))
    out.append(("ALL", "all", list(rows)))
    return out


def summary(result: BenchResult) -> dict[str, Any]:
    return {
        "groups": [
            {
                "system": system,
                "group": group,
                "cases": len(rows),
                "engine": _scores(rows, False),
                "baseline": _scores(rows, True),
            }
            for system, group, rows in groups(result.cases)
        ],
        "errors": sum(1 for c in result.cases if c.error),
        "seconds": result.seconds,
        "peak_rss_mb": result.peak_rss_mb,
        "processes": result.processes,
    }


def markdown_table(result: BenchResult) -> str:
    lines = [
        "| system | faults | cases | engine AC@1 | AC@3 | AC@5 | Avg@5 | z-score AC@1 | AC@3 | AC@5 | Avg@5 |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for g in summary(result)["groups"]:
        e, b = g["engine"], g["baseline"]
        bold = "**" if g["group"] == "all" else ""
        lines.append(
            f"| {bold}{g['system']}{bold} | {bold}{g['group']}{bold} | {g['cases']} | "
            + " | ".join(f"{e[k]:.2f}" for k in ("AC@1", "AC@3", "AC@5", "Avg@5"))
            + " | "
            + " | ".join(f"{b[k]:.2f}" for k in ("AC@1", "AC@3", "AC@5", "Avg@5"))
            + " |"
        )
    return "\n".join(lines)
