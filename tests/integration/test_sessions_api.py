"""The V1 Sessions API against a real server process, on SQLite and on PostgreSQL."""

from __future__ import annotations

import uuid

import httpx

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant, make_tenant, run

INCIDENT = "Checkout is returning 500 errors since 14:30 UTC. Error rate jumped from 0.1% to 15%."


def create(api: Proc, tenant: Tenant, body: dict[str, object], *, admin: bool = True) -> httpx.Response:
    return httpx.post(f"{api.base_url}/v1/sessions", json=body, headers=tenant.headers(admin=admin), timeout=30)


def test_create_returns_201_running_with_the_contract_fields(api: Proc, tenant: Tenant) -> None:
    r = create(api, tenant, {"input": INCIDENT, "time": "2024-03-15T14:30:00Z", "tags": ["checkout", "p1"]})
    assert r.status_code == 201, r.text
    s = r.json()
    assert uuid.UUID(s["id"])
    assert s["status"] == "running"
    assert s["input"] == INCIDENT
    assert s["title"] == "Checkout is returning 500 errors since 14:30 UTC"
    assert s["created_at"].endswith("Z") and s["updated_at"].endswith("Z")
    assert s["messages"] is None
    assert s["time"] == "2024-03-15T14:30:00.000Z"
    assert s["tags"] == ["checkout", "p1"]
    assert s["preview"] == INCIDENT


# The demo simulator's fault starts ten minutes before the session is created: a fixed clock time ("since 14:30")
# would only match it at 14:40 UTC.
RELATIVE_INCIDENT = "Checkout is returning 500 errors since 10 minutes ago. Error rate jumped from 0.1% to 15%."


def test_session_reaches_idle_with_a_report_and_ordered_messages(api: Proc, tenant: Tenant) -> None:
    created = create(api, tenant, {"input": RELATIVE_INCIDENT, "title": "Checkout 500s"}).json()
    done = wait_status(api.base_url, tenant.headers(), created["id"])
    assert done["status"] == "idle", done
    assert done["title"] == "Checkout 500s"
    roles = [m["role"] for m in done["messages"]]
    assert roles == ["user", "assistant"]
    assert done["messages"][0]["markdown_content"] == RELATIVE_INCIDENT
    answer = done["messages"][1]["markdown_content"]
    assert "payment" in answer.lower()
    assert any(level in answer for level in ("High", "Medium", "Low"))
    assert done["report"]["root_cause"] == "payment"
    assert done["started_at"] and done["finished_at"]
    assert done["output_preview"]
    assert done["usage"]["data_points"] > 0


def test_follow_up_is_accepted_with_message_ids_and_answered(api: Proc, tenant: Tenant) -> None:
    sid = create(api, tenant, {"input": INCIDENT}).json()["id"]
    wait_status(api.base_url, tenant.headers(), sid)
    r = httpx.post(
        f"{api.base_url}/v1/sessions/{sid}/messages",
        json={"input": "why not checkout?"},
        headers=tenant.headers(admin=False),
        timeout=30,
    )
    assert r.status_code == 202, r.text
    body = r.json()
    assert body["status"] == "follow_up_running"
    assert body["messages"] is None
    done = wait_status(api.base_url, tenant.headers(), sid)
    assert done["status"] == "idle"
    ids = [m["id"] for m in done["messages"]]
    assert ids[2] == body["user_message_id"] and ids[3] == body["assistant_message_id"]
    assert [m["role"] for m in done["messages"]] == ["user", "assistant", "user", "assistant"]
    assert done["usage"]["turns"] == 2


def test_follow_up_while_running_is_409_with_retry_after(api: Proc, shared_db_url: str) -> None:
    slow = make_tenant(shared_db_url, sim={"seed": 1, "latency_seconds": 2})
    sid = create(api, slow, {"input": INCIDENT}).json()["id"]
    r = httpx.post(
        f"{api.base_url}/v1/sessions/{sid}/messages",
        json={"input": "and now?"},
        headers=slow.headers(),
        timeout=30,
    )
    assert r.status_code == 409
    assert r.json()["error"]["retry_after"] == int(r.headers["Retry-After"]) > 0
    assert "idle" in r.json()["error"]["message"]
    wait_status(api.base_url, slow.headers(), sid)


def test_idempotency_key_returns_the_original_session_with_200(api: Proc, tenant: Tenant) -> None:
    first = create(api, tenant, {"input": INCIDENT, "idempotency_key": "pagerduty-incident-P12345"})
    again = create(api, tenant, {"input": "a different body", "idempotency_key": "pagerduty-incident-P12345"})
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    assert again.json()["input"] == INCIDENT


