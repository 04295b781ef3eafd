"""AC@k and Avg@k, the usual RCA accuracy metrics (e.g. RCAEval, Pham et al. 2025; Nezha, Yu et al. FSE 2023).

AC@k: share of cases whose true root cause is among the top k of the ranking. Avg@k: mean of AC@1..AC@k.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Accuracy:
    cases: int
    ac: dict[int, float]  # k -> AC@k
    avg5: float


def ac_at_k(cases: Sequence[tuple[Sequence[str], str]], k: int) -> float:
    if not cases:
        return 0.0
    return sum(1 for ranking, truth in cases if truth in list(ranking)[:k]) / len(cases)


def evaluate(cases: Sequence[tuple[Sequence[str], str]], *, max_k: int = 5) -> Accuracy:
    ac = {k: ac_at_k(cases, k) for k in range(1, max_k + 1)}
    return Accuracy(len(cases), ac, sum(ac.values()) / max_k if max_k else 0.0)
