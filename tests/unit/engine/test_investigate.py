import re

import pytest

from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.rca.evaluation import evaluate
from tracehound.engine.rca.robust import ANOMALOUS
from tracehound.engine.report import Report
from tracehound.engine.types import ProgressEvent

from .conftest import INCIDENT, sim

CASES = [
    ("errors", "payment"), ("errors", "redis"), ("errors", "catalog"),
    ("latency", "postgres"), ("latency", "shipping"), ("latency", "cart"),
    ("cpu", "recommendation"), ("cpu", "user"), ("cpu", "api-gateway"),
    ("memory", "cart"), ("memory", "catalog"), ("memory", "payment"),
    ("bad_deploy", "checkout"), ("bad_deploy", "user"), ("bad_deploy", "shipping"),
    ("db_pool", "checkout"), ("db_pool", "inventory"), ("db_pool", "user"),
    ("network", "inventory"), ("network", "redis"), ("network", "payment"),
]  # fmt: skip
RESULTS: list[tuple[list[str], str]] = []


@pytest.mark.parametrize(("fault_type", "service"), CASES)
async def test_injected_fault_is_ranked_first(fault_type: str, service: str) -> None:
    report = await investigate(INCIDENT, sim(service, fault_type))
    RESULTS.append(([c.service for c in report.candidates], service))
    assert report.root_cause == service
    assert report.fault_type == fault_type
    assert report.anomaly_start is not None


def test_simulator_accuracy_is_perfect() -> None:
    acc = evaluate(RESULTS)
    print(f"simulator AC@1={acc.ac[1]:.2%} Avg@5={acc.avg5:.2f} over {acc.cases} cases")
    assert acc.cases == len(CASES)
    assert acc.ac[1] == 1.0


async def test_report_has_evidence_timeline_and_high_confidence(
    payment_errors: tuple[Report, Sources],
) -> None:
    report, _ = payment_errors
    assert report.confidence == "High"
    assert {e.kind for e in report.evidence} >= {"metric", "log", "trace"}
    assert any("anomaly starts" in t.text for t in report.timeline)
    assert "frontend" in report.impact
    assert report.usage["queries"] == 4
    assert report.usage["spans"] > 0


@pytest.mark.parametrize(("fault_type", "service"), CASES)
async def test_evidence_cites_only_changes_outside_the_normal_range(fault_type: str, service: str) -> None:
    """A metric is cited when it moved at least ANOMALOUS robust units (follow-ups call less "within its normal
    range"), a call edge when its errors, p95 or gap changed; a candidate's metric reasons likewise."""
    report = await investigate(INCIDENT, sim(service, fault_type))
    metrics = [e for e in report.evidence if e.kind == "metric"]
    for e in metrics:
        units = float(re.search(r"\(([\d.]+) robust units\)", e.summary).group(1))  # type: ignore[union-attr]
        assert units >= ANOMALOUS, e.summary
    for c in report.candidates:
        for reason in c.reasons:
            found = re.fullmatch(r"\S+ (?:up|down) ([\d.]+) robust units", reason)
            assert found is None or float(found.group(1)) >= ANOMALOUS, (c.service, reason)
    for e in (e for e in report.evidence if e.kind == "trace"):
        c = e.citation
        more_errors = float(c["error_after"]) - float(c["error_before"]) >= 0.01
        slower = float(c["p95_after"]) >= 1.5 * float(c["p95_before"])
        wider_gap = float(c["gap_score"]) >= ANOMALOUS
        assert more_errors or slower or wider_gap, e.summary
        assert wider_gap == ("time between caller and callee" in e.summary), e.summary


async def test_failing_source_is_reported_and_lowers_confidence() -> None:
    report = await investigate(INCIDENT, sim("payment", "errors", fail=["traces"]))
    assert report.root_cause == "payment"
    assert [f.source for f in report.source_failures] == ["traces:simulator"]
    assert report.confidence != "High"
    md = report.to_markdown()
    assert "**Failed:** `traces:simulator`" in md
    assert "configured to fail" in md


async def test_empty_sources_give_no_telemetry_report() -> None:
    report = await investigate(INCIDENT, Sources())
    assert report.confidence == "Low"
    assert report.candidates == ()
    assert "No telemetry is connected" in report.summary
    assert "tracehound source add" in report.to_markdown()


async def test_progress_events_are_emitted() -> None:
    events: list[ProgressEvent] = []
    await investigate(INCIDENT, sim("redis", "latency"), progress=events.append)
    kinds = {(e.kind, e.step) for e in events}
    assert ("step.started", "collect") in kinds
    assert ("step.completed", "analyse") in kinds
    assert any(e.kind == "evidence.found" for e in events)


async def test_no_fault_gives_no_confident_root_cause() -> None:
    from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources

    from .conftest import CREATED

    report = await investigate(INCIDENT, build_simulator_sources(SimulatorConfig(), anchor=CREATED))
    assert report.confidence != "High"
