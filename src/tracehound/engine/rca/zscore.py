"""N-sigma (z-score) baseline ranker.

As evaluated in RCAEval (Pham et al., "RCAEval: A Benchmark for Root Cause Analysis of Microservice Systems
with Telemetry Data", WWW 2025 companion / arXiv 2412.17015): score each metric by ``|x - mean| / std`` of a
fault-free window; a service's score is the maximum over its metrics.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from tracehound.engine.rca.robust import MetricScore, metric_family, window_values
from tracehound.engine.types import Series, TimeRange


@dataclass(frozen=True, slots=True)
class ZScoreConfig:
    cap: float = 50.0
    eps: float = 1e-6
    min_points: int = 2  # a case may start with two samples of history (the first incident of a day)


def zscore_scores(
    series: Sequence[Series],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: ZScoreConfig = ZScoreConfig(),
) -> list[MetricScore]:
    """Mean N-sigma deviation of each series over [anomaly_start, end); highest first."""
    out: list[MetricScore] = []
    for s in series:
        base = window_values(s, baseline)
        after = window_values(s, TimeRange(anomaly_start, end))
        if len(base) < config.min_points or len(after) < 1:
            continue
        mean, std = (
            float(np.mean(base)),
            max(float(np.std(base)), config.eps, 1e-3 * abs(float(np.mean(base)))),
        )
        z = float(np.mean(np.clip((after - mean) / std, -config.cap, config.cap)))
        peak = float(after[int(np.argmax(np.abs(after - mean)))])
        out.append(
            MetricScore(s, metric_family(s.name), abs(z), 1 if z >= 0 else -1, mean, float(np.mean(after)), peak)
        )
    out.sort(key=lambda m: m.score, reverse=True)
    return out


def service_scores(scores: Sequence[MetricScore]) -> dict[str, float]:
    """Service score = max over its metrics."""
    out: dict[str, float] = {}
    for m in scores:
        out[m.series.service] = max(out.get(m.series.service, 0.0), m.score)
    return out
