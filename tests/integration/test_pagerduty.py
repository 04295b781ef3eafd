"""PagerDuty V3 webhooks from recorded payloads: signature verification, one session per incident, resolution."""

from __future__ import annotations

import hashlib
import hmac
from pathlib import Path
from typing import Any

import httpx
import orjson

from tests.support.servers import Proc
from tests.support.tenants import Tenant, stored_counts

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "pagerduty"
SECRET = "pd-webhook-secret-0123456789abcdef"


def fixture(name: str) -> bytes:
    return (FIXTURES / f"{name}.json").read_bytes()


def signature(body: bytes, secret: str = SECRET) -> str:
    return "v1=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def _integration(api: Proc, tenant: Tenant) -> str:
    body = {"name": "pd", "kind": "pagerduty", "secret": SECRET, "thinking_mode": "fast"}
    r = httpx.post(f"{api.base_url}/v1/integrations", json=body, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text
    assert "token" not in r.json() and SECRET not in r.text
    path: str = r.json()["receive_path"]
    return api.base_url + path


def _post(url: str, body: bytes, sig: str | None) -> httpx.Response:
    headers = {"Content-Type": "application/json"}
    if sig is not None:
        headers["X-PagerDuty-Signature"] = sig
    return httpx.post(url, content=body, headers=headers, timeout=10)


def test_triggered_incident_opens_one_session(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    url = _integration(api, tenant)
    raw = fixture("incident_triggered")
    # several signatures while a secret rotates: any match is enough
    first = _post(url, raw, f"{signature(raw, 'old-secret-xxxxxxxx')},{signature(raw)}")
    assert first.status_code == 201, first.text
    session_id = first.json()["session_id"]
    again = _post(url, raw, signature(raw))
    assert again.status_code == 200 and again.json() == {
        **first.json(),
        "created": False,
        "status": again.json()["status"],
    }
    got = httpx.get(f"{api.base_url}/v1/sessions/{session_id}", headers=tenant.headers(), timeout=10).json()
    assert got["time"] == "2024-03-15T14:32:07.000Z"
    assert got["title"] == "#2 payment: error rate above 5% on checkout"
    assert "PagerDuty service: payment" in got["input"] and "pagerduty" in got["tags"]
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1
    resolved = fixture("incident_resolved")
    r = _post(url, resolved, signature(resolved))
    assert r.status_code == 200 and r.json() == {"session_id": session_id, "recorded": True}
    r = _post(url, resolved, signature(resolved))
    assert r.json()["recorded"] is False
    got = httpx.get(f"{api.base_url}/v1/sessions/{session_id}", headers=tenant.headers(), timeout=10).json()
    assert "alert-resolved" in got["tags"]
    assert got["alert"]["source"] == "pagerduty" and got["alert"]["status"] == "resolved"
    assert got["alert"]["incident_id"] == orjson.loads(raw)["event"]["data"]["id"]
    assert got["alert"]["resolved_at"] == orjson.loads(resolved)["event"]["occurred_at"]


def test_one_session_per_incident_across_integrations(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    first_url = _integration(api, tenant)
    body = {"name": "pd-2", "kind": "pagerduty", "secret": SECRET + "-2"}
    r = httpx.post(f"{api.base_url}/v1/integrations", json=body, headers=tenant.headers(), timeout=10)
    second_url = api.base_url + r.json()["receive_path"]
    raw = fixture("incident_triggered")
    opened = _post(first_url, raw, signature(raw))
    assert opened.status_code == 201, opened.text
    also = _post(second_url, raw, signature(raw, SECRET + "-2"))
    assert also.status_code == 200 and also.json()["session_id"] == opened.json()["session_id"]
    wrong = _post(second_url, raw, signature(raw))  # the first integration's secret does not sign for the second
    assert wrong.status_code == 401
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1


def test_other_events_are_acknowledged(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    url = _integration(api, tenant)
    for name in ("pagey_ping", "incident_acknowledged"):
        raw = fixture(name)
        r = _post(url, raw, signature(raw))
        assert r.status_code == 200 and "ignored" in r.json()
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


def _broken(**data: Any) -> bytes:
    body = orjson.loads(fixture("incident_triggered"))
    body["event"]["data"].update(data)
    body["event"]["data"] = {k: v for k, v in body["event"]["data"].items() if v is not None}
    return orjson.dumps(body)


BAD_CASES = [
    (fixture("incident_triggered"), None, 401, "Missing X-PagerDuty-Signature"),
    (fixture("incident_triggered"), "v1=" + "0" * 64, 401, "Invalid X-PagerDuty-Signature"),
    (fixture("incident_triggered"), "sha256=abc", 401, "Invalid X-PagerDuty-Signature"),
    (b"{broken", "SIGN", 400, "not valid JSON"),
    (b'{"event": {"id": "x"}}', "SIGN", 400, "event.event_type"),
    (_broken(title=None), "SIGN", 400, "event.data.title"),
    (_broken(created_at="soon"), "SIGN", 400, "event.data.created_at"),
]


def test_bad_webhooks_are_rejected_and_nothing_is_stored(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    url = _integration(api, tenant)
    for raw, sig, status, message in BAD_CASES:
        r = _post(url, raw, signature(raw) if sig == "SIGN" else sig)
        assert r.status_code == status, (message, r.text)
        assert message in r.json()["error"]["message"], r.json()
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)


def test_unknown_integration_is_401(api: Proc) -> None:
    raw = fixture("incident_triggered")
    r = _post(f"{api.base_url}/v1/alerts/pagerduty/00000000-0000-4000-8000-000000000000", raw, signature(raw))
    assert r.status_code == 401 and r.json()["error"]["message"] == "Unknown PagerDuty integration."
    r = _post(f"{api.base_url}/v1/alerts/pagerduty/not-a-uuid", raw, signature(raw))
    assert r.status_code == 401
