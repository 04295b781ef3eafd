"""``python -m bench [--quick] [--only NAME]``: run the benchmarks, print a table, write results/latest.json."""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.report import Row, table

RESULTS = Path(__file__).parent / "results" / "latest.json"
Bench = Callable[[bool], tuple[list[Row], dict[str, Any]]]


def _get(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    from bench.http_bench import bench_get

    rows, details = bench_get("sqlite", duration=5 if quick else 10)
    pg_rows, pg_details = bench_get("postgresql", duration=5 if quick else 10)
    return rows + pg_rows, {"sqlite": details, "postgresql": pg_details}


def _create(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    from bench.http_bench import bench_create

    rows, details = bench_create("sqlite", duration=5 if quick else 10)
    pg_rows, pg_details = bench_create("postgresql", duration=5 if quick else 10)
    return rows + pg_rows, {"sqlite": details, "postgresql": pg_details}


def _demo(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    from bench.demo_latency import bench_demo_latency

    return bench_demo_latency(n=5 if quick else 10)


def _list(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    from bench.list_1m import bench_list

    return bench_list(rows=100_000 if quick else 1_000_000, samples=30 if quick else 50)


def _prometheus(quick: bool) -> tuple[list[Row], dict[str, Any]]:
    from bench.prometheus_500 import bench_prometheus

    return bench_prometheus(runs=3 if quick else 7)


BENCHES: dict[str, Bench] = {
    "get": _get,
    "create": _create,
    "demo_latency": _demo,
    "list_1m": _list,
    "prometheus_500": _prometheus,
}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    ap.add_argument("--quick", action="store_true", help="shorter runs; list_1m uses 100,000 rows")
    ap.add_argument("--only", choices=sorted(BENCHES), action="append", help="run only this benchmark (repeatable)")
    args = ap.parse_args(argv)
    names = args.only or list(BENCHES)
    rows: list[Row] = []
    details: dict[str, Any] = {}
    for name in names:
        t0 = time.monotonic()
        print(f"== {name} ...", file=sys.stderr, flush=True)
        bench_rows, details[name] = BENCHES[name](args.quick)
        details[name]["wall_seconds"] = round(time.monotonic() - t0, 1)
        rows += bench_rows
        print(table(bench_rows), file=sys.stderr, flush=True)
    print(table(rows))
    out = {
        "command": " ".join(["python -m bench", *(argv if argv is not None else sys.argv[1:])]),
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(), "platform": platform.platform()},
        "quick": args.quick,
        "rows": [r.to_dict() for r in rows],
        "details": details,
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, indent=1) + "\n")
    print(f"\nwrote {RESULTS}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
