"""The admin endpoints of integrations, connectors and webhooks: every bad request is a 400 in the error envelope
naming the field, roles are enforced, and no response ever carries a secret, a token or a password."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.support.servers import Proc
from tests.support.tenants import Tenant

PASSWORD = "prom-basic-password-never-shown"
HEADER = "Bearer prom-header-token-never-shown"
PD_SECRET = "pd-signing-secret-never-shown"


def envelope(r: httpx.Response, status: int) -> str:
    assert r.status_code == status, r.text
    body = r.json()
    assert set(body) == {"error"} and set(body["error"]) == {"message", "retry_after"}, body
    message: str = body["error"]["message"]
    return message


INTEGRATION_CASES: list[tuple[Any, str]] = [
    ({}, "name"),
    ({"name": "Bad Name", "kind": "alertmanager"}, "name"),
    ({"name": "am", "kind": "opsgenie"}, "kind"),
    ({"name": "pd", "kind": "pagerduty"}, "secret: required"),
    ({"name": "pd", "kind": "pagerduty", "secret": "short"}, "secret"),
    ({"name": "am", "kind": "alertmanager", "secret": "0123456789"}, "secret: only PagerDuty"),
    ({"name": "am", "kind": "alertmanager", "thinking_mode": "slow"}, "thinking_mode"),
    ({"name": "am", "kind": "alertmanager", "tags": [""]}, "tags[0]"),
    ({"name": "am", "kind": "alertmanager", "colour": "red"}, "colour"),
    ([1, 2], "JSON object"),
]


@pytest.mark.parametrize(("body", "field"), INTEGRATION_CASES, ids=[c[1] for c in INTEGRATION_CASES])
def test_integration_validation_names_the_field(api: Proc, tenant: Tenant, body: Any, field: str) -> None:
    r = httpx.post(f"{api.base_url}/v1/integrations", json=body, headers=tenant.headers())
    assert field in envelope(r, 400)
    assert httpx.get(f"{api.base_url}/v1/integrations", headers=tenant.headers()).json()["total"] == 0


def test_integration_lifecycle_roles_and_revocation(api: Proc, tenant: Tenant) -> None:
    base, h = api.base_url, tenant.headers()
    r = httpx.post(f"{base}/v1/integrations", json={"name": "am", "kind": "alertmanager"}, headers=h)
    assert r.status_code == 201, r.text
    token = r.json()["token"]
    again = httpx.post(f"{base}/v1/integrations", json={"name": "am", "kind": "alertmanager"}, headers=h)
    assert envelope(again, 400).startswith("name: an integration named 'am' already exists")
    member = tenant.headers(admin=False)
    assert "admin" in envelope(httpx.get(f"{base}/v1/integrations", headers=member), 403)
    forbidden = httpx.post(f"{base}/v1/integrations", json={"name": "x", "kind": "alertmanager"}, headers=member)
    assert "admin" in envelope(forbidden, 403)
    envelope(httpx.get(f"{base}/v1/integrations"), 401)
    assert "No integration" in envelope(httpx.delete(f"{base}/v1/integrations/nope", headers=h), 404)
    assert httpx.delete(f"{base}/v1/integrations/am", headers=h).status_code == 204  # by name
    gone = httpx.post(
        f"{base}/v1/alerts/alertmanager", content=b"{}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert envelope(gone, 401) == "Unknown webhook token."


CONNECTOR_UPDATE_CASES: list[tuple[Any, str]] = [
    ({}, "config"),
    ({"kind": "prometheus", "config": {"url": "prometheus:9090"}}, "config.url"),
    ({"kind": "prometheus", "config": {"url": "http://p:9090", "timeout_seconds": "fast"}}, "config.timeout_seconds"),
    ({"kind": "prometheus", "config": {"url": "http://u:pw@p:9090"}}, "config.url: must not carry credentials"),
    ({"kind": "prometheus", "config": {"url": "http://p:9090", "nope": 1}}, "config.nope"),
    ({"config": {"seed": "seven"}}, "config.seed"),
    ({"kind": "graphite", "config": {}}, "kind"),
    ({"config": "url=http://p"}, "config"),
]


@pytest.mark.parametrize(("body", "field"), CONNECTOR_UPDATE_CASES, ids=[c[1] for c in CONNECTOR_UPDATE_CASES])
def test_connector_update_validation_names_the_field(api: Proc, tenant: Tenant, body: Any, field: str) -> None:
    r = httpx.put(f"{api.base_url}/v1/connectors/sim", json=body, headers=tenant.headers())
    assert envelope(r, 400).startswith(field), r.text
    assert httpx.get(f"{api.base_url}/v1/connectors/sim", headers=tenant.headers()).json()["kind"] == "simulator"


def test_unknown_objects_are_404_in_the_envelope(api: Proc, tenant: Tenant) -> None:
    base, h = api.base_url, tenant.headers()
    body = {"config": {"url": "http://p:9090"}, "kind": "prometheus"}
    assert "No connector" in envelope(httpx.put(f"{base}/v1/connectors/nope", json=body, headers=h), 404)
    assert "No connector" in envelope(httpx.post(f"{base}/v1/connectors/nope/check", headers=h), 404)
    assert "No webhook" in envelope(httpx.get(f"{base}/v1/webhooks/not-a-uuid/deliveries", headers=h), 404)
    unknown = "00000000-0000-4000-8000-000000000000"
    assert "No webhook" in envelope(httpx.get(f"{base}/v1/webhooks/{unknown}/deliveries", headers=h), 404)


def test_no_response_ever_carries_a_secret(api: Proc, tenant: Tenant) -> None:
    base, h = api.base_url, tenant.headers()
    prom = {"url": "http://127.0.0.1:9", "auth_header_value": HEADER, "timeout_seconds": 1}
    bodies: list[str] = []
    created = httpx.post(
        f"{base}/v1/connectors", json={"name": "prom", "kind": "prometheus", "config": prom}, headers=h
    )
    assert created.status_code == 201 and created.json()["secrets_set"] == ["auth_header_value"]
    updated = httpx.put(f"{base}/v1/connectors/prom", json={"config": {"url": "http://127.0.0.1:9"}}, headers=h)
    assert updated.status_code == 200 and updated.json()["secrets_set"] == ["auth_header_value"]
    basic = {"url": "http://127.0.0.1:9", "basic_auth_username": "u", "basic_auth_password": PASSWORD}
    other = httpx.post(
        f"{base}/v1/connectors", json={"name": "prom2", "kind": "prometheus", "config": basic}, headers=h
    )
    assert other.json()["secrets_set"] == ["basic_auth_password"]
    pd = httpx.post(f"{base}/v1/integrations", json={"name": "pd", "kind": "pagerduty", "secret": PD_SECRET}, headers=h)
    am = httpx.post(f"{base}/v1/integrations", json={"name": "am", "kind": "alertmanager"}, headers=h)
    hook = httpx.post(f"{base}/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=h)
    token, hook_secret = am.json()["token"], hook.json()["secret"]
    bodies += [created.text, updated.text, other.text, pd.text]
    for path in (
        "/v1/connectors",
        "/v1/connectors/prom",
        "/v1/connectors/prom2",
        "/v1/integrations",
        "/v1/webhooks",
        f"/v1/webhooks/{hook.json()['id']}/deliveries",
        "/v1/sessions",
        "/openapi.json",
        "/metrics",
    ):
        r = httpx.get(base + path, headers=h, timeout=10)
        assert r.status_code == 200, (path, r.text)
        bodies.append(r.text)
    check = httpx.post(f"{base}/v1/connectors/prom/check", headers=h, timeout=30)
    assert check.status_code == 200 and check.json()["ok"] is False and "127.0.0.1:9" in check.json()["error"]
    bodies.append(check.text)
    for secret in (PASSWORD, HEADER, "prom-header-token", PD_SECRET, token, hook_secret):
        assert all(secret not in b for b in bodies), secret
