"""The SSE stream of a real server process: heartbeats at the configured interval, and a stream resumed with
``Last-Event-ID`` across a server restart (the log is in the database) with no gaps or duplicates."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant, run
from tracehound.auth import service as auth

pytestmark = pytest.mark.e2e

SLOW = {
    "seed": 5,
    "latency_seconds": 1.5,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


def _lines(base: str, t: Tenant, sid: str, headers: dict[str, str] | None = None, **params: Any) -> Iterator[str]:
    with httpx.stream(
        "GET",
        f"{base}/v1/sessions/{sid}/sse",
        params=params,
        headers={**t.headers(), **(headers or {})},
        timeout=httpx.Timeout(10, read=30),
    ) as r:
        assert r.status_code == 200
        yield from r.iter_lines()


def _create(base: str, t: Tenant) -> str:
    r = httpx.post(f"{base}/v1/sessions", json={"input": "Checkout 500s since 10 minutes ago"}, headers=t.headers())
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


@dataclass
class Served:
    url: str
    tmp: Path
    proc: Proc


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """One server for the module (heartbeat every 0.5 s); the restart test replaces its process."""
    tmp = tmp_path_factory.mktemp("sse")
    url = f"sqlite:///{tmp / 'th.db'}"
    holder = Served(url, tmp, server(url, tmp, TRACEHOUND_SSE_HEARTBEAT_SECONDS="0.5").start())
    yield holder
    holder.proc.stop()


def test_heartbeats_follow_the_configured_interval(served: Served) -> None:
    t = make_tenant(served.url, sim=None)  # no telemetry: the turn ends at once
    sid = _create(served.proc.base_url, t)
    started = time.monotonic()
    beats = 0
    for line in _lines(served.proc.base_url, t, sid):
        if line == ": heartbeat":
            beats += 1
            if beats == 3:
                break
    assert 1.0 < time.monotonic() - started < 10


def test_a_stream_resumes_across_a_server_restart_without_gaps_or_duplicates(served: Served) -> None:
    first = served.proc
    t = make_tenant(served.url, sim=SLOW)
    sid = _create(first.base_url, t)
    got: list[dict[str, Any]] = []
    for line in _lines(first.base_url, t, sid, until_idle="true"):
        if line.startswith("data: ") and '"sequence"' in line:
            got.append(json.loads(line[6:]))
            if got[-1]["type"] == "turn.started":
                break
    first.kill9()
    second = served.proc = Proc(first.args, first.env, served.tmp / "second.log", first.port).start()
    last = got[-1]["id"]
    frames = list(_lines(second.base_url, t, sid, {"Last-Event-ID": str(last)}, until_idle="true"))
    assert frames[1] == "event: connected"
    got += [json.loads(ln[6:]) for ln in frames if ln.startswith("data: ") and '"sequence"' in ln]
    assert frames[-3] == "event: end"
    ids = [e["id"] for e in got]
    assert ids == list(range(1, len(ids) + 1)), ids
    full = httpx.get(f"{second.base_url}/v1/sessions/{sid}/events", headers=t.headers()).json()["data"]
    assert got == full
    assert got[-1]["type"] == "session.idled", second.log_tail()


def test_revoking_the_key_closes_its_open_stream(served: Served) -> None:
    t = make_tenant(served.url, sim=None)
    sid = _create(served.proc.base_url, t)
    seen: list[str] = []
    lines = _lines(served.proc.base_url, t, sid)
    for line in lines:
        seen.append(line)
        if line == ": heartbeat":
            break
    run(served.url, lambda db: auth.revoke_key(db, key_id=t.admin_key_id))
    seen += list(lines)  # ends by itself within a heartbeat or two (the read timeout is 30 s)
    assert "event: session.idled" in seen
    again = httpx.get(f"{served.proc.base_url}/v1/sessions/{sid}/sse", headers=t.headers(), timeout=10)
    assert again.status_code == 401


def test_open_streams_end_cleanly_when_the_server_stops(tmp_path: Path) -> None:
    """SIGTERM ends open streams at once (their clients resume elsewhere) instead of holding the graceful shutdown
    until its 10 s timeout; the stream ends as a normal end of the response, not a broken connection."""
    url = f"sqlite:///{tmp_path / 'th.db'}"
    proc = server(url, tmp_path, name="stopping").start()
    try:
        t = make_tenant(url, sim=None)
        sid = _create(proc.base_url, t)
        lines = _lines(proc.base_url, t, sid)
        assert next(lines).startswith("retry:")
        assert proc.popen is not None
        proc.popen.terminate()
        rest = list(lines)  # a clean end: no httpx.RemoteProtocolError
        assert "event: connected" in rest
        proc.popen.wait(timeout=30)
        log = proc.log_tail(200)
        assert "Finished server process" in log
        assert "timeout graceful shutdown exceeded" not in log  # the stream did not hold the shutdown
    finally:
        proc.stop()
