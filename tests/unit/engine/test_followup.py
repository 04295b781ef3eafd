from datetime import UTC, datetime

from tracehound.engine.followup import answer_follow_up
from tracehound.engine.ports import Sources
from tracehound.engine.report import Report

from .conftest import INCIDENT

NOW = datetime(2024, 10, 25, 15, 5, tzinfo=UTC)


async def _ask(q: str, ctx: tuple[Report, Sources]) -> str:
    report, sources = ctx
    answer = await answer_follow_up(q, incident=INCIDENT, report=report, history=[], sources=sources, now=NOW)
    return answer.markdown


async def test_why_not(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("why not checkout?", payment_errors)
    assert "Why not `checkout`" in md
    assert "victim of downstream payment" in md


async def test_show_errors(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("show the errors of payment", payment_errors)
    assert "| ERROR |" in md
    assert "internal error" in md


async def test_what_changed(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("what changed before 14:50?", payment_errors)
    assert "Changes in the 2 hours before 2024-10-25 14:50 UTC" in md


async def test_zoom(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("zoom in on 14:52-14:58", payment_errors)
    assert "14:52-14:58" in md
    assert "1. `payment`" in md


async def test_impact(payment_errors: tuple[Report, Sources]) -> None:
    assert "frontend" in await _ask("what is the impact?", payment_errors)


async def test_search_found_and_missing(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("check whether the database connection pool was exhausted", payment_errors)
    assert "db_pool_connections_in_use" in md
    md = await _ask("check whether the kafka brokers were rebalancing", payment_errors)
    assert "Nothing matching exists" in md


async def test_fallback(payment_errors: tuple[Report, Sources]) -> None:
    md = await _ask("hello?", payment_errors)
    assert "`payment`" in md
    assert "You can ask" in md
