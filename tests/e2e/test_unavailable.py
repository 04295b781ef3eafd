"""503 in the envelope when the database is unreachable, and recovery when it comes back. The database is really
cut off (PostgreSQL refuses connections to it and its sessions are terminated), nothing is mocked."""

from __future__ import annotations

import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.conftest import PG_ADMIN
from tests.support.servers import server
from tests.support.tenants import make_tenant

pytestmark = [pytest.mark.e2e, pytest.mark.postgres]


def _cut_off(dbname: str, *, allowed: bool) -> None:
    with psycopg.connect(PG_ADMIN, autocommit=True) as conn:
        conn.execute(f'ALTER DATABASE "{dbname}" ALLOW_CONNECTIONS {"true" if allowed else "false"}')
        if not allowed:
            conn.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (dbname,))


def test_database_outage_gives_503_with_retry_after_then_recovers(pg_factory: object, tmp_path: Path) -> None:
    url = pg_factory()  # type: ignore[operator]
    dbname = url.rsplit("/", 1)[1]
    proc = server(url, tmp_path).start()
    try:
        t = make_tenant(url, sim=None)
        sid = httpx.post(f"{proc.base_url}/v1/sessions", json={"input": "x"}, headers=t.headers()).json()["id"]
        _cut_off(dbname, allowed=False)
        try:
            for method, path, body in (
                ("GET", f"/v1/sessions/{sid}", None),
                ("POST", "/v1/sessions", {"input": "checkout 500s"}),
                ("GET", "/v1/sessions", None),
            ):
                r = httpx.request(method, proc.base_url + path, json=body, headers=t.headers(), timeout=30)
                assert r.status_code == 503, (path, r.text)
                assert r.headers["Retry-After"] == str(r.json()["error"]["retry_after"])
                assert "unavailable" in r.json()["error"]["message"].lower() or "lost" in r.json()["error"]["message"]
            ready = httpx.get(f"{proc.base_url}/readyz", timeout=30)
            assert ready.status_code == 503
            assert ready.headers["Retry-After"]
        finally:
            _cut_off(dbname, allowed=True)
        deadline = time.monotonic() + 30
        while httpx.get(f"{proc.base_url}/readyz", timeout=30).status_code != 200:
            assert time.monotonic() < deadline, proc.log_tail()
            time.sleep(0.5)
        r = httpx.get(f"{proc.base_url}/v1/sessions/{sid}", headers=t.headers(), timeout=30)
        assert r.status_code == 200
    finally:
        proc.stop()
