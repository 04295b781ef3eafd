"""Agents and the richer session model (Everruns compatibility), on SQLite and PostgreSQL."""

from __future__ import annotations

import re
import time

import httpx
import pytest

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant, make_tenant, stored_counts

INCIDENT = "Checkout is returning 500 errors since 10 minutes ago."


def _agent(api: Proc, t: Tenant, body: dict[str, object], *, admin: bool = True) -> httpx.Response:
    return httpx.post(f"{api.base_url}/v1/agents", json=body, headers=t.headers(admin=admin), timeout=30)


def _session(api: Proc, t: Tenant, body: dict[str, object], params: dict[str, str] | None = None) -> httpx.Response:
    return httpx.post(f"{api.base_url}/v1/sessions", json=body, params=params, headers=t.headers(), timeout=60)


def test_capabilities_are_listed_with_config_schemas(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/capabilities", headers=tenant.headers(admin=False))
    assert r.status_code == 200
    ids = {c["id"] for c in r.json()["data"]}
    assert {"metrics", "logs", "traces", "changes", "data_source", "thinking"} <= ids
    assert all("config_schema" in c for c in r.json()["data"])


def test_admin_creates_an_agent_with_a_uuid7_id(api: Proc, tenant: Tenant) -> None:
    body = {
        "name": "payments-oncall",
        "description": "Payments team",
        "system_prompt": "payment is owned by team-pay; runbook: https://runbooks/pay",
        "capabilities": [{"ref": "metrics"}, {"ref": "data_source", "config": {"name": "sim"}}],
        "default_model_id": "gpt-4o-mini",
        "tags": ["payments"],
    }
    r = _agent(api, tenant, body)
    assert r.status_code == 201, r.text
    agent = r.json()
    assert re.fullmatch(r"agent_[0-9a-f]{12}7[0-9a-f]{3}[89ab][0-9a-f]{15}", agent["id"])
    assert agent["status"] == "active"
    assert agent["capabilities"] == [
        {"ref": "metrics", "config": {}},
        {"ref": "data_source", "config": {"name": "sim"}},
    ]
    by_name = httpx.get(f"{api.base_url}/v1/agents/payments-oncall", headers=tenant.headers(admin=False)).json()
    assert by_name["id"] == agent["id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Bad Name"}, "name"),
        ({"name": "a", "capabilities": [{"ref": "nope"}]}, "capabilities[0].ref"),
        ({"name": "a", "capabilities": [{"ref": "thinking", "config": {"mode": "slow"}}]}, "capabilities[0].config"),
        ({"name": "a", "capabilities": [{"ref": "data_source", "config": {"name": "missing"}}]}, "capabilities"),
        ({"name": "a", "capabilities": ["metrics"]}, "capabilities[0]"),
        ({"name": "a", "unknown_field": 1}, "unknown_field"),
    ],
)
def test_invalid_agents_are_400_naming_the_field(
    api: Proc, tenant: Tenant, body: dict[str, object], field: str
) -> None:
    r = _agent(api, tenant, body)
    assert r.status_code == 400, r.text
    assert r.json()["error"]["message"].startswith(field)
    names = [a["name"] for a in httpx.get(f"{api.base_url}/v1/agents", headers=tenant.headers()).json()["data"]]
    assert names == ["default"]


def test_members_read_agents_but_cannot_change_them(api: Proc, tenant: Tenant) -> None:
    agent = _agent(api, tenant, {"name": "db-team"}).json()
    assert _agent(api, tenant, {"name": "x"}, admin=False).status_code == 403
    patch = httpx.patch(
        f"{api.base_url}/v1/agents/{agent['id']}", json={"description": "x"}, headers=tenant.headers(admin=False)
    )
    assert patch.status_code == 403
    assert "'admin'" in patch.json()["error"]["message"]
    assert httpx.get(f"{api.base_url}/v1/agents/{agent['id']}", headers=tenant.headers(admin=False)).status_code == 200


