"""A few real Nezha cases shipped as fixtures (tests/fixtures/nezha, MIT): the engine's top-1 must be the culprit."""

from __future__ import annotations

import asyncio
from pathlib import Path

import orjson
import pytest
from typer.testing import CliRunner

from tracehound.cli.bench import bench_app
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
