"""Completion webhooks: a signed JSON event reaches a loopback receiver when a session becomes idle, retried with
backoff when the receiver fails, and the investigation is never held up by it."""

from __future__ import annotations

import hashlib
import hmac
import time
from collections.abc import Iterator

import httpx
import orjson
import pytest

from tests.support.polling import wait_status
from tests.support.receiver import Receiver, wait_for
from tests.support.servers import Proc
from tests.support.tenants import Tenant


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


def test_idle_session_is_delivered_signed_after_retries(api: Proc, tenant: Tenant, receiver: Receiver) -> None:
    base = api.base_url
    r = httpx.post(f"{base}/v1/webhooks", json={"url": receiver.url}, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text
    hook = r.json()
    secret = hook["secret"]
    assert secret.startswith("whsec_") and hook["events"] == ["session.idle", "session.failed"]
    listed = httpx.get(f"{base}/v1/webhooks", headers=tenant.headers(), timeout=10)
    assert secret not in listed.text and listed.json()["total"] == 1
    s = httpx.post(f"{base}/v1/sessions", json={"input": "Checkout is failing"}, headers=tenant.headers(), timeout=10)
    done = wait_status(base, tenant.headers(), s.json()["id"])
    assert done["status"] == "idle"
    assert len(receiver.received) < 3  # the investigation did not wait for the deliveries
    wait_for(lambda: len(receiver.delivered()) == 1, what="the delivery")
    assert receiver.codes() == [500, 500, 204]
    headers, body = receiver.delivered()[0].headers, receiver.delivered()[0].body
    ts = headers["x-tracehound-timestamp"]
    expected = hmac.new(secret.encode(), f"{ts}.".encode() + body, hashlib.sha256).hexdigest()
    assert headers["x-tracehound-signature"] == f"t={ts},v1={expected}"
    assert abs(int(ts) - time.time()) < 60
    assert headers["x-tracehound-event"] == "session.idle"
    event = orjson.loads(body)
    assert event["type"] == "session.idle" and event["data"]["session"]["id"] == done["id"]
    assert event["data"]["session"]["status"] == "idle"
    assert event["data"]["report"]["root_cause"] == "payment"
    deliveries = httpx.get(f"{base}/v1/webhooks/{hook['id']}/deliveries", headers=tenant.headers(), timeout=10)
    [d] = deliveries.json()["data"]
    assert d["status"] == "delivered" and d["attempts"] == 3 and d["event_id"] == event["id"]
    time.sleep(1)
    assert len(receiver.received) == 3  # delivered once


def test_webhook_validation_and_roles(api: Proc, tenant: Tenant) -> None:
    base = api.base_url
    for body, field in (
        ({"url": "ftp://example.com/x"}, "url"),
        ({}, "url"),
        ({"url": "http://127.0.0.1:9/x", "events": ["session.created"]}, "events[0]"),
        ({"url": "http://127.0.0.1:9/x", "events": []}, "events"),
    ):
        r = httpx.post(f"{base}/v1/webhooks", json=body, headers=tenant.headers(), timeout=10)
        assert r.status_code == 400 and r.json()["error"]["message"].startswith(field), r.text
    r = httpx.post(f"{base}/v1/webhooks", json={"url": "http://x.example/h"}, headers=tenant.headers(admin=False))
    assert r.status_code == 403
    r = httpx.delete(f"{base}/v1/webhooks/00000000-0000-4000-8000-000000000000", headers=tenant.headers())
    assert r.status_code == 404 and "error" in r.json()