def test_another_organizations_agent_is_404(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    agent = _agent(api, tenant, {"name": "mine"}).json()
    other = make_tenant(shared_db_url)
    assert httpx.get(f"{api.base_url}/v1/agents/{agent['id']}", headers=other.headers()).status_code == 404


def test_patch_changes_only_the_given_fields(api: Proc, tenant: Tenant) -> None:
    agent = _agent(api, tenant, {"name": "edit-me", "tags": ["a"]}).json()
    r = httpx.patch(
        f"{api.base_url}/v1/agents/edit-me",
        json={"description": "new", "capabilities": [{"ref": "logs"}]},
        headers=tenant.headers(),
    )
    assert r.status_code == 200, r.text
    assert r.json()["description"] == "new"
    assert r.json()["tags"] == ["a"]
    assert r.json()["capabilities"] == [{"ref": "logs", "config": {}}]
    assert r.json()["id"] == agent["id"]


def test_archived_agent_cannot_start_sessions_and_nothing_is_stored(
    api: Proc, tenant: Tenant, shared_db_url: str
) -> None:
    agent = _agent(api, tenant, {"name": "old"}).json()
    assert httpx.delete(f"{api.base_url}/v1/agents/{agent['id']}", headers=tenant.headers()).status_code == 204
    assert httpx.get(f"{api.base_url}/v1/agents/old", headers=tenant.headers()).json()["status"] == "archived"
    before = stored_counts(shared_db_url, tenant.org_id)
    r = _session(api, tenant, {"input": INCIDENT, "agent_id": agent["id"]})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith("agent_id")
    assert "archived" in r.json()["error"]["message"]
    assert stored_counts(shared_db_url, tenant.org_id) == before


def test_the_default_agent_cannot_be_archived(api: Proc, tenant: Tenant) -> None:
    default = httpx.get(f"{api.base_url}/v1/agents/default", headers=tenant.headers())
    assert default.status_code == 404  # created on first use
    httpx.get(f"{api.base_url}/v1/agents", headers=tenant.headers())
    r = httpx.delete(f"{api.base_url}/v1/agents/default", headers=tenant.headers())
    assert r.status_code == 400
    assert "default agent" in r.json()["error"]["message"]


def test_session_fields_and_agent_capabilities_shape_the_investigation(api: Proc, tenant: Tenant) -> None:
    agent = _agent(api, tenant, {"name": "metrics-only", "capabilities": [{"ref": "metrics"}]}).json()
    r = _session(
        api,
        tenant,
        {
            "input": INCIDENT,
            "agent_id": agent["id"],
            "tags": ["t1"],
            "model_id": "gpt-4o",
            "capabilities": [{"ref": "changes"}],
        },
    )
    assert r.status_code == 201, r.text
    s = r.json()
    assert (s["agent_id"], s["organization_id"], s["model_id"]) == (agent["id"], tenant.org_id, "gpt-4o")
    assert s["capabilities"] == [{"ref": "changes", "config": {}}]
    done = wait_status(api.base_url, tenant.headers(), s["id"])
    assert done["status"] == "idle"
    assert done["usage"]["log_lines"] == 0
    assert done["usage"]["spans"] == 0
    assert done["usage"]["data_points"] > 0
    used = httpx.get(f"{api.base_url}/v1/agents/{agent['id']}", headers=tenant.headers()).json()["usage"]
    assert used["turns"] == 1
    assert used["data_points"] == done["usage"]["data_points"]


def test_session_without_agent_uses_the_default_agent(api: Proc, tenant: Tenant) -> None:
    s = _session(api, tenant, {"input": INCIDENT}).json()
    default = httpx.get(f"{api.base_url}/v1/agents/default", headers=tenant.headers()).json()
    assert s["agent_id"] == default["id"]
    assert default["is_default"] is True


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"agent_id": "agent_123"}, "agent_id"),
        ({"agent_id": "agent_" + "0" * 32}, "agent_id"),
        ({"capabilities": [{"ref": "nope"}]}, "capabilities[0].ref"),
        ({"model_id": "bad model id"}, "model_id"),
    ],
)
def test_invalid_session_agent_fields_are_400(
    api: Proc, tenant: Tenant, shared_db_url: str, body: dict[str, object], field: str
) -> None:
    r = _session(api, tenant, {"input": INCIDENT, **body})
    assert r.status_code == 400
    assert r.json()["error"]["message"].startswith(field)
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


def test_list_filters_by_agent_tag_status_and_time(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, max_running=20, sim=None)
    agent = _agent(api, t, {"name": "filters"}).json()
    a = _session(api, t, {"input": "a", "tags": ["x", "y"], "agent_id": agent["id"]}).json()
    b = _session(api, t, {"input": "b", "tags": ["x"]}).json()
    for sid in (a["id"], b["id"]):
        wait_status(api.base_url, t.headers(), sid)

    def ids(**params: object) -> list[str]:
        r = httpx.get(f"{api.base_url}/v1/sessions", params=params, headers=t.headers())  # type: ignore[arg-type]
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body) == {"sessions", "count", "prev", "next", "total"}
        return [s["id"] for s in body["sessions"]]

    assert ids(agent_id=agent["id"]) == [a["id"]]
    assert ids(tag="x") == [b["id"], a["id"]]
    assert ids(tag=["x", "y"]) == [a["id"]]
    assert ids(status="idle") == [b["id"], a["id"]]
    assert ids(status="running") == []
    assert ids(created_after=a["created_at"]) == [b["id"]]
    assert ids(created_before=b["created_at"]) == [a["id"]]
    for params, field in (
        ({"status": "done"}, "status"),
        ({"agent_id": "x"}, "agent_id"),
        ({"created_after": "yesterday"}, "created_after"),
    ):
        r = httpx.get(f"{api.base_url}/v1/sessions", params=params, headers=t.headers())
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith(field)


