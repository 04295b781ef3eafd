"""The full Nezha bench (101 cases), run once per test session.

Runs when ``../shared/datasets/nezha`` exists next to the repository; skips with the reason otherwise.
Accuracy figures are benchmarked in docs/benchmarks.md; the gate here is that the engine beats the z-score
baseline computed in the same run, overall and on every system and fault family (AC@1).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tracehound.engine.rca.evaluation import evaluate
from tracehound.evals import bench

DATASET = Path(__file__).parents[2].parent / "shared/datasets/nezha"

pytestmark = [
    pytest.mark.dataset,
    pytest.mark.slow,
    pytest.mark.timeout(900),
    pytest.mark.skipif(not (DATASET / "rca_data").is_dir(), reason=f"Nezha dataset not found at {DATASET}"),
]


@pytest.fixture(scope="module")
def result() -> bench.BenchResult:
    return bench.run(bench.load_cases(DATASET, "nezha"), jobs=2)


def test_every_case_is_investigated_and_ranked(result: bench.BenchResult) -> None:
    assert len(result.cases) == 101
    assert not [c.case_id for c in result.cases if c.error]
    assert all(c.ranking and c.baseline_ranking for c in result.cases)
    assert {c.system for c in result.cases} == {"OnlineBoutique", "TrainTicket"}


def test_engine_beats_zscore_baseline_on_nezha(result: bench.BenchResult) -> None:
    engine = evaluate([(c.ranking, c.truth) for c in result.cases])
    baseline = evaluate([(c.baseline_ranking, c.truth) for c in result.cases])
    assert engine.ac[1] > baseline.ac[1], bench.markdown_table(result)


def test_engine_beats_zscore_baseline_on_every_system_and_family(result: bench.BenchResult) -> None:
    for system, group, rows in bench.groups(result.cases):
        if system == "ALL" or (not group.startswith("family:") and group != "all"):
            continue
        engine = evaluate([(c.ranking, c.truth) for c in rows]).ac[1]
        baseline = evaluate([(c.baseline_ranking, c.truth) for c in rows]).ac[1]
        assert engine > baseline, (system, group, engine, baseline)
