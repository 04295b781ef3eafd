"""A stated incident time may be late (an alert fires after its ``for:`` duration; people notice after a while):
the engine finds the real start before it, but not an earlier episode that had already ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.investigate import investigate
from tracehound.engine.types import Incident

CREATED = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)


def _sources(start: datetime, minutes: int, service: str = "payment", fault_type: str = "errors") -> object:
    fault = {"service": service, "type": fault_type, "start": start.isoformat(), "duration_minutes": minutes}
    return build_simulator_sources(SimulatorConfig.model_validate({"fault": fault}), anchor=CREATED)


@pytest.mark.parametrize("late_by", [6, 10, 15])
@pytest.mark.parametrize(("service", "fault_type"), [("payment", "errors"), ("postgres", "latency"), ("user", "cpu")])
async def test_a_late_stated_time_still_finds_the_fault_and_its_real_start(
    late_by: int, service: str, fault_type: str
) -> None:
    began = CREATED - timedelta(minutes=25)
    stated = began + timedelta(minutes=late_by)
    incident = Incident(f"Alert firing: {service} unhealthy", CREATED, time=stated)
    report = await investigate(incident, _sources(began, 60, service, fault_type))  # type: ignore[arg-type]
    assert report.root_cause == service
    assert report.anomaly_start is not None
    assert abs(report.anomaly_start - began) <= timedelta(minutes=2)


async def test_an_episode_that_ended_before_the_stated_time_does_not_move_the_start() -> None:
    began = CREATED - timedelta(minutes=30)
    stated = CREATED - timedelta(minutes=10)  # the first fault ended 15 minutes before this
    incident = Incident("checkout is slow", CREATED, time=stated)
    report = await investigate(incident, _sources(began, 5))  # type: ignore[arg-type]
    assert report.anomaly_start is not None
    assert report.anomaly_start >= stated - timedelta(minutes=3)
