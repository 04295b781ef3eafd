"""The client's pieces that need no server: error mapping, the SSE decoder, tolerant models, retry decisions
(through httpx's MockTransport), and that it imports nothing else from tracehound."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx
import pytest

from tracehound.client import (
    AsyncClient,
    Client,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    RateLimited,
    ServiceUnavailable,
    Session,
    TracehoundAPIError,
    Unauthorized,
    WaitTimeout,
)
from tracehound.client.common import StreamState
from tracehound.client.errors import APIConnectionError, error_from_response
from tracehound.client.sse import ServerSentEvent, SSEDecoder


def _envelope(status: int, message: str, retry_after: int | None = None, **headers: str) -> httpx.Response:
    return httpx.Response(status, json={"error": {"message": message, "retry_after": retry_after}}, headers=headers)


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, InvalidRequest),
        (401, Unauthorized),
        (403, Forbidden),
        (404, NotFound),
        (409, Conflict),
        (429, RateLimited),
        (503, ServiceUnavailable),
        (500, TracehoundAPIError),
    ],
)
def test_errors_map_by_status(status: int, cls: type[TracehoundAPIError]) -> None:
    exc = error_from_response(_envelope(status, "nope", 7))
    assert type(exc) is cls
    assert (exc.status, exc.message, exc.retry_after) == (status, "nope", 7)


def test_envelope_null_retry_after_wins_over_the_header_and_header_is_the_fallback() -> None:
    assert error_from_response(_envelope(409, "failed", None, **{"Retry-After": "5"})).retry_after is None
    plain = httpx.Response(429, text="slow down", headers={"Retry-After": "12"})
    exc = error_from_response(plain)
    assert isinstance(exc, RateLimited)
    assert (exc.retry_after, exc.message) == (12, "slow down")
    assert error_from_response(httpx.Response(404, json={"detail": "Not Found"})).message == "Not Found"


def test_sse_decoder_handles_comments_multiline_data_and_ids() -> None:
    d = SSEDecoder()
    lines = [": heartbeat", "", "retry: 2000", "event: connected", 'data: {"a": 1}', "", "id: 7", "event: x"]
    lines += ["data: one", "data: two", "", "data: plain", ""]
    out = [e for line in lines if (e := d.decode(line)) is not None]
    assert [(e.event, e.data, e.id, e.retry) for e in out] == [
        ("connected", '{"a": 1}', None, 2000),
        ("x", "one\ntwo", "7", None),
        ("message", "plain", None, None),
    ]
    assert d.last_event_id == "7"


def test_models_tolerate_unknown_and_missing_fields() -> None:
    s = Session.from_dict(
        {
            "id": "s1",
            "status": "idle",
            "brand_new_field": {"x": 1},
            "messages": [
                {"id": "m1", "role": "user", "markdown_content": "q"},
                {"id": "m2", "role": "assistant", "markdown_content": "a", "extra": 1},
            ],
        }
    )
    assert (s.answer, s.running, s.tags, s.raw["brand_new_field"]) == ("a", False, [], {"x": 1})


def _mock(responses: list[httpx.Response], seen: list[httpx.Request]) -> httpx.Client:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return responses.pop(0)

    return httpx.Client(transport=httpx.MockTransport(handler))


def _session(status: str = "running", **extra: Any) -> dict[str, Any]:
    return {"id": "11111111-1111-4111-8111-111111111111", "status": status, **extra}


def test_create_retries_429_after_retry_after_and_sends_the_key() -> None:
    seen: list[httpx.Request] = []
    http = _mock([_envelope(429, "busy", 0), _envelope(429, "busy", 0), httpx.Response(201, json=_session())], seen)
    with Client("http://x", "trv_ak_test", http_client=http) as c:
        s = c.create("checkout is down", tags=["a"], retry=True)
    assert s.status == "running"
    assert len(seen) == 3
    assert seen[0].headers["Authorization"] == "Bearer trv_ak_test"
    assert b'"tags":["a"]' in seen[0].content.replace(b" ", b"")


def test_no_retry_without_asking_and_no_retry_of_a_failed_sessions_409() -> None:
    seen: list[httpx.Request] = []
    with Client("http://x", "k", http_client=_mock([_envelope(429, "busy", 30)], seen)) as c:
        with pytest.raises(RateLimited) as info:
            c.create("x")
        assert info.value.retry_after == 30
    with (
        Client("http://x", "k", http_client=_mock([_envelope(409, "failed", None)], seen)) as c,
        pytest.raises(Conflict),
    ):
        c.follow_up("s", "why?", retry=True)
    assert len(seen) == 2


def test_retry_gives_up_when_retry_after_exceeds_the_timeout() -> None:
    seen: list[httpx.Request] = []
    with Client("http://x", "k", http_client=_mock([_envelope(409, "busy", 60)], seen)) as c, pytest.raises(Conflict):
        c.follow_up("s", "why?", retry=True, retry_timeout=1)
    assert len(seen) == 1


def _listed(ids: list[str], nxt: int | None) -> httpx.Response:
    sessions = [{"id": i, "status": "idle"} for i in ids]
    return httpx.Response(200, json={"sessions": sessions, "count": len(ids), "next": nxt, "total": 4})


def test_list_sessions_pages_through_next_once_per_session() -> None:
    # "s0" was created while paging: it pushed "b" from page 1 onto page 2, which repeats it
    pages = [_listed(["a", "b"], 2), _listed(["b", "c"], 3), _listed(["d"], None)]
    seen: list[httpx.Request] = []
    with Client("http://x", "k", http_client=_mock(pages, seen)) as c:
        assert [s.id for s in c.list_sessions(page_size=2, tags=["t"])] == ["a", "b", "c", "d"]
    assert [r.url.params.get("page") for r in seen] == ["1", "2", "3"]
    assert seen[0].url.params.get_list("tag") == ["t"]


def test_wait_polls_at_the_interval_and_honours_retry_after_on_429_409_and_503() -> None:
    responses = [
        httpx.Response(200, json=_session("running")),
        _envelope(429, "slow down", 7),
        _envelope(409, "busy", 2, **{"Retry-After": "2"}),
        httpx.Response(503, json={"error": {"message": "db down"}}, headers={"Retry-After": "3"}),
        httpx.Response(502, text="bad gateway"),
        httpx.Response(200, json=_session("idle", messages=[])),
    ]
    seen: list[httpx.Request] = []
    slept: list[float] = []
    with Client("http://x", "k", http_client=_mock(responses, seen), sleep=slept.append) as c:
        done = c.wait("s", interval=0.5, timeout=600)
    assert done.status == "idle"
    assert slept == [0.5, 7.0, 2.0, 3.0, 5.0]  # interval, then each Retry-After (502 without one: 5 s)
    assert len(seen) == 6


def test_wait_raises_what_retrying_cannot_fix() -> None:
    for response, cls in ((_envelope(409, "failed", None), Conflict), (_envelope(404, "gone"), NotFound)):
        with (
            Client("http://x", "k", http_client=_mock([response], []), sleep=lambda _: None) as c,
            pytest.raises(cls),
        ):
            c.wait("s")


def test_wait_gives_up_after_its_timeout() -> None:
    with (
        Client("http://x", "k", http_client=_mock([httpx.Response(200, json=_session())] * 100, [])) as c,
        pytest.raises(WaitTimeout),
    ):
        c.wait("s", interval=0.01, timeout=0.02)


def test_a_retried_create_sends_one_idempotency_key_throughout() -> None:
    seen: list[httpx.Request] = []
    responses = [_envelope(503, "db down", 0), _envelope(429, "busy", 0), httpx.Response(201, json=_session())]
    with Client("http://x", "k", http_client=_mock(responses, seen), sleep=lambda _: None) as c:
        c.create("checkout is down", retry=True)
    keys = {json.loads(r.content)["idempotency_key"] for r in seen}
    assert len(seen) == 3 and len(keys) == 1 and next(iter(keys)).startswith("tracehound-client-")
    seen.clear()
    with Client("http://x", "k", http_client=_mock([httpx.Response(201, json=_session())], seen)) as c:
        c.create("no retry: no key added")
    assert "idempotency_key" not in json.loads(seen[0].content)


async def test_the_async_client_waits_out_retry_after_too() -> None:
    responses = [_envelope(429, "slow down", 4), httpx.Response(200, json=_session("idle"))]
    slept: list[float] = []

    async def sleep(seconds: float) -> None:
        slept.append(seconds)

    def handler(request: httpx.Request) -> httpx.Response:
        return responses.pop(0)

    http = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with AsyncClient("http://x", "k", http_client=http, sleep=sleep) as c:
        assert (await c.wait("s", interval=1)).status == "idle"
    await http.aclose()
    assert slept == [4.0]


def test_the_client_imports_nothing_else_from_tracehound() -> None:
    code = (
        "import sys, tracehound.client\n"
        "mods = sorted(m for m in sys.modules\n"
        "              if m.startswith('tracehound') and not m.startswith('tracehound.client'))\n"
        "print(mods)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "['tracehound']"


def test_stream_state_drops_repeats_follows_retry_and_ends() -> None:
    state = StreamState(since_id=3)
    frame = '{"id": %d, "type": "step.started", "session_id": "s", "sequence": %d, "data": {}}'
    assert state.feed(ServerSentEvent("connected", '{"session_id": "s", "since_id": 3}', None, 1500)) is None
    assert state.backoff == 1.5
    assert state.feed(ServerSentEvent("step.started", frame % (3, 3), "3")) is None  # at or before the last id
    event = state.feed(ServerSentEvent("step.started", frame % (4, 4), "4"))
    assert event is not None and event.id == 4 and state.last == 4
    assert state.headers({"Authorization": "Bearer k"})["Last-Event-ID"] == "4"
    assert state.feed(None) is None and not state.ended
    state.feed(ServerSentEvent("end", '{"reason": "session.idled", "last_id": 4}'))
    assert state.ended


def test_stream_state_gives_up_after_the_outage_limit() -> None:
    state = StreamState(since_id=0)
    state.broken(OSError("refused"), now=100.0, limit=60, what="s")
    state.broken(OSError("refused"), now=150.0, limit=60, what="s")
    with pytest.raises(APIConnectionError):
        state.broken(OSError("refused"), now=161.0, limit=60, what="s")
    state.connected()
    state.broken(OSError("refused"), now=300.0, limit=60, what="s")  # a new outage starts counting again
