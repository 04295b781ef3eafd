from datetime import UTC, datetime, timedelta

from tracehound.engine.rca.evaluation import evaluate
from tracehound.engine.rca.graph import propagate_blame
from tracehound.engine.rca.robust import robust_scores
from tracehound.engine.types import Series, TimeRange

T0 = datetime(2024, 1, 1, tzinfo=UTC)


def test_ac_at_k() -> None:
    acc = evaluate([(["a", "b"], "a"), (["b", "a"], "a")])
    assert acc.ac[1] == 0.5
    assert acc.ac[2] == 1.0
    assert acc.avg5 == 0.9


def test_robust_scorer_guards_flat_baseline() -> None:
    ts = tuple(float((T0 + timedelta(minutes=i)).timestamp()) for i in range(20))
    flat = Series("error_rate", "a", ts, (0.0,) * 10 + (1.0,) * 10)
    [score] = robust_scores(
        [flat], baseline=TimeRange(T0, T0 + timedelta(minutes=10)), anomaly_start=T0 + timedelta(minutes=10),
        end=T0 + timedelta(minutes=20),
    )  # fmt: skip
    assert score.score == 50.0
    assert score.direction == 1


def test_blame_moves_downstream() -> None:
    ranking = propagate_blame({"front": 1.0, "mid": 0.9, "db": 0.8}, {"front": {"mid"}, "mid": {"db"}})
    assert max(ranking.scores, key=lambda s: ranking.scores[s]) == "db"
    assert ranking.explained_by["front"] == "db"
