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
    cfg.masking_instructions = [
        MaskingInstruction(r"\b[0-9a-fA-F]{8,}\b", "HEX"),
        MaskingInstruction(r"\b\d+(?:\.\d+)*(?:ms|s|%)?\b", "NUM"),
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
