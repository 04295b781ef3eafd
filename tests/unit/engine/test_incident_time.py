"""A stated incident time may be late (an alert fires after its ``for:`` duration; people notice after a while):
the engine finds the real start before it, but not an earlier episode that had already ended."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.investigate import investigate
from tracehound.engine.scoring import CollectedData, InvestigationConfig, _start
from tracehound.engine.types import Incident, Series, TimeRange

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


def _synthetic(t: datetime, shifts: dict[str, timedelta]) -> list[Series]:
    """30 noisy series (60 min before ``t`` to 10 min after, one sample a minute); the services named in
    ``shifts`` (three series each) rise by 8 units from ``t + offset`` on and stay raised."""
    rng = np.random.default_rng(7)
    ts = np.arange((t - timedelta(minutes=60)).timestamp(), (t + timedelta(minutes=10)).timestamp(), 60.0)
    out = []
    for i in range(30):
        service = f"svc{i // 3}"
        values = 10.0 + rng.normal(0.0, 1.0, len(ts))
        if service in shifts:
            values[ts >= (t + shifts[service]).timestamp()] += 8.0
        out.append(Series(f"m{i % 3}", service, tuple(float(x) for x in ts), tuple(float(v) for v in values)))
    return out


def _start_of(series: list[Series], t: datetime) -> datetime:
    window = TimeRange(t - timedelta(minutes=60), t + timedelta(minutes=10))
    cp = _start(CollectedData(series=series), window, t, InvestigationConfig(), explicit=True, step=60.0)
    return cp.start


def test_an_earlier_fault_still_going_on_does_not_move_a_new_faults_stated_start() -> None:
    """svc1 and svc2 went wrong 10 minutes before and have not recovered; svc4 goes wrong at the stated time:
    it started when stated. The earlier fault fills the most deviating fifth of the series, so the aggregated
    anomaly signal does not move at the stated time; only the series-by-series check sees the new fault."""
    t = datetime(2024, 10, 25, 14, 30, tzinfo=UTC)
    earlier = {"svc1": timedelta(minutes=-10), "svc2": timedelta(minutes=-10)}
    both = _synthetic(t, {**earlier, "svc4": timedelta(0)})
    assert abs(_start_of(both, t) - t) <= timedelta(minutes=1)
    # the same earlier fault alone, reported late: its real start is found
    alone = _synthetic(t, earlier)
    assert abs(_start_of(alone, t) - (t - timedelta(minutes=10))) <= timedelta(minutes=1)
