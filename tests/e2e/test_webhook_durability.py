"""Completion webhooks are durable: a server killed (``kill -9``) between two attempts resumes the retry schedule
after its restart and delivers exactly once; a receiver that never accepts gets exactly ``max_attempts`` tries and
the delivery ends ``failed``; a session failed by the server-side deadline sends ``session.failed``."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest

from tests.support.polling import wait_status
from tests.support.receiver import Receiver, wait_for
from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver(fail=2)
    yield r
    r.close()


def _subscribe(base: str, tenant: Tenant, url: str, **extra: object) -> str:
    r = httpx.post(f"{base}/v1/webhooks", json={"url": url, **extra}, headers=tenant.headers(), timeout=10)
    assert r.status_code == 201, r.text
    hook_id: str = r.json()["id"]
    return hook_id


def _deliveries(base: str, tenant: Tenant, hook_id: str) -> list[dict[str, object]]:
    r = httpx.get(f"{base}/v1/webhooks/{hook_id}/deliveries", headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    data: list[dict[str, object]] = r.json()["data"]
    return data


def test_a_killed_server_resumes_the_retries_and_delivers_once(tmp_path: Path, receiver: Receiver) -> None:
    db_url = f"sqlite:///{tmp_path / 'tracehound.db'}"
    # attempts 3 s then 9 s apart: the kill lands in the first wait
    env = {"TRACEHOUND_WEBHOOK_RETRY_BASE_SECONDS": "3"}
    first = server(db_url, tmp_path, name="first", **env).start()
    second: Proc | None = None
    try:
        tenant = make_tenant(db_url, sim=None)  # no telemetry: the turn ends at once
        hook_id = _subscribe(first.base_url, tenant, receiver.url)
        s = httpx.post(f"{first.base_url}/v1/sessions", json={"input": "db down"}, headers=tenant.headers())
        assert s.status_code == 201, s.text
        assert wait_status(first.base_url, tenant.headers(), s.json()["id"])["status"] == "idle"
        # kill inside the first 3 s wait: once the first attempt is recorded (and checkpointed a moment later; an
        # attempt killed before its checkpoint is sent again, which is the documented at-least-once)
        wait_for(lambda: _deliveries(first.base_url, tenant, hook_id)[0]["attempts"] == 1, what="the first attempt")
        time.sleep(0.7)
        first.kill9()
        killed_at = time.time()
        assert receiver.codes() == [500]
        second = server(db_url, tmp_path, name="second", **env).start()
        wait_for(lambda: len(receiver.delivered()) == 1, timeout=60, what="the delivery after the restart")
        time.sleep(2)
        assert receiver.codes() == [500, 500, 204]  # the schedule went on; nothing was re-sent from scratch
        assert receiver.received[1].at > killed_at and receiver.received[2].at - receiver.received[1].at >= 8
        ids = {r.headers["x-tracehound-delivery"] for r in receiver.received}
        assert len(ids) == 1
        [d] = _deliveries(second.base_url, tenant, hook_id)
        assert d["status"] == "delivered" and d["attempts"] == 3 and d["last_status_code"] == 204
    finally:
        first.stop()
        if second is not None:
            second.stop()


@pytest.fixture(scope="module")
def quick(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Proc, str]]:
    tmp = tmp_path_factory.mktemp("webhooks-quick")
    db_url = f"sqlite:///{tmp / 'tracehound.db'}"
    env = {
        "TRACEHOUND_WEBHOOK_MAX_ATTEMPTS": "3",
        "TRACEHOUND_WEBHOOK_RETRY_BASE_SECONDS": "0.5",
        "TRACEHOUND_SESSION_TIMEOUT_SECONDS": "3",
    }
    proc = server(db_url, tmp, **env).start()
    yield proc, db_url
    proc.stop()


def test_a_receiver_that_never_accepts_gets_max_attempts(quick: tuple[Proc, str]) -> None:
    api, db_url = quick
    receiver = Receiver(fail=-1)
    try:
        tenant = make_tenant(db_url, sim=None)
        hook_id = _subscribe(api.base_url, tenant, receiver.url, events=["session.idle"])
        s = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "db down"}, headers=tenant.headers())
        wait_status(api.base_url, tenant.headers(), s.json()["id"])
        wait_for(lambda: _deliveries(api.base_url, tenant, hook_id)[0]["status"] == "failed", what="failed delivery")
        [d] = _deliveries(api.base_url, tenant, hook_id)
        assert d["attempts"] == 3 and d["last_status_code"] == 500 and "HTTP 500" in str(d["last_error"])
        time.sleep(2)
        assert receiver.codes() == [500, 500, 500]
    finally:
        receiver.close()


def test_a_session_failed_by_the_deadline_sends_session_failed(quick: tuple[Proc, str]) -> None:
    api, db_url = quick
    receiver = Receiver()
    try:
        # every simulator query takes 30 s: the 3 s server-side deadline fails the session first
        tenant = make_tenant(db_url, sim={"seed": 7, "latency_seconds": 30})
        hook_id = _subscribe(api.base_url, tenant, receiver.url, events=["session.failed"])
        s = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "checkout errors"}, headers=tenant.headers())
        done = wait_status(api.base_url, tenant.headers(), s.json()["id"], timeout=30)
        assert done["status"] == "failed"
        wait_for(lambda: len(receiver.delivered()) == 1, what="the session.failed event")
        event = orjson.loads(receiver.delivered()[0].body)
        assert event["type"] == "session.failed" and event["data"]["session"]["id"] == done["id"]
        assert event["data"]["session"]["status"] == "failed"
        assert receiver.delivered()[0].headers["x-tracehound-event"] == "session.failed"
        [d] = _deliveries(api.base_url, tenant, hook_id)
        assert d["status"] == "delivered" and d["event_type"] == "session.failed"
    finally:
        receiver.close()
