"""A real Alertmanager sends firing and resolved notifications to a running tracehound: one session per alert
group, whatever the number of notifications; bad payloads are rejected in the error envelope, nothing stored."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support import prom
from tests.support.polling import wait_status
from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant, run, stored_counts
from tracehound.models import Session, SessionEvent

pytestmark = [pytest.mark.e2e, pytest.mark.alertmanager]


@dataclass
class Stack:
    api: Proc
    db_url: str
    tmp: Any


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    tmp = tmp_path_factory.mktemp("am-stack")
    db_url = f"sqlite:///{tmp / 'tracehound.db'}"
    api = server(db_url, tmp).start()
    try:
        yield Stack(api, db_url, tmp)
    finally:
        api.stop()


def _integration(stack: Stack, tenant: Tenant) -> str:
    body = {"name": "am", "kind": "alertmanager", "tags": ["prod"]}
    r = httpx.post(f"{stack.api.base_url}/v1/integrations", json=body, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text
    assert r.json()["receive_path"] == "/v1/alerts/alertmanager"
    token: str = r.json()["token"]
    listed = httpx.get(f"{stack.api.base_url}/v1/integrations", headers=tenant.headers(), timeout=10).json()
    assert token not in orjson.dumps(listed).decode()
    return token


def _sessions(db_url: str, org_id: str) -> list[Session]:
    async def go(db: AsyncSession) -> list[Session]:
        return list((await db.execute(select(Session).where(Session.org_id == org_id))).scalars())

    return run(db_url, go)


def _events(db_url: str, session_id: str, type_: str) -> int:
    async def go(db: AsyncSession) -> int:
        stmt = select(SessionEvent).where(SessionEvent.session_id == session_id, SessionEvent.type == type_)
        return len(list((await db.execute(stmt)).scalars()))

    return run(db_url, go)


def _wait(pred: Any, timeout: float = 30, what: str = "") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.3)
    raise AssertionError(f"timed out waiting for {what}")


def test_real_alertmanager_opens_exactly_one_session(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url)
    token = _integration(stack, tenant)
    am = prom.alertmanager(stack.tmp, webhook_url=f"{stack.api.base_url}/v1/alerts/alertmanager", token=token)
    am.start()
    try:
        starts = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=8)
        alert = {
            "labels": {"alertname": "HighErrorRate", "service": "payment", "severity": "page"},
            "annotations": {"summary": "payment error rate above 5%", "description": "5xx ratio is 31%"},
            "startsAt": prom.iso(starts),
            "generatorURL": "http://prometheus.example/graph?g0.expr=errors",
        }
        prom.post_alerts(am, [alert])
        _wait(lambda: stored_counts(stack.db_url, tenant.org_id)[0] >= 1, what="the alert's session")
        [session] = _sessions(stack.db_url, tenant.org_id)
        assert session.origin == "alert"
        assert "HighErrorRate" in session.input and "service=payment" in session.input
        assert session.incident_time is not None
        assert session.incident_time.replace(tzinfo=UTC) == starts
        assert {"alertmanager", "prod"} <= set(session.tags)
        done = wait_status(stack.api.base_url, tenant.headers(), session.id, timeout=60)
        assert done["status"] == "idle"
        assert done["report"]["root_cause"] == "payment"
        # the same alert again, and Alertmanager's repeat notifications (repeat_interval 3s): nothing new
        prom.post_alerts(am, [alert])
        time.sleep(7)
        assert stored_counts(stack.db_url, tenant.org_id)[0] == 1
        # resolved: recorded on the session, once
        prom.post_alerts(am, [{**alert, "endsAt": prom.iso(datetime.now(UTC) - timedelta(seconds=1))}])
        _wait(lambda: _events(stack.db_url, session.id, "alert.resolved") == 1, what="alert.resolved")
        got = httpx.get(f"{stack.api.base_url}/v1/sessions/{session.id}", headers=tenant.headers(), timeout=10)
        assert "alert-resolved" in got.json()["tags"]
        recorded = got.json()["alert"]
        assert recorded["status"] == "resolved" and recorded["resolved_at"] is not None
        assert recorded["source"] == "alertmanager" and recorded["notifications"] >= 3
        assert recorded["started_at"] == prom.iso(starts).replace("Z", ".000Z")
        time.sleep(3)
        assert _events(stack.db_url, session.id, "alert.resolved") == 1
        assert stored_counts(stack.db_url, tenant.org_id)[0] == 1
        # the same alert fires again later: a new episode, so exactly one new session, with the new startsAt
        again = datetime.now(UTC).replace(microsecond=0)
        prom.post_alerts(am, [{**alert, "startsAt": prom.iso(again)}])
        _wait(lambda: stored_counts(stack.db_url, tenant.org_id)[0] == 2, what="the second episode's session")
        newer = max(_sessions(stack.db_url, tenant.org_id), key=lambda s: s.created_at)
        assert newer.id != session.id and newer.incident_time is not None
        assert newer.incident_time.replace(tzinfo=UTC) == again
        time.sleep(4)  # repeats of the new episode
        assert stored_counts(stack.db_url, tenant.org_id)[0] == 2
    finally:
        am.stop()


def _payload(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "version": "4",
        "groupKey": '{}:{alertname="CPUHigh"}',
        "truncatedAlerts": 0,
        "status": "firing",
        "receiver": "tracehound",
        "groupLabels": {"alertname": "CPUHigh"},
        "commonLabels": {"alertname": "CPUHigh", "service": "catalog"},
        "commonAnnotations": {"summary": "catalog CPU saturated"},
        "externalURL": "http://alertmanager.example",
        "alerts": [
            {
                "status": "firing",
                "labels": {"alertname": "CPUHigh", "service": "catalog"},
                "annotations": {"summary": "catalog CPU saturated"},
                "startsAt": "2024-03-15T14:30:00Z",
                "endsAt": "0001-01-01T00:00:00Z",
                "generatorURL": "http://prometheus.example/graph",
                "fingerprint": "a1b2c3d4e5f60718",
            }
        ],
    }
    body.update(over)
    return body


def test_resent_notification_returns_the_same_session(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url)
    token = _integration(stack, tenant)
    url = f"{stack.api.base_url}/v1/alerts/alertmanager"
    auth = {"Authorization": f"Bearer {token}"}
    first = httpx.post(url, json=_payload(), headers=auth, timeout=10)
    assert first.status_code == 201, first.text
    again = httpx.post(url, json=_payload(), headers=auth, timeout=10)
    assert again.status_code == 200 and again.json()["session_id"] == first.json()["session_id"]
    via_query = httpx.post(url, params={"token": token}, json=_payload(), timeout=10)
    assert via_query.status_code == 200 and via_query.json()["created"] is False
    assert stored_counts(stack.db_url, tenant.org_id)[0] == 1
    got = httpx.get(f"{stack.api.base_url}/v1/sessions/{first.json()['session_id']}", headers=tenant.headers())
    assert got.json()["time"] == "2024-03-15T14:30:00.000Z"


BAD_CASES: list[tuple[dict[str, str] | None, bytes, int, str]] = [
    ({}, orjson.dumps(_payload()), 401, "Missing webhook token"),
    ({"Authorization": "Bearer thw_wrong"}, orjson.dumps(_payload()), 401, "Unknown webhook token"),
    ({"Authorization": "Basic abc"}, orjson.dumps(_payload()), 401, "Malformed"),
    (None, b"{not json", 400, "not valid JSON"),
    (None, b"[1, 2]", 400, "must be a JSON object"),
    (None, orjson.dumps({k: v for k, v in _payload().items() if k != "groupKey"}), 400, "groupKey"),
    (None, orjson.dumps(_payload(version="3")), 400, "version"),
    (None, orjson.dumps(_payload(alerts=[])), 400, "alerts"),
    (None, orjson.dumps(_payload(alerts=[{"status": "firing", "labels": {"a": "b"}}])), 400, "alerts[0].startsAt"),
    (None, orjson.dumps(_payload(alerts=[{**_payload()["alerts"][0], "startsAt": "yesterday"}])), 400, "startsAt"),
]


def test_bad_requests_are_rejected_and_nothing_is_stored(stack: Stack) -> None:
    tenant = make_tenant(stack.db_url)
    token = _integration(stack, tenant)
    for headers, content, status, message in BAD_CASES:
        sent = {"Authorization": f"Bearer {token}"} if headers is None else headers
        r = httpx.post(f"{stack.api.base_url}/v1/alerts/alertmanager", content=content, headers=sent, timeout=10)
        assert r.status_code == status, (message, r.text)
        assert message in r.json()["error"]["message"], r.json()
    assert stored_counts(stack.db_url, tenant.org_id) == (0, 0)
