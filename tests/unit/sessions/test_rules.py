from __future__ import annotations

from datetime import UTC

import pytest
from pydantic import ValidationError

from tracehound.kit.usage import add_usage as merge_usage
from tracehound.sessions.schemas import SessionCreate, parse_iso8601
from tracehound.sessions.service import make_title


def test_title_is_the_first_sentence() -> None:
    text = "Our checkout service started returning 500 errors at 14:30. Error rate jumped to 15%."
    assert make_title(text) == "Our checkout service started returning 500 errors at 14:30"


def test_long_title_is_cut_at_a_word_boundary() -> None:
    title = make_title("word " * 40)
    assert len(title) <= 81
    assert title.endswith("…")
    assert "wor…" not in title


def test_blank_first_line_falls_back() -> None:
    assert make_title("\n\n  ") == "Investigation"


def test_iso_time_without_offset_is_utc() -> None:
    assert parse_iso8601("2024-03-15T14:30:00").tzinfo == UTC
    assert parse_iso8601("2024-03-15T16:30:00+02:00").hour == 14
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_iso8601("yesterday")


def test_create_body_rejects_blank_input_and_numbers() -> None:
    with pytest.raises(ValidationError):
        SessionCreate.model_validate({"input": "   "})
    with pytest.raises(ValidationError):
        SessionCreate.model_validate({"input": 5})


def test_usage_adds_up_over_turns() -> None:
    total = merge_usage(None, {"data_points": 10, "wall_time_ms": 5})
    total = merge_usage(total, {"data_points": 3, "log_lines": 2})
    assert total == {"data_points": 13, "wall_time_ms": 5, "log_lines": 2, "turns": 2}


def test_incident_times_outside_a_sane_range_are_rejected() -> None:
    for value in ("0999-01-01T00:00:00Z", "9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+01:00"):
        with pytest.raises(ValueError, match="between the years"):
            parse_iso8601(value)
