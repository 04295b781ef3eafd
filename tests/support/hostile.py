"""A small telemetry dataset (the generic file layout) whose service names, log lines and deploy notes are
hostile HTML and Markdown: it drives engine-written text (root cause, evidence, timeline, charts, call graph)
through the UI's escaping and sanitising."""

from __future__ import annotations

import csv
import json
import math
from datetime import UTC, datetime, timedelta
from pathlib import Path

EVIL_SERVICE = "pay<img src=x onerror=alert('svc')>"
EVIL_LOG = "charge failed <script>alert('log')</script> <img src=x onerror=alert('log-img')>"
EVIL_CHANGE = "deployed v2 [release notes](javascript:alert('change')) <svg onload=alert('chg')>"
START = datetime(2024, 3, 15, 10, 0, tzinfo=UTC)
FAULT = START + timedelta(minutes=40)
INCIDENT_TIME = START + timedelta(minutes=45)


def write_dataset(folder: Path) -> Path:
    """Writes one hour of telemetry into ``folder``: the hostile service starts failing at 10:40 UTC."""
    folder.mkdir(parents=True, exist_ok=True)
    services = ["frontend", "checkout", EVIL_SERVICE]
    with (folder / "metrics.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "service", "metric", "value"])
        for i in range(0, 3600, 30):
            ts = START + timedelta(seconds=i)
            broken = ts >= FAULT
            for n, service in enumerate(services):
                wobble = 0.002 * math.sin(i / 97 + n)
                error = (0.4 if service == EVIL_SERVICE else 0.1 * n) if broken else 0.01 + wobble
                out.writerow([ts.isoformat(), service, "error_rate", f"{error:.5f}"])
                out.writerow([ts.isoformat(), service, "latency_ms", f"{50 + 5 * math.sin(i / 53 + n):.2f}"])
    with (folder / "logs.csv").open("w", newline="") as fh:
        out = csv.writer(fh)
        out.writerow(["timestamp", "service", "message", "level"])
        for i in range(0, 3600, 20):
            ts = START + timedelta(seconds=i)
            out.writerow([ts.isoformat(), "frontend", f"served request id={i}", "INFO"])
            if ts >= FAULT:
                out.writerow([ts.isoformat(), EVIL_SERVICE, f"{EVIL_LOG} code={i % 7}", "ERROR"])
    changes = [
        {
            "ts": (FAULT - timedelta(minutes=3)).isoformat(),
            "service": EVIL_SERVICE,
            "kind": "deploy",
            "description": EVIL_CHANGE,
        }
    ]
    (folder / "changes.json").write_text(json.dumps(changes))
    (folder / "call_graph.json").write_text(
        json.dumps([{"caller": "frontend", "callee": "checkout"}, {"caller": "checkout", "callee": EVIL_SERVICE}])
    )
    return folder
