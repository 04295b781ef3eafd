from datetime import UTC, datetime

import pytest

from tracehound.connectors.simulator import SimulatorConfig, build_simulator_sources
from tracehound.engine.investigate import investigate
from tracehound.engine.ports import Sources
from tracehound.engine.report import Report
from tracehound.engine.types import Incident

CREATED = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)
INCIDENT = Incident("checkout 500s since 14:50 UTC", CREATED)


def sim(service: str, fault_type: str, **extra: object) -> Sources:
    config = SimulatorConfig.model_validate(
        {"fault": {"service": service, "type": fault_type, "duration_minutes": 30}, **extra}
    )
    return build_simulator_sources(config, anchor=CREATED)


@pytest.fixture(scope="session")
async def payment_errors() -> tuple[Report, Sources]:
    sources = sim("payment", "errors")
    return await investigate(INCIDENT, sources), sources
