"""Anomaly start detection on the aggregated anomaly signal.

A simple, robust stand-in for BARO's multivariate Bayesian online change-point detection
(Pham et al., FSE 2024; Adams & MacKay, "Bayesian Online Changepoint Detection", 2007):
every series is turned into clipped robust z-scores against its baseline, the scores are averaged per
timestamp over the most deviating series, and the split that maximises the CUSUM-style mean-shift
statistic near the incident time is the anomaly start.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from tracehound.engine.rca.robust import RobustConfig, robust_stats, window_values
from tracehound.engine.types import Series, TimeRange


@dataclass(frozen=True, slots=True)
class ChangePointConfig:
    clip: float = 20.0
    top_fraction: float = 0.2  # average the most deviating share of series at each timestamp
    search_before: timedelta = timedelta(minutes=30)  # how far before the incident time to look
    min_shift: float = 1.0  # minimum mean shift (robust units) to accept a change point
    min_segment: int = 3


@dataclass(frozen=True, slots=True)
class ChangePoint:
    start: datetime
    detected: bool  # False: fell back to the incident time
    shift: float
    signal: tuple[tuple[float, float], ...] = ()  # (epoch seconds, aggregated score)


def anomaly_signal(
    series: Sequence[Series], baseline: TimeRange, config: ChangePointConfig
) -> list[tuple[float, float]]:
    per_ts: dict[float, list[float]] = defaultdict(list)
    for s in series:
        base = window_values(s, baseline)
        if len(base) < 3:
            continue
        median, scale = robust_stats(base, RobustConfig())
        for t, v in zip(s.timestamps, s.values, strict=False):
            if np.isfinite(v):
                per_ts[t].append(min(abs(v - median) / scale, config.clip))
    out = []
    for t in sorted(per_ts):
        vals = sorted(per_ts[t], reverse=True)
        k = max(1, int(len(vals) * config.top_fraction))
        out.append((t, float(np.mean(vals[:k]))))
    return out


def find_anomaly_start(
    series: Sequence[Series],
    *,
    baseline: TimeRange,
    incident_time: datetime,
    end: datetime,
    config: ChangePointConfig = ChangePointConfig(),
    begin: datetime | None = None,
) -> ChangePoint:
    """The most likely anomaly start in [incident_time - search_before, end); the incident time if none.
    ``begin``: ignore the signal before it (default: all of it)."""
    first = begin.timestamp() if begin is not None else float("-inf")
    signal = [(t, v) for t, v in anomaly_signal(series, baseline, config) if first <= t < end.timestamp()]
    lo = max(baseline.end, incident_time - config.search_before).timestamp()
    if len(signal) < 2 * config.min_segment:
        return ChangePoint(incident_time, False, 0.0, tuple(signal))
    ts = np.array([t for t, _ in signal])
    vs = np.array([v for _, v in signal])
    best_i, best_stat, best_shift = -1, 0.0, 0.0
    n = len(vs)
    for i in range(config.min_segment, n - config.min_segment + 1):
        if ts[i] < lo:
            continue
        before, after = vs[:i], vs[i:]
        shift = float(np.mean(after) - np.mean(before))
        stat = shift * np.sqrt(len(before) * len(after) / n)
        if stat > best_stat:
            best_i, best_stat, best_shift = i, stat, shift
    if best_i < 0 or best_shift < config.min_shift:
        return ChangePoint(incident_time, False, best_shift, tuple(signal))
    # the split is where the mean shifts; walk back to the first point of the run that is clearly raised
    level = float(np.median(vs[:best_i])) + best_shift / 2
    i = best_i
    while i - 1 >= 0 and ts[i - 1] >= lo and vs[i - 1] > level:
        i -= 1
    return ChangePoint(datetime.fromtimestamp(float(ts[i]), UTC), True, best_shift, tuple(signal))
