"""Request shapes: which steps a service's requests go through, before vs after the anomaly start.

A code fault (an exception thrown half-way through a handler, a wrong value returned early) rarely moves a metric
and often logs nothing at error level. What it does change is the *path* of the requests it hits: a log
statement that every request of an endpoint used to reach is no longer reached, an error handler appears, a
downstream call is no longer made. This is the idea behind Nezha's event-pattern comparison (Yu et al.,
"Nezha: Interpretable Fine-Grained Root Causes Analysis for Microservices on Multi-Modal Observability Data",
ESEC/FSE 2023), reduced to what a service's own requests show:

- a **request** is one visit of a trace to a service: the spans of that service in that trace and the log lines
  it wrote with that trace id;
- its **endpoint** is the operation of its first span (the server span of the visit);
- its **steps** are the operations of its spans and its log statements. A log statement is the code location the
  line names when it names one (``c.s.ContactsServiceImpl#34``, ``cart.py:120``), otherwise its Drain template
  (He et al., ICWS 2017);
- for every (service, endpoint, step), the share of the endpoint's requests that contain the step is compared
  before and after the start (two-proportion z). A service's score is its largest change.

Comparing shares *within an endpoint* makes the statistic indifferent to the workload mix (which endpoints are
called, how often), the usual source of false alarms of log-count methods. Steps that repeat a data-dependent
number of times count once per request.

An endpoint whose share of failing requests (an error span or an error-level log line) *falls* clearly has
recovered from an earlier fault, often one of its callees': its changed steps say the failure ended, not that
one began, and are not reported.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from drain3 import TemplateMiner

from tracehound.engine.rca.logs import make_miner
from tracehound.engine.types import LogRecord, Span, TimeRange

# a code location in a log line: ``pkg.Class#123`` (logback/log4j ``%logger#%line``) or ``file.ext:123``
LOCATION = re.compile(
    r"(?<![\w$.])[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*#\d+\b"
    r"|\b[\w-]+\.(?:java|kt|scala|py|go|js|ts|rb|cs|cpp|cc|c|php|rs):\d+\b"
)


@dataclass(frozen=True, slots=True)
class FlowConfig:
    # requests of the endpoint on each side. An endpoint that carries a business flow (checkout, payment) sees a
    # few requests a minute, so a short window after the start holds only a handful; the z below already weighs
    # small samples down through its prior (every one of 16 requests before vs none of 4 after: z 4.4; all of 3
    # vs none of 3: z 2.4), so the floor only has to exclude one- or two-request "shares". 5 missed an Online
    # Boutique checkout exception (16/16 -> 0/4); 3 and 4 move no other Nezha case (docs/benchmarks.md)
    min_requests: int = 4
    prior: float = 0.5  # pseudo-count of the pooled share (keeps its variance above zero)
    recovered_z: float = 3.0  # a fall of the failing share by this many z means the endpoint recovered
    error_levels: tuple[str, ...] = ("ERROR", "FATAL", "CRITICAL")


@dataclass(frozen=True, slots=True)
class FlowChange:
    service: str
    endpoint: str
    step: str  # "span <operation>" or "log <statement>"
    before_with: int  # baseline requests of the endpoint that went through the step
    before_n: int
    after_with: int
    after_n: int
    score: float  # two-proportion z of the change in share (>= 0)

    @property
    def vanished(self) -> bool:
        return self.after_with / self.after_n < self.before_with / self.before_n


@dataclass(slots=True)
class _Shapes:
    requests: Counter[tuple[str, str]]  # (service, endpoint) -> requests
    steps: Counter[tuple[str, str, str]]  # (service, endpoint, step) -> requests that went through it
    failing: Counter[tuple[str, str]]  # (service, endpoint) -> requests with an error span or error log line


def _log_step(record: LogRecord, miner: TemplateMiner, templates: dict[int, str]) -> str:
    found = LOCATION.search(record.message)
    if found:
        return f"log {found.group(0)}"
    result = miner.add_log_message(record.message)
    cid = int(result["cluster_id"])
    templates[cid] = str(result["template_mined"])
    return f"log #{cid}"


def _shapes(
    logs: Iterable[LogRecord],
    spans: Iterable[Span],
    miner: TemplateMiner,
    templates: dict[int, str],
    config: FlowConfig,
) -> _Shapes:
    steps: dict[tuple[str, str], set[str]] = defaultdict(set)
    first: dict[tuple[str, str], tuple[datetime, str]] = {}
    failed: set[tuple[str, str]] = set()
    for s in spans:
        key = (s.trace_id, s.service)
        steps[key].add(f"span {s.operation}")
        if s.error:
            failed.add(key)
        if key not in first or s.start < first[key][0]:
            first[key] = (s.start, s.operation)
    for r in logs:
        if r.trace_id:
            key = (r.trace_id, r.service)
            steps[key].add(_log_step(r, miner, templates))
            if r.level.upper() in config.error_levels:
                failed.add(key)
    out = _Shapes(Counter(), Counter(), Counter())
    for key, visited in steps.items():
        group = (key[1], first[key][1] if key in first else "")
        out.requests[group] += 1
        out.failing[group] += key in failed
        for step in visited:
            out.steps[(*group, step)] += 1
    return out


def _z(kb: int, nb: int, ka: int, na: int, prior: float) -> float:
    """Two-proportion z of ka/na against kb/nb (signed: positive when the share rose)."""
    pooled = (kb + ka + prior) / (nb + na + 2 * prior)
    return (ka / na - kb / nb) / math.sqrt(pooled * (1 - pooled) * (1 / nb + 1 / na))


def _merged(ranges: Sequence[TimeRange]) -> list[tuple[datetime, datetime]]:
    """``ranges`` as disjoint (start, end) pairs, in order."""
    out: list[tuple[datetime, datetime]] = []
    for r in sorted(ranges, key=lambda r: r.start):
        if out and r.start <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], r.end))
        else:
            out.append((r.start, r.end))
    return out


def _logs_in(logs: Sequence[LogRecord], ranges: Sequence[TimeRange]) -> list[LogRecord]:
    return [r for lo, hi in _merged(ranges) for r in logs if lo <= r.ts < hi]


def _spans_in(spans: Sequence[Span], ranges: Sequence[TimeRange]) -> list[Span]:
    return [s for lo, hi in _merged(ranges) for s in spans if lo <= s.start < hi]


@dataclass(frozen=True, slots=True)
class FlowAnalysis:
    changes: list[FlowChange]
    # (service, span operation) seen only in requests of recovered endpoints: such an operation often gets
    # slower as it recovers (it does the whole work again instead of failing fast), which is no fault either
    recovered_ops: frozenset[tuple[str, str]]
    recovered: frozenset[tuple[str, str]]  # (service, endpoint) whose share of failing requests fell clearly


def analyze_flows(
    logs: Sequence[LogRecord],
    spans: Sequence[Span],
    *,
    baseline: Sequence[TimeRange],
    anomaly_start: datetime,
    end: datetime,
    config: FlowConfig = FlowConfig(),
) -> FlowAnalysis:
    """Every (service, endpoint, step) whose share of the endpoint's requests changed, largest change first (less
    those of endpoints that recovered), the recovered endpoints and the span operations seen only in their
    requests.

    ``baseline``: the stretches to learn the usual shapes from (the minutes before the start, and any reference
    stretch known to be healthy). Records outside them and outside ``[anomaly_start, end)`` are ignored."""
    miner = make_miner()
    templates: dict[int, str] = {}
    after = [TimeRange(anomaly_start, end)]
    before = _shapes(_logs_in(logs, baseline), _spans_in(spans, baseline), miner, templates, config)
    now = _shapes(_logs_in(logs, after), _spans_in(spans, after), miner, templates, config)
    recovered = {
        g
        for g in set(now.requests) & set(before.requests)
        if min(now.requests[g], before.requests[g]) >= config.min_requests
        and _z(before.failing[g], before.requests[g], now.failing[g], now.requests[g], config.prior)
        <= -config.recovered_z
    }
    ops: dict[tuple[str, str], bool] = {}  # (service, operation) -> only in recovered endpoints
    for service, endpoint, step in (*before.steps, *now.steps):
        if step.startswith("span "):
            key = (service, step[5:])
            ops[key] = ops.get(key, True) and (service, endpoint) in recovered
    out = []
    for service, endpoint, step in set(now.steps) | set(before.steps):
        group = (service, endpoint)
        na, nb = now.requests[group], before.requests[group]
        if na < config.min_requests or nb < config.min_requests:
            continue
        if group in recovered:
            continue  # its changes tell of a failure that ended
        kb, ka = before.steps[(service, endpoint, step)], now.steps[(service, endpoint, step)]
        # two-proportion z: a baseline of five requests is as uncertain as five requests after
        z = abs(_z(kb, nb, ka, na, config.prior))
        label = step
        if step.startswith("log #"):
            label = f"log {templates.get(int(step[5:]), step[4:])}"
        out.append(FlowChange(service, endpoint, label, kb, nb, ka, na, z))
    out.sort(key=lambda c: (-c.score, c.service, c.endpoint, c.step))
    return FlowAnalysis(out, frozenset(k for k, only in ops.items() if only), frozenset(recovered))


def without_healed_callees(
    changes: Sequence[FlowChange], recovered: Iterable[tuple[str, str]], graph: Mapping[str, Iterable[str]]
) -> list[FlowChange]:
    """``changes`` less those of the callees of a service with a recovered endpoint: once a caller stops failing
    it calls its dependencies again, and what they are asked changes with it (new paths in the callee are the
    caller's recovery, not a fault of the callee)."""
    healed = {service for service, _ in recovered}
    callees = {c for s in healed for c in graph.get(s, ())}
    return [c for c in changes if c.service not in callees]


def flow_scores(changes: Sequence[FlowChange]) -> dict[str, float]:
    """Service -> its largest change."""
    out: dict[str, float] = {}
    for c in changes:
        out[c.service] = max(out.get(c.service, 0.0), c.score)
    return {s: v for s, v in out.items() if v > 0}
