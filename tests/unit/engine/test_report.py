import json

from tracehound.engine.ports import Sources
from tracehound.engine.report import Report

SECTIONS = ["## Summary", "## Evidence", "## Timeline", "## Impact", "## Next steps", "## What I understood",
            "## Data sources"]  # fmt: skip


def test_markdown_has_sections(payment_errors: tuple[Report, Sources]) -> None:
    md = payment_errors[0].to_markdown()
    for section in SECTIONS:
        assert section in md
    assert "**High**" in md
    assert "`payment`" in md
    assert 'query=error_rate{service="payment"}' in md


def test_round_trip(payment_errors: tuple[Report, Sources]) -> None:
    report = payment_errors[0]
    d = json.loads(json.dumps(report.to_dict()))
    assert Report.from_dict(d) == report
    assert d["anomaly_start"].endswith("Z")


def test_user_text_cannot_break_layout() -> None:
    report = Report(
        summary="x", root_cause="a`b", fault_type="errors", confidence="Low", confidence_reason="r",
        understood={"services": ["## injected\n- item", "|pipe|"]},
    )  # fmt: skip
    md = report.to_markdown()
    assert "\n## injected" not in md
    assert "`a'b`" in md
