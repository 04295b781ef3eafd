"""The concurrency limit and idempotency hold exactly under concurrent requests."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import httpx
import pytest

from tests.support.polling import wait_status
from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant, stored_counts

SLOW = {"seed": 3, "latency_seconds": 3}  # investigations stay running for several seconds


async def _burst(bases: list[str], headers: dict[str, str], bodies: list[dict[str, object]]) -> list[httpx.Response]:
    async with httpx.AsyncClient(timeout=60, limits=httpx.Limits(max_connections=100)) as client:
        return await asyncio.gather(
            *(
                client.post(f"{bases[i % len(bases)]}/v1/sessions", json=body, headers=headers)
                for i, body in enumerate(bodies)
            )
        )


def _assert_exactly_five(responses: list[httpx.Response]) -> None:
    codes = Counter(r.status_code for r in responses)
    assert codes == {201: 5, 429: 45}, codes
    for r in responses:
        if r.status_code == 429:
            assert r.headers["Retry-After"] == "30"
            assert r.json()["error"]["retry_after"] == 30
            assert "limit 5" in r.json()["error"]["message"]


def test_50_concurrent_creates_admit_exactly_5(api: Proc, shared_db_url: str) -> None:
    t = make_tenant(shared_db_url, sim=SLOW)
    responses = asyncio.run(_burst([api.base_url], t.headers(), [{"input": f"incident {i}"} for i in range(50)]))
    _assert_exactly_five(responses)
    assert stored_counts(shared_db_url, t.org_id) == (5, 5)


def test_20_concurrent_identical_requests_create_one_session(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    body = {"input": "checkout 500s", "idempotency_key": "pd-incident-42"}
    responses = asyncio.run(_burst([api.base_url], tenant.headers(), [body] * 20))
    assert Counter(r.status_code for r in responses) == {201: 1, 200: 19}
    assert len({r.json()["id"] for r in responses}) == 1
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1


@pytest.mark.postgres
@pytest.mark.e2e
def test_limit_is_exact_across_two_api_processes(pg_factory: object, tmp_path: Path) -> None:
    url = pg_factory()  # type: ignore[operator]
    # API-only processes and no worker: admitted sessions stay running, so the limit is all that decides.
    first = server(url, tmp_path, name="api-1", extra_args=["--api-only"]).start()
    second = server(url, tmp_path, name="api-2", extra_args=["--api-only"]).start()
    try:
        t = make_tenant(url)
        bodies = [{"input": f"incident {i}"} for i in range(50)]
        responses = asyncio.run(_burst([first.base_url, second.base_url], t.headers(), bodies))
        _assert_exactly_five(responses)
        assert stored_counts(url, t.org_id) == (5, 5)
    finally:
        first.stop()
        second.stop()


def test_follow_ups_count_toward_the_limit(api: Proc, shared_db_url: str) -> None:
    # Each investigation of this org takes several seconds, so the second one is still running below.
    t = make_tenant(shared_db_url, max_running=1, sim={"seed": 3, "latency_seconds": 1})
    sid = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "x"}, headers=t.headers()).json()["id"]
    wait_status(api.base_url, t.headers(), sid)
    r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "y"}, headers=t.headers())
    assert r.status_code == 201
    follow = httpx.post(f"{api.base_url}/v1/sessions/{sid}/messages", json={"input": "why?"}, headers=t.headers())
    assert follow.status_code == 429
    assert follow.headers["Retry-After"] == "30"
    assert wait_status(api.base_url, t.headers(), sid)["status"] == "idle"  # nothing changed on the session
