"""Crash a process mid-investigation: no session is lost or left stuck."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import pytest

from tests.conftest import new_database_url
from tests.support.polling import wait_status
from tests.support.servers import Proc, server, worker
from tests.support.tenants import Tenant, make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

SLOW = {
    "seed": 5,
    "latency_seconds": 1.5,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


def _start_session(base: str, t: Tenant) -> str:
    r = httpx.post(f"{base}/v1/sessions", json={"input": "Checkout 500s since 10 minutes ago"}, headers=t.headers())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _wait_started(base: str, t: Tenant, sid: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        s = httpx.get(f"{base}/v1/sessions/{sid}", headers=t.headers()).json()
        if s["started_at"]:
            return
        time.sleep(0.1)
    raise AssertionError("the investigation never started")


@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def test_server_killed_mid_investigation_finishes_after_restart(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = new_database_url(backend, tmp_path, request)
    first = server(url, tmp_path, name="first").start()
    t = make_tenant(url, sim=SLOW)
    sid = _start_session(first.base_url, t)
    _wait_started(first.base_url, t, sid)
    first.kill9()
    second = Proc(first.args, first.env, tmp_path / "second.log", first.port).start()
    try:
        done = wait_status(second.base_url, t.headers(), sid, timeout=90)
        assert done["status"] == "idle", second.log_tail()
        assert [m["role"] for m in done["messages"]] == ["user", "assistant"]
        assert done["report"]["root_cause"] == "payment"
    finally:
        second.stop()


@pytest.mark.postgres
def test_killed_worker_sessions_are_finished_by_the_other_worker(pg_factory: object, tmp_path: Path) -> None:
    url = pg_factory()  # type: ignore[operator]
    api = server(url, tmp_path, name="api", extra_args=["--api-only"]).start()
    w1 = worker(url, tmp_path, name="worker-1").start()
    w2: Proc | None = None
    try:
        t = make_tenant(url, sim=SLOW)
        ids = [_start_session(api.base_url, t) for _ in range(2)]
        for sid in ids:
            _wait_started(api.base_url, t, sid)
        w2 = worker(url, tmp_path, name="worker-2").start()
        w1.kill9()
        for sid in ids:
            done = wait_status(api.base_url, t.headers(), sid, timeout=90)
            assert done["status"] == "idle", w2.log_tail()
            assert done["messages"][-1]["role"] == "assistant"
        assert "missed its heartbeat" in w2.log_path.read_text()
    finally:
        for p in (api, w1, w2):
            if p is not None:
                p.stop()


def test_deadline_fails_a_stuck_session_with_a_reason(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = new_database_url("sqlite", tmp_path, request)
    proc = server(url, tmp_path, TRACEHOUND_SESSION_TIMEOUT_SECONDS="3").start()
    try:
        t = make_tenant(url, sim={"seed": 1, "latency_seconds": 20})
        sid = _start_session(proc.base_url, t)
        done = wait_status(proc.base_url, t.headers(), sid, timeout=30)
        assert done["status"] == "failed"
        answer = done["messages"][-1]
        assert answer["role"] == "assistant"
        assert "time limit (3 seconds)" in answer["markdown_content"]
        # The late end of the cancelled workflow must not revive the session.
        time.sleep(2)
        assert httpx.get(f"{proc.base_url}/v1/sessions/{sid}", headers=t.headers()).json()["status"] == "failed"
        r = httpx.post(f"{proc.base_url}/v1/sessions/{sid}/messages", json={"input": "retry?"}, headers=t.headers())
        assert r.status_code == 409
    finally:
        proc.stop()


def test_step_timeout_fails_the_session_and_says_why(tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = new_database_url("sqlite", tmp_path, request)
    proc = server(url, tmp_path, TRACEHOUND_STEP_TIMEOUT_SECONDS="1").start()
    try:
        t = make_tenant(url, sim={"seed": 1, "latency_seconds": 5})
        done = wait_status(proc.base_url, t.headers(), _start_session(proc.base_url, t), timeout=30)
        assert done["status"] == "failed"
        assert "longer than its limit of 1 seconds" in done["messages"][-1]["markdown_content"]
    finally:
        proc.stop()
