"""Connectors through the API (admin only): validation naming the field, secrets never returned, updates keep
secrets, and the Prometheus kind is accepted by the registry."""

from __future__ import annotations

import httpx

from tests.support.servers import Proc
from tests.support.tenants import Tenant

PASSWORD = "s3cret-pass-do-not-leak"


def test_prometheus_connector_lifecycle(api: Proc, tenant: Tenant) -> None:
    base, h = api.base_url, tenant.headers()
    config = {
        "url": "http://prometheus.example:9090/",
        "service_label": "app",
        "label_filters": {"env": "prod"},
        "basic_auth_username": "reader",
        "basic_auth_password": PASSWORD,
        "timeout_seconds": 5,
    }
    r = httpx.post(f"{base}/v1/connectors", json={"name": "prom", "kind": "prometheus", "config": config}, headers=h)
    assert r.status_code == 201, r.text
    got = r.json()
    assert PASSWORD not in r.text and got["secrets_set"] == ["basic_auth_password"]
    assert got["config"]["url"] == "http://prometheus.example:9090" and got["config"]["service_label"] == "app"
    for path in ("/v1/connectors", "/v1/connectors/prom"):
        r = httpx.get(base + path, headers=h)
        assert r.status_code == 200 and PASSWORD not in r.text
    assert {c["name"] for c in httpx.get(f"{base}/v1/connectors", headers=h).json()["data"]} == {"sim", "prom"}
    # an update without the password keeps it
    new = {k: v for k, v in config.items() if k != "basic_auth_password"} | {"timeout_seconds": 7}
    r = httpx.put(f"{base}/v1/connectors/prom", json={"config": new}, headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["secrets_set"] == ["basic_auth_password"] and r.json()["config"]["timeout_seconds"] == 7
    r = httpx.delete(f"{base}/v1/connectors/prom", headers=h)
    assert r.status_code == 204
    assert httpx.get(f"{base}/v1/connectors/prom", headers=h).status_code == 404


def test_connector_validation_names_the_field(api: Proc, tenant: Tenant) -> None:
    base, h = api.base_url, tenant.headers()

    def prom(**config: object) -> dict[str, object]:
        return {"name": "p", "kind": "prometheus", "config": {"url": "http://p:9090", **config}}

    cases = [
        (prom(url="prometheus:9090"), "url"),
        ({"name": "p", "kind": "prometheus", "config": {}}, "url"),
        (prom(service_label="a-b"), "service_label"),
        (prom(timeout_seconds=0), "timeout_seconds"),
        (prom(basic_auth_username="u"), "basic"),
        (prom(label_filters={"bad-label": "x"}), "label_filters"),
        ({"name": "p", "kind": "graphite", "config": {}}, "kind"),
        ({"name": "Bad Name", "kind": "prometheus", "config": {"url": "http://p:9090"}}, "name"),
        ({"name": "sim", "kind": "prometheus", "config": {"url": "http://p:9090"}}, "name"),
    ]
    for body, field in cases:
        r = httpx.post(f"{base}/v1/connectors", json=body, headers=h)
        assert r.status_code == 400, (body, r.text)
        assert field in r.json()["error"]["message"], r.json()
    assert [c["name"] for c in httpx.get(f"{base}/v1/connectors", headers=h).json()["data"]] == ["sim"]


def test_connectors_are_admin_only(api: Proc, tenant: Tenant) -> None:
    base, member = api.base_url, tenant.headers(admin=False)
    assert httpx.get(f"{base}/v1/connectors", headers=member).status_code == 403
    body = {"name": "p", "kind": "prometheus", "config": {"url": "http://p:9090"}}
    r = httpx.post(f"{base}/v1/connectors", json=body, headers=member)
    assert r.status_code == 403 and "admin" in r.json()["error"]["message"]
    assert httpx.get(f"{base}/v1/connectors").status_code == 401
