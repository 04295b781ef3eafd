"""The full Nezha bench (101 cases), run once per test session.

Runs when ``../shared/datasets/nezha`` exists next to the repository; skips with the reason otherwise.
Accuracy figures are benchmarked in docs/benchmarks.md. The accuracy gate (beat the z-score baseline on AC@1) is
a known open gap of issue 4: it is marked strict xfail, so the suite fails the day it starts passing and the
marker must be removed.
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
    return bench.run(bench.load_cases(DATASET, "nezha"))


def test_every_case_is_investigated_and_ranked(result: bench.BenchResult) -> None:
    assert len(result.cases) == 101
    assert not [c.case_id for c in result.cases if c.error]
    assert all(c.ranking and c.baseline_ranking for c in result.cases)
    assert {c.system for c in result.cases} == {"OnlineBoutique", "TrainTicket"}


@pytest.mark.xfail(strict=True, reason="issue 4 open: the engine does not yet beat the z-score baseline on Nezha")
def test_engine_beats_zscore_baseline_on_nezha(result: bench.BenchResult) -> None:
    engine = evaluate([(c.ranking, c.truth) for c in result.cases])
    baseline = evaluate([(c.baseline_ranking, c.truth) for c in result.cases])
    assert engine.ac[1] > baseline.ac[1], bench.markdown_table(result)
