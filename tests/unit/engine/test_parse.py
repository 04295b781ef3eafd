from datetime import UTC, datetime

import pytest

from tracehound.engine.parse import parse_incident
from tracehound.engine.types import Incident

CREATED = datetime(2024, 10, 25, 15, 0, tzinfo=UTC)
KNOWN = ["checkout", "payment", "api-gateway", "postgres", "frontend"]


def _parse(text: str, time: datetime | None = None):  # type: ignore[no-untyped-def]
    return parse_incident(Incident(text, CREATED, time=time), KNOWN)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("outage since 2024-03-15T14:30:00Z", datetime(2024, 3, 15, 14, 30, tzinfo=UTC)),
        ("checkout slow at 14:30 UTC", datetime(2024, 10, 25, 14, 30, tzinfo=UTC)),
        ("errors started Oct 23 20:00 UTC", datetime(2024, 10, 23, 20, 0, tzinfo=UTC)),
        ("payment failing 5pm EST yesterday", datetime(2024, 10, 24, 22, 0, tzinfo=UTC)),
        ("latency up 20 minutes ago", datetime(2024, 10, 25, 14, 40, tzinfo=UTC)),
        ("checkout 500s since 14:30", datetime(2024, 10, 25, 14, 30, tzinfo=UTC)),
    ],
)
def test_time_from_text(text: str, expected: datetime) -> None:
    u = _parse(text)
    assert u.time == expected
    assert u.time_source == "text"


def test_time_of_day_after_creation_means_yesterday() -> None:
    assert _parse("errors since 16:10").time == datetime(2024, 10, 24, 16, 10, tzinfo=UTC)


def test_time_field_wins() -> None:
    field = datetime(2024, 10, 25, 9, 0, tzinfo=UTC)
    u = _parse("errors since 14:30", field)
    assert (u.time, u.time_source) == (field, "field")


def test_no_time() -> None:
    assert _parse("checkout is broken").time_source == "none"


def test_services_tolerate_case_suffix_and_typos() -> None:
    assert _parse("Payment-Service and API Gateway are failing").services == ("payment", "api-gateway")
    assert _parse("chekout svc is slow").services == ("checkout",)


@pytest.mark.parametrize(
    ("text", "symptom"),
    [
        ("checkout 500s since 14:30 UTC", "errors"),
        ("payment is very slow", "latency"),
        ("postgres cpu saturated", "saturation"),
        ("frontend pods crash looping", "crash"),
        ("nothing to see", "unknown"),
    ],
)
def test_symptom(text: str, symptom: str) -> None:
    assert _parse(text).symptom == symptom
