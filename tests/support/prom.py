"""Real Prometheus and Alertmanager processes on loopback ports, and Prometheus history backfilled from the
simulator (promtool ``tsdb create-blocks-from openmetrics``)."""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import free_port
from tracehound.connectors.simulator import NAMES
from tracehound.connectors.simulator.generate import metrics as sim_metrics
from tracehound.connectors.simulator.sources import SimulatorConfig, active_fault
from tracehound.engine.rca.edges import edge_of
from tracehound.engine.types import TimeRange

PREFIX = "shop_"


def binary(name: str) -> str:
    """The path of a Prometheus binary. Missing: the test fails under CI (it must run there) and skips elsewhere."""
    path = shutil.which(name)
    if path is None:
        msg = f"{name} is not installed (scripts/ensure-prometheus.sh installs Debian's prometheus packages)"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(msg)
        pytest.skip(msg)
    return path


def openmetrics(
    seed: int,
    fault: dict[str, Any] | None,
    start: datetime,
    end: datetime,
    *,
    instances: int = 1,
    services: Sequence[str] = NAMES,
    job: str = "shop",
    instrumented: bool = False,
) -> tuple[str, int]:
    """(OpenMetrics text, number of series) of the simulator's metrics as gauges named ``shop_<metric>`` with
    ``service``, ``instance`` and ``job`` labels. Instance k uses seed + k (same fault, different noise).
    ``instrumented`` adds what an instrumented service exports instead: counters ``shop_http_requests_total``,
    ``shop_http_errors_total`` and a histogram ``shop_http_request_duration_seconds`` derived from the same rates
    and latencies."""
    families: dict[str, tuple[str, list[str]]] = {}
    count = 0
    for k in range(instances):
        cfg = SimulatorConfig.model_validate({"seed": seed + k, "fault": fault})
        series = sim_metrics(cfg.seed, active_fault(cfg, end), TimeRange(start, end), list(services))
        for s in series:
            if edge_of(s) is not None:  # the mesh's per-edge view has its own generator (mesh_openmetrics)
                continue
            name = PREFIX + s.name
            lines = families.setdefault(name, ("gauge", []))[1]
            labels = f'instance="i{k}",job="{job}",service="{s.service}"'
            lines += [f"{name}{{{labels}}} {v:.6g} {t:.0f}" for t, v in zip(s.timestamps, s.values, strict=True)]
            count += 1
        if instrumented:
            count += _instrumented(families, series, f'instance="i{k}",job="{job}"')
    out: list[str] = []
    for name, (kind, lines) in families.items():
        out.append(f"# TYPE {name} {kind}")
        out += lines
    out.append("# EOF")
    return "\n".join(out) + "\n", count


BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _instrumented(families: dict[str, tuple[str, list[str]]], series: Sequence[Any], base: str) -> int:
    """Counters and a latency histogram per service (log-normal latencies fitted to the simulator's p50/p95)."""
    by = {(s.service, s.name): s for s in series}
    count = 0
    for service in sorted({s.service for s in series}):
        rate, err = by[(service, "request_rate")], by[(service, "error_rate")]
        p50, p95 = by[(service, "latency_p50_ms")], by[(service, "latency_p95_ms")]
        labels = f'{base},service="{service}"'
        requests = families.setdefault(PREFIX + "http_requests", ("counter", []))[1]
        errors = families.setdefault(PREFIX + "http_errors", ("counter", []))[1]
        hist = families.setdefault(PREFIX + "http_request_duration_seconds", ("histogram", []))[1]
        total = failed = seconds = 0.0
        cumulative = [0.0] * (len(BUCKETS) + 1)
        for i, t in enumerate(rate.timestamps):
            n = max(rate.values[i], 0.0) * 30.0  # the simulator's 30 s step
            total, failed = total + n, failed + n * err.values[i]
            mu = math.log(max(p50.values[i], 0.1) / 1000)
            sigma = max((math.log(max(p95.values[i], 0.1) / 1000) - mu) / 1.645, 0.05)
            seconds += n * math.exp(mu + sigma**2 / 2)
            for b, le in enumerate(BUCKETS):
                cumulative[b] += n * 0.5 * (1 + math.erf((math.log(le) - mu) / (sigma * math.sqrt(2))))
            cumulative[-1] += n
            requests.append(f"{PREFIX}http_requests_total{{{labels}}} {total:.3f} {t:.0f}")
            errors.append(f"{PREFIX}http_errors_total{{{labels}}} {failed:.3f} {t:.0f}")
            for le, c in zip((*(f"{b:g}" for b in BUCKETS), "+Inf"), cumulative, strict=True):
                hist.append(f'{PREFIX}http_request_duration_seconds_bucket{{{labels},le="{le}"}} {c:.3f} {t:.0f}')
            hist.append(f"{PREFIX}http_request_duration_seconds_count{{{labels}}} {total:.3f} {t:.0f}")
            hist.append(f"{PREFIX}http_request_duration_seconds_sum{{{labels}}} {seconds:.6f} {t:.0f}")
        count += 2 + len(BUCKETS) + 3
    return count


ISTIO_BUCKETS_MS = (0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)


