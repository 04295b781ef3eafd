"""The full Nezha bench (101 cases): the engine must beat the z-score baseline on AC@1 overall.

Runs when ``../shared/datasets/nezha`` exists next to the repository; skips with the reason otherwise.
Accuracy targets are benchmarked (docs/benchmarks.md), not asserted here.
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


def test_engine_beats_zscore_baseline_on_nezha() -> None:
    cases = bench.load_cases(DATASET, "nezha")
    assert len(cases) == 101
    result = bench.run(cases)
    assert not [c for c in result.cases if c.error]
    engine = evaluate([(c.ranking, c.truth) for c in result.cases])
    baseline = evaluate([(c.baseline_ranking, c.truth) for c in result.cases])
    assert engine.ac[1] > baseline.ac[1], bench.markdown_table(result)
