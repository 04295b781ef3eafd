"""A few real Nezha cases shipped as fixtures (tests/fixtures/nezha, MIT): the engine's top-1 must be the culprit."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tracehound.cli.bench import bench_app
from tracehound.engine.ports import Sources
from tracehound.evals import bench

FIXTURE = Path(__file__).parents[1] / "fixtures" / "nezha"
CASES = {c.case_id: c for c in bench.load_cases(FIXTURE, "nezha")}


@pytest.mark.parametrize("case_id", sorted(CASES))
def test_top1_is_the_injected_service(case_id: str) -> None:
    case = CASES[case_id]
    result = asyncio.run(bench.run_case(case))
    assert result.error is None
    assert result.ranking[:1] == [case.truth], result


def test_cases_run_in_worker_processes_give_the_serial_results() -> None:
    cases = [CASES[k] for k in sorted(CASES)]
    serial = bench.run(cases, jobs=1)
    seen: list[str] = []
    parallel = bench.run(cases, jobs=2, on_case=lambda r: seen.append(r.case_id))
    assert sorted(seen) == sorted(CASES)  # progress reported once per case, as each finishes
    assert [(c.case_id, c.ranking, c.baseline_ranking, c.error) for c in parallel.cases] == [
        (c.case_id, c.ranking, c.baseline_ranking, c.error) for c in serial.cases
    ]
    # the workers' peaks are added to this process's own
    assert parallel.peak_rss_mb > serial.peak_rss_mb
    assert (serial.processes, parallel.processes) == (1, 2)
    assert bench.summary(parallel)["processes"] == 2


def _sources_that_fail(folder: Path, n: int) -> Sources:
    (folder / f"started-{n}").touch()
    if n > 0:
        time.sleep(0.3)
    raise RuntimeError(f"case {n} cannot read its data")


def test_a_failing_case_stops_the_workers_without_running_the_queued_cases(tmp_path: Path) -> None:
    t = datetime(2024, 5, 1, 12, tzinfo=UTC)
    cases = [
        bench.Case(f"c{n}", "sys", "cpu", "svc", t, t, partial(_sources_that_fail, tmp_path, n)) for n in range(20)
    ]
    with pytest.raises(RuntimeError, match="cannot read its data"):
        bench.run(cases, jobs=2)
    started = len(list(tmp_path.glob("started-*")))
    # the cases already handed to a worker may start; the other 15 or so are cancelled
    assert 1 <= started <= 6, started


def test_bench_cli_json_on_fixture() -> None:
    out = CliRunner().invoke(bench_app, [str(FIXTURE), "--json"])
    assert out.exit_code == 0, out.output
    doc = orjson.loads(out.stdout)
    assert {c["case_id"] for c in doc["cases"]} == set(CASES)
    first = doc["cases"][0]
    assert set(first) >= {"case_id", "system", "fault_type", "truth", "ranking", "baseline_ranking", "seconds"}
    overall = next(g for g in doc["summary"]["groups"] if g["system"] == "ALL" and g["group"] == "all")
    assert overall["cases"] == len(CASES) and 0.0 <= overall["engine"]["AC@1"] <= 1.0


def test_bench_cli_rejects_missing_dir(tmp_path: Path) -> None:
    out = CliRunner().invoke(bench_app, [str(tmp_path / "nope")])
    assert out.exit_code == 2
