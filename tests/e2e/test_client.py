"""``tracehound.client`` (sync and async) against a real server: the whole flow, error mapping, and the 429/409
retry paths on an organisation limited to one running session with a slow simulator."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.servers import Proc, server
from tests.support.tenants import Tenant, make_tenant
from tracehound.client import (
    AsyncClient,
    Client,
    Conflict,
    Event,
    Forbidden,
    NotFound,
    RateLimited,
    Unauthorized,
)

pytestmark = pytest.mark.e2e

INCIDENT = "Checkout is returning 500 errors since 10 minutes ago."
SLOW = {
    "seed": 1,
    "latency_seconds": 2,
    "fault": {"service": "payment", "type": "errors", "start": None, "duration_minutes": 60},
}


@dataclass(frozen=True)
class Served:
    url: str
    proc: Proc


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    tmp: Path = tmp_path_factory.mktemp("client")
    url = f"sqlite:///{tmp / 'th.db'}"
    proc = server(url, tmp, TRACEHOUND_RETRY_AFTER_429="1", TRACEHOUND_RETRY_AFTER_409="1").start()
    yield Served(url, proc)
    proc.stop()


@pytest.fixture
def tenant(served: Served) -> Tenant:
    return make_tenant(served.url)


def test_create_stream_wait_follow_up_list_and_events(served: Served, tenant: Tenant) -> None:
    with Client(served.proc.base_url, tenant.admin_key) as c:
        created = c.create(INCIDENT, title="checkout 500s", tags=["pay", "sev1"])
        assert (created.status, created.title, created.tags) == ("running", "checkout 500s", ["pay", "sev1"])
        types = [e.type for e in c.stream_events(created.id, until_idle=True)]
        assert types[0] == "session.status"
        assert types[-1] == "session.idled"
        done = c.wait(created.id, interval=0.2, timeout=60)
        assert done.status == "idle"
        assert done.answer is not None
        assert "payment" in done.answer
        assert done.report is not None
        last = c.list_events(created.id).next_since_id
        asked = c.follow_up(created.id, "Why payment?")
        assert asked.status == "follow_up_running"
        assert asked.assistant_message_id is not None
        follow = list(c.stream_events(created.id, since_id=last, until_idle=True))
        assert follow[0].id == last + 1
        assert follow[0].data == {"status": "follow_up_running"}
        answered = c.wait(created.id, interval=0.2, timeout=60)
        assert answered.messages is not None
        assert [m.role for m in answered.messages] == ["user", "assistant", "user", "assistant"]
        assert answered.messages[-1].id == asked.assistant_message_id
        for _ in range(2):
            c.create(INCIDENT, tags=["pay"])
        listed = list(c.list_sessions(page_size=2, tags=["pay"]))
        assert len(listed) == 3
        assert listed[-1].id == created.id
        assert c.list_page(1, 2).next == 2
        only = c.list_events(created.id, types=["session.idled"])
        assert [e.type for e in only.data] == ["session.idled", "session.idled"]


def test_errors_are_typed(served: Served, tenant: Tenant) -> None:
    base = served.proc.base_url
    with Client(base, "trv_ak_" + "x" * 43) as bad, pytest.raises(Unauthorized) as info:
        bad.create(INCIDENT)
    assert info.value.status == 401
    with Client(base, tenant.member_key) as member:
        with pytest.raises(Forbidden) as forbidden:
            member.list_page()
        assert "admin" in forbidden.value.message
        with pytest.raises(NotFound):
            member.get("00000000-0000-4000-8000-000000000000")


def test_429_and_409_honour_retry_after(served: Served) -> None:
    t = make_tenant(served.url, max_running=1, sim=SLOW)
    with Client(served.proc.base_url, t.admin_key) as c:
        first = c.create(INCIDENT)
        with pytest.raises(RateLimited) as limited:
            c.create(INCIDENT)
        assert limited.value.retry_after == 1
        with pytest.raises(Conflict) as busy:
            c.follow_up(first.id, "why?")
        assert busy.value.retry_after == 1
        started = time.monotonic()
        answered = c.follow_up(first.id, "why?", retry=True, retry_timeout=60)
        assert answered.status == "follow_up_running"
        assert time.monotonic() - started >= 1
        second = c.create(INCIDENT, retry=True, retry_timeout=60)  # waits for the follow-up to finish
        assert second.status == "running"
        assert c.get(first.id).status == "idle"
        cancelled = c.cancel(second.id)
        assert cancelled.status == "idle"
        assert cancelled.raw["cancelled"] is True


async def test_the_async_client(served: Served, tenant: Tenant) -> None:
    async with AsyncClient(served.proc.base_url, tenant.admin_key) as c:
        created = await c.create(INCIDENT, tags=["async"])
        types = [e.type async for e in c.stream_events(created.id, until_idle=True)]
        assert types[-2:] == ["message.completed", "session.idled"]
        done = await c.wait(created.id, interval=0.2, timeout=60)
        assert done.status == "idle"
        assert [s.id async for s in c.list_sessions(tags=["async"])] == [created.id]
        assert (await c.list_events(created.id, types=["session.status"])).data[0].data == {"status": "running"}
        with pytest.raises(NotFound):
            await c.follow_up("not-a-uuid", "x", retry=True)


def test_stream_events_resumes_across_a_server_restart(tmp_path: Path) -> None:
    """A consumer of ``stream_events`` sees every event once, in order, although the server is killed (-9) and
    restarted in the middle of the stream."""
    url = f"sqlite:///{tmp_path / 'th.db'}"
    first = server(url, tmp_path, name="first").start()
    t = make_tenant(url, sim={**SLOW, "latency_seconds": 2.5})
    got: list[Event] = []
    started = threading.Event()
    failure: list[BaseException] = []

    def consume(session_id: str) -> None:
        try:
            with Client(first.base_url, t.admin_key) as c:
                for event in c.stream_events(session_id, until_idle=True, reconnect_timeout=120):
                    got.append(event)
                    if event.type == "step.started":
                        started.set()
        except BaseException as exc:  # reported below
            failure.append(exc)
            started.set()

    with Client(first.base_url, t.admin_key) as c:
        sid = c.create(INCIDENT).id
    reader = threading.Thread(target=consume, args=(sid,), daemon=True)
    reader.start()
    assert started.wait(60)
    first.kill9()
    second = Proc(first.args, first.env, tmp_path / "second.log", first.port).start()
    try:
        reader.join(180)
        assert not reader.is_alive() and failure == [], failure
        ids = [e.id for e in got]
        assert ids == list(range(1, len(ids) + 1)), ids
        assert got[-1].type == "session.idled", second.log_tail()
        with Client(second.base_url, t.admin_key) as c:
            assert [e.raw for e in got] == [e.raw for e in c.list_events(sid).data]
    finally:
        second.stop()
