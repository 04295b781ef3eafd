"""The pieces of the event stream that need no database: query parsing, SSE framing, when an ``until_idle``
stream ends, and the default heartbeat interval (15-30 s, as the event model asks)."""

from __future__ import annotations

import json

import pytest

from tracehound.config import Settings
from tracehound.kit.errors import InvalidRequest
from tracehound.sessions.event_stream import (
    StreamOptions,
    _end_frame,
    frame,
    parse_last_event_id,
    parse_types,
)


def test_types_and_last_event_id_are_parsed_strictly() -> None:
    assert parse_types(None) == frozenset()
    assert parse_types(" step.started, session.idled ,") == {"step.started", "session.idled"}
    with pytest.raises(InvalidRequest):
        parse_types(" , ")
    assert parse_last_event_id(None) is None and parse_last_event_id("  ") is None
    assert parse_last_event_id(" 42 ") == 42
    for bad in ("-1", "x", "4.2"):
        with pytest.raises(InvalidRequest):
            parse_last_event_id(bad)


def test_frames_carry_id_type_and_one_line_of_json() -> None:
    raw = frame("step.started", {"detail": "two\nlines"}, 7).decode()
    lines = raw.split("\n")
    assert lines[:2] == ["id: 7", "event: step.started"]
    assert json.loads(lines[2].removeprefix("data: ")) == {"detail": "two\nlines"}
    assert raw.endswith("\n\n") and raw.count("\n") == 4  # the newline inside the data is escaped
    assert not frame("connected", {}).startswith(b"id:")


def _ev(i: int, type_: str) -> dict[str, object]:
    return {"id": i, "type": type_}


def test_an_until_idle_stream_ends_only_after_the_turn_ended() -> None:
    opts = StreamOptions(until_idle=True)
    assert _end_frame(StreamOptions(), [_ev(5, "session.idled")], "idle", 5) is None  # not asked to end
    ended = _end_frame(opts, [_ev(4, "message.completed"), _ev(5, "session.idled")], "idle", 5)
    assert ended is not None and json.loads(ended.split(b"data: ")[1]) == {"reason": "session.idled", "last_id": 5}
    assert _end_frame(opts, [_ev(5, "step.started")], "running", 5) is None
    assert _end_frame(opts, [], "running", 5) is None  # nothing new yet, the turn runs
    quiet = _end_frame(opts, [], "idle", 9)  # resumed after the end: nothing is left to come
    assert quiet is not None and b'"session.idle"' in quiet


def test_the_default_heartbeat_is_within_15_to_30_seconds() -> None:
    assert 15 <= Settings().sse_heartbeat_seconds <= 30
    assert StreamOptions().heartbeat_seconds == Settings().sse_heartbeat_seconds