def test_get_another_organizations_session_is_404(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    other = make_tenant(shared_db_url)
    sid = create(api, tenant, {"input": INCIDENT}).json()["id"]
    r = httpx.get(f"{api.base_url}/v1/sessions/{sid}", headers=other.headers(), timeout=10)
    assert r.status_code == 404
    assert set(r.json()) == {"error"}


def test_unknown_and_malformed_session_ids_are_404(api: Proc, tenant: Tenant) -> None:
    for sid in (str(uuid.uuid4()), "not-a-uuid", "1' OR '1'='1"):
        r = httpx.get(f"{api.base_url}/v1/sessions/{sid}", headers=tenant.headers(), timeout=10)
        assert r.status_code == 404, sid
        assert r.json()["error"]["message"]


def test_list_is_admin_only_and_names_the_role(api: Proc, tenant: Tenant) -> None:
    r = httpx.get(f"{api.base_url}/v1/sessions", headers=tenant.headers(admin=False), timeout=10)
    assert r.status_code == 403
    assert "'admin'" in r.json()["error"]["message"]


def test_list_pages_newest_first_with_counts(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, max_running=10)
    ids = [create(api, t, {"input": f"incident {i}"}).json()["id"] for i in range(5)]
    everything = httpx.get(f"{api.base_url}/v1/sessions", headers=t.headers(), timeout=10).json()
    assert [s["id"] for s in everything["sessions"]] == ids[::-1]
    assert (everything["count"], everything["total"], everything["prev"], everything["next"]) == (
        5,
        5,
        None,
        None,
    )
    assert all(s["messages"] is None for s in everything["sessions"])
    p2 = httpx.get(f"{api.base_url}/v1/sessions", params={"page": 2, "limit": 2}, headers=t.headers(), timeout=10)
    body = p2.json()
    assert [s["id"] for s in body["sessions"]] == ids[::-1][2:4]
    assert (body["count"], body["total"], body["prev"], body["next"]) == (2, 5, 1, 3)
    last = httpx.get(f"{api.base_url}/v1/sessions", params={"page": 3, "limit": 2}, headers=t.headers()).json()
    assert (last["count"], last["prev"], last["next"]) == (1, 2, None)
    only_limit = httpx.get(f"{api.base_url}/v1/sessions", params={"limit": 3}, headers=t.headers()).json()
    assert [s["id"] for s in only_limit["sessions"]] == ids[::-1][:3]
    assert only_limit["next"] == 2


def test_list_rejects_page_zero_with_400_naming_the_field(api: Proc, tenant: Tenant) -> None:
    for params, field in (({"page": 0}, "page"), ({"limit": 0}, "limit"), ({"limit": "x"}, "limit")):
        r = httpx.get(f"{api.base_url}/v1/sessions", params=params, headers=tenant.headers(), timeout=10)
        assert r.status_code == 400
        assert r.json()["error"]["message"].startswith(field)


def test_missing_malformed_unknown_and_revoked_keys_are_401(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    from tracehound.auth import service as auth

    url = f"{api.base_url}/v1/sessions/{uuid.uuid4()}"
    cases = [
        {},
        {"Authorization": "Basic abc"},
        {"Authorization": "Bearer nope"},
        {"Authorization": "Bearer trv_ak_" + "A" * 43},
    ]
    for headers in cases:
        r = httpx.get(url, headers=headers, timeout=10)
        assert r.status_code == 401, headers
        assert r.headers["WWW-Authenticate"].startswith("Bearer")
        assert r.json()["error"]["message"]
    run(shared_db_url, lambda db: auth.revoke_key(db, key_id=tenant.admin_key_id))
    r = httpx.get(url, headers=tenant.headers(), timeout=10)
    assert r.status_code == 401
    assert "revoked" in r.json()["error"]["message"]


def test_organization_with_api_disabled_is_403(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, api_enabled=False)
    r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "x"}, headers=t.headers(), timeout=10)
    assert r.status_code == 403
    assert "not enabled" in r.json()["error"]["message"]


def test_session_without_data_sources_is_idle_and_says_how_to_connect(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, sim=None)
    sid = create(api, t, {"input": INCIDENT}).json()["id"]
    done = wait_status(api.base_url, t.headers(), sid)
    assert done["status"] == "idle"
    answer = done["messages"][-1]["markdown_content"].lower()
    assert "no telemetry" in answer
    assert "tracehound source add" in answer
