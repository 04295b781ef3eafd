"""Every documented follow-up intent, deterministic (no language model), on the simulator's faults."""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pytest

from tracehound.engine.followup import answer_follow_up
from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.report import Report
from tracehound.engine.types import Series, TimeRange

from .conftest import CREATED, INCIDENT, sim

NOW = datetime(2024, 10, 25, 15, 5, tzinfo=UTC)
Case = tuple[Report, Sources]


@pytest.fixture(scope="session")
async def pool_exhausted() -> Case:
    sources = sim("checkout", "db_pool")
    return await investigate(INCIDENT, sources), sources


@pytest.fixture(scope="session")
async def bad_deploy() -> Case:
    sources = sim("checkout", "bad_deploy")
    return await investigate(INCIDENT, sources), sources


async def _ask(q: str, case: Case, *, history: Sequence[str] = (), sources: Sources | None = None) -> str:
    report, default = case
    turns = [("user", INCIDENT.text), ("assistant", "report")]
    for earlier in history:
        turns += [("user", earlier), ("assistant", "an answer")]
    turns.append(("user", q))
    src = default if sources is None else sources
    answer = await answer_follow_up(q, incident=INCIDENT, report=report, history=turns, sources=src, now=NOW)
    return answer.markdown


async def test_why_not_a_victim(payment_errors: Case) -> None:
    md = await _ask("why not checkout?", payment_errors)
    assert "Why not `checkout`" in md
    assert "victim of downstream payment" in md
    assert "no language model is configured" in md


async def test_why_not_the_root_cause_itself(payment_errors: Case) -> None:
    assert "`payment` *is* the most likely root cause" in await _ask("why payment?", payment_errors)


async def test_why_not_the_database_rereads_its_metrics(payment_errors: Case) -> None:
    md = await _ask("why not the database?", payment_errors)
    assert "Why not `postgres`" in md
    assert "Its strongest metric change after 14:50 UTC" in md
    assert "within its normal range" in md


async def test_why_not_an_unknown_service_lists_the_known_ones(payment_errors: Case) -> None:
    md = await _ask("why not kafka?", payment_errors)
    assert "No connected source knows a service called `kafka`" in md
    assert "`redis`" in md


async def test_show_errors(payment_errors: Case) -> None:
    md = await _ask("show the errors of payment", payment_errors)
    assert "| ERROR |" in md
    assert "internal error" in md


async def test_and_the_logs_refers_to_the_service_of_the_previous_question(pool_exhausted: Case) -> None:
    md = await _ask("and the logs?", pool_exhausted, history=["why not cart?"])
    assert "Error and warning logs of `cart`" in md
    assert "service from the previous question" in md
    md = await _ask("and inventory?", pool_exhausted, history=["why not cart?", "and the logs?"])
    assert "Error and warning logs of `inventory`" in md


async def test_logs_in_a_time_range(pool_exhausted: Case) -> None:
    md = await _ask("show the logs of checkout between 14:52 and 14:58", pool_exhausted)
    assert "Error and warning logs of `checkout` between 14:52 and 14:58 UTC" in md
    assert "could not acquire database connection" in md


async def test_what_changed_finds_the_deploy_before_the_anomaly(bad_deploy: Case) -> None:
    md = await _ask("what changed before 14:55?", bad_deploy)
    assert "Changes from 2024-10-25 12:55 to 14:55 UTC" in md
    assert "`checkout` deploy" in md
    assert "before the anomaly start on the suspected root cause" in md


async def test_what_changed_when_nothing_did(payment_errors: Case) -> None:
    md = await _ask("what changed before 14:50?", payment_errors)
    assert "Changes from 2024-10-25 12:50 to 14:50 UTC" in md
    assert "No changes recorded" in md


async def test_zoom(payment_errors: Case) -> None:
    md = await _ask("zoom in on 14:52-14:58", payment_errors)
    assert "14:52-14:58" in md
    assert "1. `payment`" in md
    assert "ERROR lines in the range, per service" in md


async def test_impact_rereads_the_entry_services(payment_errors: Case) -> None:
    md = await _ask("what is the impact?", payment_errors)
    assert "Since 2024-10-25 14:50 UTC" in md
    assert "| `frontend` | `error_rate` |" in md


