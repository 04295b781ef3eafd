"""The session event log: ``/events`` (JSON pages, ``types`` filter) and ``/sse`` (Server-Sent Events), on the
shared server, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.support.polling import wait_status
from tests.support.servers import Proc
from tests.support.tenants import Tenant, make_tenant

INCIDENT = "Checkout is returning 500 errors since 10 minutes ago."


def _create(api: Proc, t: Tenant) -> str:
    r = httpx.post(f"{api.base_url}/v1/sessions", json={"input": INCIDENT}, headers=t.headers(), timeout=30)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def _events(api: Proc, t: Tenant, sid: str, **params: Any) -> httpx.Response:
    return httpx.get(f"{api.base_url}/v1/sessions/{sid}/events", params=params, headers=t.headers(), timeout=30)


def _sse(api: Proc, t: Tenant, sid: str, headers: dict[str, str] | None = None, **params: Any) -> list[dict[str, Any]]:
    """Every frame of an ``until_idle`` stream, parsed: {event, id, data}."""
    frames: list[dict[str, Any]] = []
    current: dict[str, Any] = {}
    with httpx.stream(
        "GET",
        f"{api.base_url}/v1/sessions/{sid}/sse",
        params={"until_idle": "true", **params},
        headers={**t.headers(), **(headers or {})},
        timeout=60,
    ) as r:
        assert r.status_code == 200, r.read()
        assert r.headers["content-type"].startswith("text/event-stream")
        for line in r.iter_lines():
            if line == "":
                if "event" in current:
                    frames.append(current)
                current = {}
            elif line.startswith(("event:", "id:", "data:")):
                name, _, value = line.partition(": ")
                current[name] = json.loads(value) if name == "data" else value
    return frames


def test_a_turn_logs_status_steps_evidence_message_and_idle_in_order(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)
    body = _events(api, tenant, sid).json()
    types = [e["type"] for e in body["data"]]
    assert types[0] == "session.status"
    assert body["data"][0]["data"] == {"status": "running"}
    assert {"turn.started", "step.started", "step.completed", "evidence.found"} <= set(types)
    assert types[-2:] == ["message.completed", "session.idled"]
    ids = [e["id"] for e in body["data"]]
    assert ids == list(range(1, len(ids) + 1))
    assert body["next_since_id"] == ids[-1]
    for e in body["data"]:
        assert set(e) == {"id", "type", "ts", "session_id", "sequence", "data"}
        assert e["session_id"] == sid
        assert e["sequence"] == e["id"]
        assert e["ts"].endswith("Z")


def test_events_filter_by_types_and_page_with_since_id(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)
    every = _events(api, tenant, sid).json()["data"]
    only = _events(api, tenant, sid, types="session.status, session.idled").json()
    assert [e["type"] for e in only["data"]] == ["session.status", "session.idled"]
    assert only["next_since_id"] == every[-1]["id"]
    first = _events(api, tenant, sid, types="evidence.found", limit=1).json()
    assert [e["type"] for e in first["data"]] == ["evidence.found"]
    rest = _events(api, tenant, sid, types="evidence.found", since_id=first["next_since_id"]).json()["data"]
    evidence = [e["id"] for e in every if e["type"] == "evidence.found"]
    assert [first["data"][0]["id"]] + [e["id"] for e in rest] == evidence
    pages: list[int] = []
    since = 0
    while page := _events(api, tenant, sid, since_id=since, limit=3).json()["data"]:
        pages += [e["id"] for e in page]
        since = page[-1]["id"]
    assert pages == [e["id"] for e in every]
    assert _events(api, tenant, sid, types=" , ").status_code == 400
    assert _events(api, tenant, sid, types="no.such.type").json() == {"data": [], "next_since_id": every[-1]["id"]}


def test_events_of_another_organisation_are_404(api: Proc, shared_db_url: str, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    other = make_tenant(shared_db_url)
    assert _events(api, other, sid).status_code == 404
    r = httpx.get(f"{api.base_url}/v1/sessions/{sid}/sse", headers=other.headers(), timeout=10)
    assert r.status_code == 404
    assert r.json()["error"]["message"]
    assert httpx.get(f"{api.base_url}/v1/sessions/{sid}/sse", timeout=10).status_code == 401


def test_sse_opens_with_connected_and_streams_the_turn_in_order_until_idle(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    frames = _sse(api, tenant, sid)
    assert frames[0]["event"] == "connected"
    assert frames[0]["data"] == {"session_id": sid, "since_id": 0}
    assert "id" not in frames[0]
    assert frames[-1]["event"] == "end"
    events = frames[1:-1]
    assert [f["event"] for f in events] == [f["data"]["type"] for f in events]
    assert [int(f["id"]) for f in events] == [f["data"]["id"] for f in events]
    assert events[-1]["event"] == "session.idled"
    assert [f["data"] for f in events] == _events(api, tenant, sid).json()["data"]


def test_sse_resumes_after_last_event_id_without_gaps_or_duplicates(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)
    every = [e["id"] for e in _events(api, tenant, sid).json()["data"]]
    cut = every[len(every) // 2]
    resumed = _sse(api, tenant, sid, headers={"Last-Event-ID": str(cut)}, since_id=0)
    assert resumed[0]["data"]["since_id"] == cut
    assert [int(f["id"]) for f in resumed[1:-1]] == [i for i in every if i > cut]
    by_query = _sse(api, tenant, sid, since_id=cut)
    assert [f["id"] for f in by_query[1:-1]] == [f["id"] for f in resumed[1:-1]]
    assert _sse(api, tenant, sid, since_id=every[-1])[1:] == [
        {"event": "end", "data": {"reason": "session.idle", "last_id": every[-1]}}
    ]
    typed = _sse(api, tenant, sid, types="session.status,session.idled")
    assert [f["event"] for f in typed[1:-1]] == ["session.status", "session.idled"]
    r = httpx.get(
        f"{api.base_url}/v1/sessions/{sid}/sse", headers={**tenant.headers(), "Last-Event-ID": "x"}, timeout=10
    )
    assert r.status_code == 400


def test_a_follow_up_logs_its_status_and_streams_from_where_the_first_turn_ended(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)
    last = _events(api, tenant, sid).json()["next_since_id"]
    r = httpx.post(
        f"{api.base_url}/v1/sessions/{sid}/messages", json={"input": "Why payment?"}, headers=tenant.headers()
    )
    assert r.status_code == 202, r.text
    frames = _sse(api, tenant, sid, since_id=last)
    types = [f["event"] for f in frames]
    assert types[0] == "connected"
    assert types[1] == "session.status"
    assert frames[1]["data"]["data"] == {"status": "follow_up_running"}
    assert types[-3:] == ["message.completed", "session.idled", "end"]
    assert int(frames[1]["id"]) == last + 1


def test_sse_without_until_idle_keeps_the_stream_open(api: Proc, tenant: Tenant) -> None:
    sid = _create(api, tenant)
    wait_status(api.base_url, tenant.headers(), sid)
    seen: list[str] = []

    def read() -> None:
        url = f"{api.base_url}/v1/sessions/{sid}/sse"
        with httpx.stream("GET", url, headers=tenant.headers(), timeout=httpx.Timeout(5, read=2)) as r:
            seen.extend(line for line in r.iter_lines() if line.startswith("event:"))

    with pytest.raises(httpx.ReadTimeout):
        read()
    assert seen[0] == "event: connected"
    assert seen[-1] == "event: session.idled"
