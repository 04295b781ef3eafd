"""BARO's RobustScorer.

Pham, Ha, Zhang: "BARO: Robust Root Cause Analysis for Microservices via Multivariate Bayesian Online
Change Point Detection", FSE 2024. Each metric is scored by ``|x - median| / IQR`` of the pre-anomaly window;
a service's score is the maximum over its metrics.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache

import numpy as np

from tracehound.engine.types import Series, TimeRange

_FAMILIES: tuple[tuple[str, str], ...] = (
    ("error", r"error|fail|5xx|exception|fault|success"),
    # latency measured by a caller on its calls to others: a symptom of the callee, not of the caller itself
    ("dependency", r"(client|outbound|downstream|upstream|egress).*(latenc|duration|response|delay|_time)"),
    ("latency", r"latenc|duration|response_time|_time|p50|p9\d|delay|rt\b"),
    ("pool", r"pool|connection|conn"),
    ("cpu", r"cpu|throttl"),
    ("memory", r"mem|heap|rss|oom"),
    ("network", r"network|net_|bytes|packet|receive|transmit|\brx\b|\btx\b|_rx|_tx"),
    ("io", r"disk|syscall|iops|\bio\b|_io|io_|fs_|(?<!th)read|write"),
    ("traffic", r"request|rate|qps|rps|throughput|count|traffic|workload|ops"),
)


@lru_cache(maxsize=8192)
def metric_family(name: str) -> str:
    """A generic family from a metric name (first match wins): error, dependency, latency, pool, cpu, memory,
    network, io, traffic or other."""
    lower = name.lower()
    for family, pattern in _FAMILIES:
        if re.search(pattern, lower):
            return family
    return "other"


# A series this many robust units from its baseline is anomalous; below it, it is within its normal range. The
# report cites only such changes as evidence and reasons, and follow-ups use the same words.
ANOMALOUS = 3.0


@dataclass(frozen=True, slots=True)
class RobustConfig:
    cap: float = 50.0  # scores above this carry no more information
    rel_floor: float = 1e-3  # IQR is at least this fraction of |median|
    eps: float = 1e-6
    min_points: int = 3
    reliable_points: int = 5  # below this many baseline samples only relative changes count:
    few_points_floor: float = 0.5  # the scale is at least this share of the baseline level
    # widen the scale to (p95 - p5) / 4 for spiky baselines; off by default: it cost accuracy on the Nezha bench
    spread_guard: bool = False
    # "iqr": BARO's |x - median| / IQR; "std": N-sigma |x - mean| / std (RCAEval's strongest simple baseline)
    scale: str = "iqr"


@dataclass(frozen=True, slots=True)
class MetricScore:
    series: Series
    family: str
    score: float  # >= 0, robust units
    direction: int  # +1 up, -1 down
    baseline_value: float  # median of the baseline window
    incident_value: float  # median of the scored window
    peak_value: float  # most extreme value of the scored window


def sampling_step(series: Sequence[Series], *, sample: int | None = 200) -> float:
    """Median sampling step (s) over the series, the first ``sample`` of them (all: None); 60 when unknown."""
    steps = [float(np.median(np.diff(x.timestamps))) for x in series[:sample] if len(x.timestamps) > 2]
    return float(np.median(steps)) if steps else 60.0


def window_values(series: Series, window: TimeRange) -> np.ndarray:
    ts = np.asarray(series.timestamps, dtype=float)
    vs = np.asarray(series.values, dtype=float)
    mask = (ts >= window.start.timestamp()) & (ts < window.end.timestamp()) & np.isfinite(vs)
    out: np.ndarray = vs[mask]
    return out


def robust_stats(values: np.ndarray, config: RobustConfig = RobustConfig()) -> tuple[float, float]:
    """(centre, scale) with the scale guarded against a spread ~ 0 and float noise (1e-18 spreads)."""
    if config.scale == "std":
        mean = float(np.mean(values))
        return mean, max(float(np.std(values)), config.rel_floor * abs(mean), config.eps)
    median = float(np.median(values))
    q95, q75, q25, q5 = np.percentile(values, [95, 75, 25, 5])
    # a spiky baseline (occasional outliers, e.g. latency quantiles of a low-traffic service) widens the scale:
    # (p95 - p5) / 4 is about one IQR for a well-behaved series and much more for a spiky one
    spread = max(float(q75 - q25), float(q95 - q5) / 4.0) if config.spread_guard else float(q75 - q25)
    return median, max(spread, config.rel_floor * abs(median), config.eps)


def _score(
    s: Series, ts: np.ndarray, vs: np.ndarray, baseline: TimeRange, window: TimeRange, config: RobustConfig
) -> MetricScore | None:
    base = vs[(ts >= baseline.start.timestamp()) & (ts < baseline.end.timestamp())]
    after = vs[(ts >= window.start.timestamp()) & (ts < window.end.timestamp())]
    if len(base) < config.min_points or len(after) < 1:
        return None
    median, scale = robust_stats(base, config)
    if len(base) < config.reliable_points:  # a spread from two or three samples means nothing
        scale = max(scale, config.few_points_floor * abs(median), config.eps)
    z = np.clip((after - median) / scale, -config.cap, config.cap)
    mean = float(np.mean(z))
    peak = float(after[int(np.argmax(np.abs(after - median)))])
    return MetricScore(
        s, metric_family(s.name), abs(mean), 1 if mean >= 0 else -1, median, float(np.median(after)), peak
    )


def robust_scores_at(
    series: Sequence[Series],
    windows: Sequence[tuple[TimeRange, TimeRange]],
    config: RobustConfig = RobustConfig(),
) -> list[list[MetricScore]]:
    """:func:`robust_scores` for several (baseline, scored window) pairs, reading each series once."""
    out: list[list[MetricScore]] = [[] for _ in windows]
    for s in series:
        ts = np.asarray(s.timestamps, dtype=float)
        vs = np.asarray(s.values, dtype=float)
        finite = np.isfinite(vs)
        ts, vs = ts[finite], vs[finite]
        for i, (baseline, window) in enumerate(windows):
            m = _score(s, ts, vs, baseline, window, config)
            if m is not None:
                out[i].append(m)
    for scores in out:
        scores.sort(key=lambda m: m.score, reverse=True)
    return out


def robust_scores(
    series: Sequence[Series],
    *,
    baseline: TimeRange,
    anomaly_start: datetime,
    end: datetime,
    config: RobustConfig = RobustConfig(),
) -> list[MetricScore]:
    """Score each series over [anomaly_start, end) against its baseline; highest first."""
    return robust_scores_at(series, [(baseline, TimeRange(anomaly_start, end))], config)[0]