def mesh_openmetrics(
    edges: Sequence[tuple[str, str]],
    start: datetime,
    end: datetime,
    *,
    delay_into: str,
    delay_from: datetime,
    delay_ms: float,
    job: str = "mesh",
    step: float = 30.0,
) -> str:
    """OpenMetrics families (no ``# EOF``) of Istio's ``istio_request_duration_milliseconds`` histogram for
    ``edges``, reported by both ends (``reporter="source"`` / ``"destination"``): each call takes a few ms at the
    callee; from ``delay_from`` the caller of every edge into ``delay_into`` also waits ``delay_ms`` on the wire
    (seen by the source side only, as a network delay is)."""
    name = "istio_request_duration_milliseconds"
    lines = [f"# TYPE {name} histogram"]
    n = 20.0 * step  # calls per step
    for k, (caller, callee) in enumerate(edges):
        for reporter in ("destination", "source"):
            labels = f'job="{job}",reporter="{reporter}",source_workload="{caller}",destination_workload="{callee}"'
            cumulative = [0.0] * (len(ISTIO_BUCKETS_MS) + 1)
            count = total = 0.0
            t, i = start.timestamp(), 0
            while t <= end.timestamp():
                ms = 2.0 + k % 3 + 0.4 * math.sin(i * 0.7 + k)  # at the callee
                if reporter == "source":
                    ms += 0.5 + (delay_ms if callee == delay_into and t >= delay_from.timestamp() else 0.0)
                for b, le in enumerate(ISTIO_BUCKETS_MS):
                    cumulative[b] += n if ms <= le else 0.0
                cumulative[-1] += n
                count, total = count + n, total + n * ms
                for le, v in zip((*(f"{b:g}" for b in ISTIO_BUCKETS_MS), "+Inf"), cumulative, strict=True):
                    lines.append(f'{name}_bucket{{{labels},le="{le}"}} {v:.0f} {t:.0f}')
                lines.append(f"{name}_count{{{labels}}} {count:.0f} {t:.0f}")
                lines.append(f"{name}_sum{{{labels}}} {total:.3f} {t:.0f}")
                t, i = t + step, i + 1
    return "\n".join(lines) + "\n"


def backfill(text: str, tsdb: Path) -> None:
    src = tsdb.parent / "backfill.om"
    src.write_text(text)
    tsdb.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [binary("promtool"), "tsdb", "create-blocks-from", "openmetrics", str(src), str(tsdb)],
        check=True,
        capture_output=True,
        timeout=120,
    )


@dataclass
class Daemon:
    args: list[str]
    port: int
    log_path: Path
    ready_path: str
    popen: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 30) -> Daemon:
        log = self.log_path.open("ab")
        self.popen = subprocess.Popen(self.args, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while True:
            if self.popen.poll() is not None:
                raise RuntimeError(f"{self.args[0]} exited {self.popen.returncode}:\n{self.log_tail()}")
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.args[0]} not ready in {timeout}s:\n{self.log_tail()}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.popen is not None and self.popen.poll() is None:
            self.popen.terminate()
            try:
                self.popen.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(timeout=5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


def prometheus(tmp: Path, *, scrape: Sequence[tuple[str, str]] = (), scrape_interval: str = "1s") -> Daemon:
    """A Prometheus over ``tmp/tsdb`` (backfill it first); ``scrape`` = (job, host:port) targets."""
    exe = binary("prometheus")
    lines = ["global:", f"  scrape_interval: {scrape_interval}", "  evaluation_interval: 15s", "scrape_configs:"]
    for job, target in scrape:
        lines += [f"  - job_name: {job}", "    metrics_path: /metrics"]
        lines.append(f"    static_configs: [{{targets: ['{target}']}}]")
    if not scrape:
        lines[-1] = "scrape_configs: []"
    config = tmp / "prometheus.yml"
    config.write_text("\n".join(lines) + "\n")
    port = free_port()
    return Daemon(
        [
            exe,
            f"--config.file={config}",
            f"--storage.tsdb.path={tmp / 'tsdb'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--storage.tsdb.retention.time=30d",
            "--log.level=warn",
        ],
        port,
        tmp / "prometheus.log",
        "/-/ready",
    )


def alertmanager(tmp: Path, *, webhook_url: str, token: str) -> Daemon:
    exe = binary("prometheus-alertmanager")
    config = tmp / "alertmanager.yml"
    config.write_text(
        "route:\n"
        "  receiver: tracehound\n"
        "  group_by: [alertname, service]\n"
        "  group_wait: 1s\n"
        "  group_interval: 2s\n"
        "  repeat_interval: 3s\n"
        "receivers:\n"
        "  - name: tracehound\n"
        "    webhook_configs:\n"
        f"      - url: {webhook_url}\n"
        "        send_resolved: true\n"
        "        http_config:\n"
        "          authorization:\n"
        "            type: Bearer\n"
        f"            credentials: {token}\n"
    )
    port = free_port()
    (tmp / "am-data").mkdir(exist_ok=True)
    return Daemon(
        [
            exe,
            f"--config.file={config}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
            "--log.level=warn",
        ],
        port,
        tmp / "alertmanager.log",
        "/-/ready",
    )


def post_alerts(am: Daemon, alerts: list[dict[str, Any]]) -> None:
    r = httpx.post(f"{am.url}/api/v2/alerts", json=alerts, timeout=10)
    assert r.status_code == 200, r.text


def iso(t: datetime) -> str:
    return t.isoformat().replace("+00:00", "Z")


def minutes_ago(now: datetime, m: float) -> datetime:
    return now - timedelta(minutes=m)