async def test_pool_exhausted_is_yes_with_metric_and_log_evidence(pool_exhausted: Case) -> None:
    md = await _ask("check whether the database connection pool was exhausted", pool_exhausted)
    assert "exhausted? **Yes**" in md
    assert 'db_pool_connections_in_use{service="checkout"}' in md
    assert "sat flat at 20" in md
    assert "could not acquire database connection" in md and "a surge" in md
    assert "This agrees with the report" in md


async def test_pool_not_exhausted_is_no(payment_errors: Case) -> None:
    md = await _ask("was the connection pool exhausted?", payment_errors)
    assert "exhausted? **No**" in md
    assert "show no saturation" in md


async def test_pool_without_pool_metrics_is_unknown(payment_errors: Case) -> None:
    md = await _ask("was the connection pool exhausted?", payment_errors, sources=Sources(logs=payment_errors[1].logs))
    assert "exhausted? **Unknown**" in md
    assert "no connection-pool metrics" in md


async def test_pool_from_the_stored_evidence_in_fast_mode(pool_exhausted: Case, payment_errors: Case) -> None:
    md = await _ask("was the connection pool exhausted?", pool_exhausted, sources=Sources())
    assert "exhausted? **Yes**" in md and "stored evidence" in md
    md = await _ask("was the connection pool exhausted?", payment_errors, sources=Sources())
    assert "exhausted? **Unknown**" in md and "fast mode" in md


@dataclass
class _PoolMetrics:
    """A pool that reaches the size its own limit series reports (HikariCP-style names)."""

    name = "fake"

    async def services(self) -> Sequence[str]:
        return ["orders"]

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        start = int(window.start.timestamp())
        ts = tuple(float(t) for t in range(start, int(window.end.timestamp()), 60))
        split = (CREATED - timedelta(minutes=10)).timestamp()
        active = tuple(50.0 if t >= split else 8.0 + (i % 3) for i, t in enumerate(ts))
        return [
            Series("hikaricp_connections_active", "orders", ts, active),
            Series("hikaricp_connections_max", "orders", ts, tuple(50.0 for _ in ts)),
        ]


async def test_pool_reaching_its_limit_series_is_yes(payment_errors: Case) -> None:
    md = await _ask("check the connection pool of orders", payment_errors, sources=Sources(metrics=_PoolMetrics()))
    assert "pool of `orders` exhausted? **Yes**" in md
    assert "of its limit 50 (`hikaricp_connections_max`)" in md
    assert "The report ranks `payment` first" in md


class _Broken:
    name = "broken"

    async def services(self) -> Sequence[str]:
        raise RuntimeError("connection refused")

    async def query(self, window: TimeRange, *, services: Sequence[str] | None = None) -> Sequence[Series]:
        raise RuntimeError("connection refused")


async def test_a_failing_source_is_reported(payment_errors: Case) -> None:
    md = await _ask("was the connection pool exhausted?", payment_errors, sources=Sources(metrics=_Broken()))
    assert "I could not answer that: the metrics source failed: connection refused" in md


async def test_the_impact_survives_a_failing_source(payment_errors: Case) -> None:
    md = await _ask("what is the impact?", payment_errors, sources=Sources(metrics=_Broken()))
    assert "User-facing impact at frontend" in md
    assert "Not re-read: the metrics source failed: connection refused" in md


async def test_search_found_and_missing(payment_errors: Case) -> None:
    md = await _ask("check whether there were timeouts", payment_errors)
    assert "log line(s) match" in md
    md = await _ask("check whether the kafka brokers were rebalancing", payment_errors)
    assert "Nothing matching exists" in md


async def test_root_cause_summary(pool_exhausted: Case) -> None:
    md = await _ask("what is the root cause?", pool_exhausted)
    assert "most likely root cause is `checkout` (database connection pool exhaustion)" in md
    assert "**Next steps:**" in md


async def test_unknown_question_says_what_can_be_asked(payment_errors: Case) -> None:
    md = await _ask("hello?", payment_errors)
    assert "I cannot answer that question" in md
    assert "`payment`" in md
    assert "You can ask" in md and "*what is the impact?*" in md
