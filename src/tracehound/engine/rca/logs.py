"""New or surging ERROR/WARN log templates per service.

Templates are mined with Drain (He, Zhu, Zheng, Lyu: "Drain: An Online Log Parsing Approach with Fixed Depth
Tree", ICWS 2017) through the ``drain3`` package, in memory. A template is suspicious when it is new after the
anomaly start or its rate grew sharply compared with the baseline.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from drain3 import TemplateMiner
from drain3.masking import MaskingInstruction
from drain3.template_miner_config import TemplateMinerConfig

from tracehound.engine.types import LogRecord, TimeRange

logging.getLogger("drain3").setLevel(logging.WARNING)


@dataclass(frozen=True, slots=True)
class LogConfig:
    levels: tuple[str, ...] = ("ERROR", "FATAL", "WARN", "WARNING", "CRITICAL")
    min_count: int = 3
    min_surge: float = 3.0  # rate ratio after / before
    sim_th: float = 0.5


@dataclass(frozen=True, slots=True)
class TemplateCount:
    service: str
    level: str
    template: str
    before: int
    after: int
    example: str
    first_seen: datetime | None  # first occurrence after the anomaly start
    score: float  # log2 of the smoothed rate ratio
    new: bool


def make_miner(config: LogConfig = LogConfig()) -> TemplateMiner:
    cfg = TemplateMinerConfig()
    cfg.profiling_enabled = False
    cfg.drain_sim_th = config.sim_th
    # numbers glued to an identifier (``Impl#53``, ``file.py:120``) name a code location and are kept
    cfg.masking_instructions = [
        MaskingInstruction(r"\d{4}-\d{2}-\d{2}[T ]?|\b\d{1,2}:\d{2}:\d{2}(?:[.,]\d+)?", "TIME"),
        MaskingInstruction(r"\b[0-9a-fA-F]{8,}\b|\b[0-9a-fA-F-]{36}\b", "HEX"),
        MaskingInstruction(r"(?<![\w#.:-])\d+(?:\.\d+)*(?:ms|s|%)?\b", "NUM"),
    ]
    return TemplateMiner(persistence_handler=None, config=cfg)


def template_counts(
    records: Sequence[LogRecord],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: LogConfig = LogConfig(),
) -> list[TemplateCount]:
    """Counts of each (service, level, template) before and after the anomaly start, most suspicious first."""
    miner = make_miner(config)
    before: dict[tuple[str, str, int], int] = defaultdict(int)
    after: dict[tuple[str, str, int], int] = defaultdict(int)
    example: dict[tuple[str, str, int], LogRecord] = {}
    for r in sorted(records, key=lambda r: r.ts):
        if r.level.upper() not in config.levels:
            continue
        cluster_id = int(miner.add_log_message(r.message)["cluster_id"])
        key = (r.service, r.level.upper(), cluster_id)
        if baseline.start <= r.ts < baseline.end:
            before[key] += 1
        elif anomaly_start <= r.ts < end:
            after[key] += 1
            example.setdefault(key, r)
    templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    # rates per minute *that has log data*: a sparse source (only some minutes exported) must not look like a surge
    minutes = {(0 if r.ts < anomaly_start else 1, int(r.ts.timestamp() // 60)) for r in records}
    b_cov = sum(1 for p, _ in minutes if p == 0) or (baseline.end - baseline.start).total_seconds() / 60
    a_cov = sum(1 for p, _ in minutes if p == 1) or (end - anomaly_start).total_seconds() / 60
    b_min = max(min(b_cov, (baseline.end - baseline.start).total_seconds() / 60), 1.0)
    a_min = max(min(a_cov, (end - anomaly_start).total_seconds() / 60), 1.0)
    out = []
    for key, n_after in after.items():
        n_before = before.get(key, 0)
        ratio = (n_after / a_min + 0.05) / (n_before / b_min + 0.05)
        ex = example[key]
        out.append(
            TemplateCount(
                key[0],
                key[1],
                templates.get(key[2], ex.message),
                n_before,
                n_after,
                ex.message,
                ex.ts,
                math.log2(max(ratio, 1e-9)),
                n_before == 0,
            )
        )
    out.sort(key=lambda t: (t.score, t.after), reverse=True)
    return out


def log_anomalies(
    records: Sequence[LogRecord],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: LogConfig = LogConfig(),
) -> list[TemplateCount]:
    """Only the new or surging templates."""
    counts = template_counts(records, baseline=baseline, anomaly_start=anomaly_start, end=end, config=config)
    return [t for t in counts if t.after >= config.min_count and t.score >= math.log2(config.min_surge)]


def service_log_scores(findings: Sequence[TemplateCount]) -> dict[str, float]:
    out: dict[str, float] = {}
    for f in findings:
        weight = 1.0 if f.level in ("ERROR", "FATAL", "CRITICAL") else 0.5
        out[f.service] = max(out.get(f.service, 0.0), f.score * weight)
    return out


@dataclass(frozen=True, slots=True)
class LogSignalConfig:
    # warnings follow the workload (e.g. "no tickets left") far more than faults: errors only
    error_levels: tuple[str, ...] = ("ERROR", "FATAL", "CRITICAL")
    min_service_lines: int = 5  # both sides, for the share test
    prior: float = 0.5  # pseudo-count added to a template's baseline count


def _coverage(records: Sequence[LogRecord], start: datetime) -> tuple[float, float]:
    """Seconds of log data before and after ``start`` (first to last line: exported minutes may be sparse)."""
    before = [r.ts for r in records if r.ts < start]
    after = [r.ts for r in records if r.ts >= start]
    b = (start - min(before)).total_seconds() if before else 0.0
    a = (max(after) - start).total_seconds() if after else 0.0
    return max(b, 1.0), max(a, 1.0)


def log_signals(
    records: Sequence[LogRecord],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: LogSignalConfig = LogSignalConfig(),
) -> dict[str, dict[str, float]]:
    """Two per-service signals from Drain templates of every level (He et al., ICWS 2017).

    ``errors``: the strongest Poisson surge (``(after - expected) / sqrt(expected + 1)``) of an error/warning
    template of the service. ``shift``: the strongest change in a template's *share* of the service's own lines
    (binomial z); a code fault that cuts a code path makes one template vanish or appear while the service's
    total volume, driven by the workload, barely moves (the log side of Nezha's pattern comparison, Yu et al.
    FSE 2023).
    """
    recs = [r for r in records if baseline.start <= r.ts < end and not (baseline.end <= r.ts < anomaly_start)]
    if not recs:
        return {}
    miner = make_miner()
    counts: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    levels: dict[tuple[str, int], str] = {}
    for r in sorted(recs, key=lambda r: r.ts):
        key = (r.service, int(miner.add_log_message(r.message)["cluster_id"]))
        counts[key][0 if r.ts < anomaly_start else 1] += 1
        levels[key] = r.level.upper()
    secs_b, secs_a = _coverage(recs, anomaly_start)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for (svc, _), (nb, na) in counts.items():
        totals[svc][0] += nb
        totals[svc][1] += na
    errors: dict[str, float] = {}
    shift: dict[str, float] = {}
    for (svc, cid), (nb, na) in counts.items():
        expected = (nb + config.prior) * secs_a / secs_b
        z = (na - expected) / math.sqrt(expected + 1.0)
        if levels[(svc, cid)] in config.error_levels and z > 0:
            errors[svc] = max(errors.get(svc, 0.0), z)
        tb, ta = totals[svc]
        if tb >= config.min_service_lines and ta >= config.min_service_lines:
            p = (nb + config.prior) / (tb + 2 * config.prior)
            zz = abs(na - ta * p) / math.sqrt(ta * p * (1 - p) + 1.0)
            shift[svc] = max(shift.get(svc, 0.0), zz)
    return {k: v for k, v in (("errors", errors), ("shift", shift)) if v}
