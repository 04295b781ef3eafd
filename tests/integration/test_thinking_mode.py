"""thinking_mode (Traversal's later revision): stored, returned, validated and honoured."""

from __future__ import annotations

import httpx

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant

INCIDENT = "Checkout is returning 500 errors since 10 minutes ago."


def _create(api: Proc, t: Tenant, body: dict[str, object]) -> dict[str, object]:
    r = httpx.post(f"{api.base_url}/v1/sessions", json=body, headers=t.headers(), timeout=30)
    assert r.status_code == 201, r.text
    return dict(r.json())


def test_default_is_auto_and_an_incident_with_time_and_symptom_gets_a_deep_report(api: Proc, tenant: Tenant) -> None:
    s = _create(api, tenant, {"input": INCIDENT})
    assert s["thinking_mode"] == "auto"
    done = wait_status(api.base_url, tenant.headers(), str(s["id"]))
    assert done["report"]["thinking_mode"]["used"] == "deep"
    answer = done["messages"][-1]["markdown_content"]
    assert "## Timeline" in answer
    assert "Quick look" not in answer


def test_auto_treats_an_exploratory_question_as_fast(api: Proc, tenant: Tenant) -> None:
    s = _create(api, tenant, {"input": "Is anything unusual going on with our services?"})
    done = wait_status(api.base_url, tenant.headers(), str(s["id"]))
    assert done["report"]["thinking_mode"]["used"] == "fast"
    assert done["messages"][-1]["markdown_content"].startswith("## Quick look")


def test_fast_reads_only_the_cheap_signals_and_answers_briefly(api: Proc, tenant: Tenant) -> None:
    s = _create(api, tenant, {"input": INCIDENT, "thinking_mode": "fast"})
    assert s["thinking_mode"] == "fast"
    done = wait_status(api.base_url, tenant.headers(), str(s["id"]))
    assert done["usage"]["log_lines"] == 0
    assert done["usage"]["spans"] == 0
    assert "thinking_mode: deep" in done["messages"][-1]["markdown_content"]


def test_deep_without_a_start_time_asks_for_one(api: Proc, tenant: Tenant) -> None:
    s = _create(api, tenant, {"input": "Checkout is throwing errors.", "thinking_mode": "deep"})
    done = wait_status(api.base_url, tenant.headers(), str(s["id"]))
    assert done["status"] == "idle"
    answer = done["messages"][-1]["markdown_content"]
    assert "When did this start?" in answer
    assert done["usage"]["log_lines"] > 0


def test_follow_up_takes_a_thinking_mode(api: Proc, tenant: Tenant) -> None:
    sid = str(_create(api, tenant, {"input": INCIDENT})["id"])
    wait_status(api.base_url, tenant.headers(), sid)
    r = httpx.post(
        f"{api.base_url}/v1/sessions/{sid}/messages",
        json={"input": "what is the impact?", "thinking_mode": "fast"},
        headers=tenant.headers(),
    )
    assert r.status_code == 202
    assert r.json()["thinking_mode"] == "fast"
    assert wait_status(api.base_url, tenant.headers(), sid)["status"] == "idle"


def test_invalid_thinking_mode_is_400_naming_the_field(api: Proc, tenant: Tenant) -> None:
    for body in ({"input": INCIDENT, "thinking_mode": "slow"}, {"input": INCIDENT, "thinking_mode": 3}):
        r = httpx.post(f"{api.base_url}/v1/sessions", json=body, headers=tenant.headers())
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith("thinking_mode")