def test_agent_sessions_listing_is_everruns_shaped(api: Proc, tenant: Tenant) -> None:
    agent = _agent(api, tenant, {"name": "listing"}).json()
    ids = [_session(api, tenant, {"input": f"i{n}", "agent_id": agent["id"]}).json()["id"] for n in range(3)]
    r = httpx.get(
        f"{api.base_url}/v1/agents/{agent['id']}/sessions", params={"offset": 1, "limit": 1}, headers=tenant.headers()
    )
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"data", "total", "offset", "limit"}
    assert (body["total"], body["offset"], body["limit"]) == (3, 1, 1)
    assert [s["id"] for s in body["data"]] == [ids[1]]
    assert (
        httpx.get(
            f"{api.base_url}/v1/agents/{agent['id']}/sessions", params={"limit": 101}, headers=tenant.headers()
        ).status_code
        == 400
    )


@pytest.mark.parametrize("path", ["/v1/agents", "/v1/agents/default/sessions"])
def test_offsets_past_the_end_are_empty_and_past_64_bits_are_400(api: Proc, tenant: Tenant, path: str) -> None:
    assert httpx.get(f"{api.base_url}/v1/agents", headers=tenant.headers(), timeout=10).status_code == 200
    r = httpx.get(f"{api.base_url}{path}", params={"offset": 2**63 - 1}, headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    assert (r.json()["data"], r.json()["offset"]) == ([], 2**63 - 1)
    r = httpx.get(f"{api.base_url}{path}", params={"offset": 2**63}, headers=tenant.headers(), timeout=10)
    assert r.status_code == 400, r.text
    assert "offset" in r.json()["error"]["message"]


def test_wait_true_answers_with_the_finished_session(api: Proc, tenant: Tenant) -> None:
    r = _session(api, tenant, {"input": INCIDENT}, params={"wait": "true", "timeout_ms": "60000"})
    assert r.status_code == 201
    assert r.json()["status"] == "idle"
    assert r.json()["messages"][-1]["role"] == "assistant"
    f = httpx.post(
        f"{api.base_url}/v1/sessions/{r.json()['id']}/messages",
        params={"wait": "true"},
        json={"input": "what is the impact?"},
        headers=tenant.headers(),
        timeout=60,
    )
    assert f.status_code == 200
    assert f.json()["messages"][-1]["id"] == f.json()["assistant_message_id"]


def test_wait_true_gives_202_with_the_running_session_when_time_runs_out(api: Proc, shared_db_url: str) -> None:
    slow = make_tenant(shared_db_url, sim={"seed": 2, "latency_seconds": 2})
    r = _session(api, slow, {"input": INCIDENT}, params={"wait": "true", "timeout_ms": "300"})
    assert r.status_code == 202
    assert r.json()["status"] == "running"
    wait_status(api.base_url, slow.headers(), r.json()["id"])


def test_cancel_stops_a_running_investigation_and_frees_the_slot(api: Proc, shared_db_url: str) -> None:
    slow = make_tenant(shared_db_url, max_running=1, sim={"seed": 2, "latency_seconds": 3})
    sid = _session(api, slow, {"input": INCIDENT}).json()["id"]
    assert _session(api, slow, {"input": "another"}).status_code == 429
    r = httpx.post(f"{api.base_url}/v1/sessions/{sid}/cancel", headers=slow.headers(admin=False))
    assert r.status_code == 200
    assert r.json()["cancelled"] is True
    assert r.json()["status"] == "idle"
    again = httpx.post(f"{api.base_url}/v1/sessions/{sid}/cancel", headers=slow.headers())
    assert (again.status_code, again.json()["cancelled"]) == (200, False)
    done = httpx.get(f"{api.base_url}/v1/sessions/{sid}", headers=slow.headers()).json()
    assert done["messages"][-1]["markdown_content"].startswith("## Cancelled")
    assert _session(api, slow, {"input": "another"}).status_code == 201
    time.sleep(1)  # the cancelled workflow's late end must not change the session
    assert httpx.get(f"{api.base_url}/v1/sessions/{sid}", headers=slow.headers()).json()["status"] == "idle"
