"""How Alertmanager notifications map to sessions, against the real server on SQLite and PostgreSQL: concurrent
duplicates open exactly one session; alerts joining a firing group join its session; a resolution is recorded on
the session (the ``alert`` field, an event, a tag); a late re-send of the resolved episode creates nothing; the
group firing again later (a new ``startsAt``) opens a new session; a refused notification stores nothing."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant, make_tenant, run, stored_counts
from tracehound.models import AlertEpisode, SessionEvent

GROUP_KEY = '{}/{severity="page"}:{alertname="HighErrorRate"}'


def alert(fingerprint: str, starts: str, status: str = "firing", ends: str = "0001-01-01T00:00:00Z") -> dict[str, Any]:
    return {
        "status": status,
        "labels": {"alertname": "HighErrorRate", "service": "payment", "pod": fingerprint},
        "annotations": {"summary": "payment 5xx above 5%"},
        "startsAt": starts,
        "endsAt": ends,
        "generatorURL": "http://prometheus.example/graph?g0.expr=x",
        "fingerprint": fingerprint,
    }


def notification(*alerts: dict[str, Any], status: str = "firing") -> dict[str, Any]:
    return {
        "version": "4",
        "groupKey": GROUP_KEY,
        "truncatedAlerts": 0,
        "status": status,
        "receiver": "tracehound",
        "groupLabels": {"alertname": "HighErrorRate"},
        "commonLabels": {"alertname": "HighErrorRate", "service": "payment"},
        "commonAnnotations": {"summary": "payment 5xx above 5%"},
        "externalURL": "http://alertmanager.example",
        "alerts": list(alerts),
    }


def integration(api: Proc, tenant: Tenant) -> str:
    r = httpx.post(
        f"{api.base_url}/v1/integrations", json={"name": "am", "kind": "alertmanager"}, headers=tenant.headers()
    )
    assert r.status_code == 201, r.text
    token: str = r.json()["token"]
    return token


def send(api: Proc, token: str, body: dict[str, Any]) -> httpx.Response:
    return httpx.post(
        f"{api.base_url}/v1/alerts/alertmanager", json=body, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def episodes(db_url: str, org_id: str) -> list[AlertEpisode]:
    async def go(db: AsyncSession) -> list[AlertEpisode]:
        stmt = select(AlertEpisode).where(AlertEpisode.org_id == org_id).order_by(AlertEpisode.created_at)
        return list((await db.execute(stmt)).scalars())

    return run(db_url, go)


def count_events(db_url: str, session_id: str, type_: str) -> int:
    async def go(db: AsyncSession) -> int:
        stmt = select(func.count()).where(SessionEvent.session_id == session_id, SessionEvent.type == type_)
        return int((await db.execute(stmt)).scalar_one())

    return run(db_url, go)


def get_session(api: Proc, tenant: Tenant, session_id: str) -> dict[str, Any]:
    r = httpx.get(f"{api.base_url}/v1/sessions/{session_id}", headers=tenant.headers(), timeout=10)
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def test_concurrent_duplicates_open_exactly_one_session(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    token = integration(api, tenant)
    body = notification(alert("fp-a", "2024-03-15T14:30:00Z"))
    with ThreadPoolExecutor(20) as pool:
        answers = list(pool.map(lambda _i: send(api, token, copy.deepcopy(body)), range(20)))
    assert sorted(r.status_code for r in answers) == [200] * 19 + [201], [r.text for r in answers]
    assert len({r.json()["session_id"] for r in answers}) == 1
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1
    [episode] = episodes(shared_db_url, tenant.org_id)
    assert episode.notifications == 20 and episode.instances == ["fp-a@2024-03-15T14:30:00.000Z"]


def test_new_alerts_of_a_firing_group_join_its_session(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    token = integration(api, tenant)
    first = send(api, token, notification(alert("fp-a", "2024-03-15T14:30:00Z")))
    assert first.status_code == 201, first.text
    # concurrently, notifications each carrying another alert of the same group (other pods starting to fail)
    bodies = [
        notification(alert("fp-a", "2024-03-15T14:30:00Z"), alert(f"fp-{i}", "2024-03-15T14:31:00Z")) for i in range(8)
    ]
    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda b: send(api, token, b), bodies))
    assert {r.status_code for r in answers} == {200}
    assert {r.json()["session_id"] for r in answers} == {first.json()["session_id"]}
    [episode] = episodes(shared_db_url, tenant.org_id)
    assert len(episode.instances) == 9
    session = get_session(api, tenant, first.json()["session_id"])
    assert session["time"] == "2024-03-15T14:30:00.000Z"
    assert session["alert"]["status"] == "firing" and session["alert"]["notifications"] == 9
    assert session["alert"]["group_key"] == GROUP_KEY and session["alert"]["source"] == "alertmanager"


def test_resolve_then_fire_again_opens_a_new_session(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    token = integration(api, tenant)
    firing = notification(alert("fp-a", "2024-03-15T14:30:00Z"))
    opened = send(api, token, firing).json()["session_id"]
    resolved = notification(
        alert("fp-a", "2024-03-15T14:30:00Z", status="resolved", ends="2024-03-15T14:52:30Z"), status="resolved"
    )
    r = send(api, token, resolved)
    assert r.status_code == 200 and r.json() == {"session_id": opened, "recorded": True}
    assert send(api, token, resolved).json() == {"session_id": opened, "recorded": False}
    assert count_events(shared_db_url, opened, "alert.resolved") == 1
    session = get_session(api, tenant, opened)
    assert session["alert"]["status"] == "resolved"
    assert session["alert"]["resolved_at"] == "2024-03-15T14:52:30.000Z"
    assert "alert-resolved" in session["tags"]
    # a late re-send of the old firing notification (same fingerprint, same startsAt): still that session
    late = send(api, token, firing)
    assert late.status_code == 200 and late.json()["session_id"] == opened
    assert get_session(api, tenant, opened)["alert"]["status"] == "resolved"
    # the group fires again later: a new startsAt is a new incident, hence a new session
    again = send(api, token, notification(alert("fp-a", "2024-03-15T16:05:00Z")))
    assert again.status_code == 201, again.text
    assert again.json()["session_id"] != opened
    assert get_session(api, tenant, again.json()["session_id"])["time"] == "2024-03-15T16:05:00.000Z"
    assert [e.status for e in episodes(shared_db_url, tenant.org_id)] == ["resolved", "firing"]
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 2


def test_resolution_without_a_session_records_nothing(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    token = integration(api, tenant)
    r = send(api, token, notification(alert("fp-z", "2024-03-15T14:30:00Z", status="resolved"), status="resolved"))
    assert r.status_code == 200 and r.json() == {"session_id": None, "recorded": False}
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)
    assert episodes(shared_db_url, tenant.org_id) == []


def test_at_the_concurrency_limit_nothing_is_stored_and_a_retry_opens_it(api: Proc, shared_db_url: str) -> None:
    tenant = make_tenant(shared_db_url, max_running=1, sim={"seed": 7, "latency_seconds": 3})
    token = integration(api, tenant)
    busy = httpx.post(f"{api.base_url}/v1/sessions", json={"input": "slow one"}, headers=tenant.headers())
    assert busy.status_code == 201, busy.text
    body = notification(alert("fp-a", "2024-03-15T14:30:00Z"))
    refused = send(api, token, body)
    assert refused.status_code == 429, refused.text
    assert refused.json()["error"]["retry_after"] is not None and refused.headers["Retry-After"]
    assert stored_counts(shared_db_url, tenant.org_id)[0] == 1 and episodes(shared_db_url, tenant.org_id) == []
    wait_status(api.base_url, tenant.headers(), busy.json()["id"])
    retried = send(api, token, body)  # Alertmanager retries: now there is room
    assert retried.status_code == 201, retried.text
    assert len(episodes(shared_db_url, tenant.org_id)) == 1


def test_alert_sessions_are_listed_under_their_origin(api: Proc, tenant: Tenant) -> None:
    token = integration(api, tenant)
    opened = send(api, token, notification(alert("fp-a", "2024-03-15T14:30:00Z"))).json()["session_id"]
    listing = f"{api.base_url}/v1/sessions"
    plain = httpx.get(listing, headers=tenant.headers(), timeout=10).json()
    assert opened not in [s["id"] for s in plain["sessions"]]  # the Traversal list: sessions created via the API
    alerts = httpx.get(listing, params={"origin": "alert"}, headers=tenant.headers(), timeout=10).json()
    assert [s["id"] for s in alerts["sessions"]] == [opened] and alerts["total"] == 1
    assert alerts["sessions"][0]["alert"]["source"] == "alertmanager"
    bad = httpx.get(listing, params={"origin": "web"}, headers=tenant.headers(), timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["message"].startswith("origin:")


def test_an_oversized_notification_is_413_and_stores_nothing(api: Proc, tenant: Tenant, shared_db_url: str) -> None:
    token = integration(api, tenant)
    headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def chunks() -> Iterator[bytes]:  # no Content-Length: the limit must hold on the streamed body too
        yield b'{"version": "4", "groupKey": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    r = httpx.post(f"{api.base_url}/v1/alerts/alertmanager", content=chunks(), headers=headers, timeout=30)
    assert r.status_code == 413 and "larger than" in r.json()["error"]["message"], r.text
    assert stored_counts(shared_db_url, tenant.org_id) == (0, 0)
