"""Load from ``wrk`` (Debian package ``wrk``, C, multi-threaded): the generator of choice on a 2-core machine,
where a Python generator would take as much CPU as the server it measures. ``scripts/ensure-bench-tools.sh``
installs it; without it the benchmarks fall back to ``bench/load.py``."""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from bench.load import Latency, LoadResult

# wrk's Lua hooks: the request (method, headers, body) and a JSON summary at the end. Latencies in microseconds.
_SCRIPT = """
wrk.method = %(method)s
wrk.body = %(body)s
%(headers)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '{"requests":%%d,"duration_us":%%d,"status_errors":%%d,"socket_errors":%%d,'
    .. '"p50":%%d,"p90":%%d,"p99":%%d,"max":%%d,"mean":%%f}\\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean))
end
"""


def available() -> bool:
    return shutil.which("wrk") is not None


def _lua(value: str | None) -> str:
    return "nil" if value is None else json.dumps(value)  # a JSON string literal is a valid Lua string literal


def run_wrk(
    url: str,
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    body: str | None = None,
    concurrency: int = 64,
    duration: float = 10.0,
    threads: int = 1,
) -> LoadResult:
    """``concurrency`` keep-alive connections in a closed loop for ``duration`` seconds. Non-2xx/3xx answers
    and socket errors count as errors."""
    header_lines = "\n".join(f"wrk.headers[{_lua(k)}] = {_lua(v)}" for k, v in (headers or {}).items())
    script = _SCRIPT % {"method": _lua(method), "body": _lua(body), "headers": header_lines}
    with tempfile.TemporaryDirectory(prefix="th-wrk-") as d:
        path = Path(d) / "load.lua"
        path.write_text(script)
        done = subprocess.run(
            # --timeout: wrk's default (2 s) would count the slow tail as errors and leave it out of the latencies
            [
                "wrk",
                f"-t{threads}",
                f"-c{concurrency}",
                f"-d{max(1, round(duration))}s",
                "--timeout",
                "30s",
                "-s",
                str(path),
                url,
            ],
            capture_output=True,
            text=True,
            check=True,
            timeout=duration + 60,
        )
    summary = json.loads(done.stdout.strip().splitlines()[-1])
    seconds = summary["duration_us"] / 1e6
    errors = summary["status_errors"] + summary["socket_errors"]
    ok = summary["requests"] - summary["status_errors"]
    latency = Latency(
        n=summary["requests"],
        p50_ms=round(summary["p50"] / 1000, 2),
        p90_ms=round(summary["p90"] / 1000, 2),
        p99_ms=round(summary["p99"] / 1000, 2),
        max_ms=round(summary["max"] / 1000, 2),
        mean_ms=round(summary["mean"] / 1000, 2),
    )
    return LoadResult(
        requests=ok,
        errors=errors,
        seconds=round(seconds, 2),
        rps=round(ok / seconds, 1) if seconds > 0 else 0.0,
        latency=latency,
        first_error=f"{errors} non-2xx or socket errors" if errors else None,
    )
