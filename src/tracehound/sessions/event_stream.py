"""A session's event log as JSON pages and as a Server-Sent Events stream (shared by ``/v1/.../sse`` and the web UI).

The stream polls the database, so it resumes without gaps or duplicates from any event id, in any server process,
also after a restart: an event's id is its per-session ``sequence``, which only grows (``append_event``), and
a sequence becomes visible only once every lower one has been committed (the unique key serialises writers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson

from tracehound.db.database import Database
from tracehound.kit.clock import isoformat_z
from tracehound.kit.errors import InvalidRequest
from tracehound.models import RUNNING_STATUSES, SessionEvent
from tracehound.sessions import repository as repo

SCAN_BATCH = 500
SCAN_MAX = 10_000  # rows one page looks at when a ``types`` filter skips most of them
END_TYPES = frozenset({"session.idled", "session.failed"})

Check = Callable[[], Awaitable[bool]]


def event_dict(e: SessionEvent) -> dict[str, Any]:
    return {
        "id": e.sequence,
        "type": e.type,
        "ts": isoformat_z(e.ts),
        "session_id": e.session_id,
        "sequence": e.sequence,
        "data": e.data,
    }


def parse_types(raw: str | None) -> frozenset[str]:
    """The ``types`` filter: empty means every type; a value with no type in it is a 400."""
    if raw is None:
        return frozenset()
    wanted = frozenset(t.strip() for t in raw.split(",") if t.strip())
    if not wanted:
        raise InvalidRequest("types: give one or more event types, comma-separated.")
    return wanted


def parse_last_event_id(header: str | None) -> int | None:
    if header is None or not header.strip():
        return None
    value = header.strip()
    if not value.isdigit():
        raise InvalidRequest("Last-Event-ID: must be an event id (a non-negative integer).")
    return int(value)


async def page(
    database: Database, session_id: str, *, after: int, limit: int, types: frozenset[str]
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` events after ``after`` (of ``types`` when given) and the last id looked at."""
    out: list[dict[str, Any]] = []
    cursor = after
    scanned = 0
    async with database.reader() as db:
        while len(out) < limit and scanned < SCAN_MAX:
            batch: Sequence[SessionEvent] = await repo.events(
                db, session_id=session_id, after_sequence=cursor, limit=SCAN_BATCH if types else limit - len(out)
            )
            if not batch:
                break
            for e in batch:
                cursor = e.sequence
                scanned += 1
                if not types or e.type in types:
                    out.append(event_dict(e))
                    if len(out) >= limit:
                        break
    return out, cursor


def frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


@dataclass(frozen=True, slots=True)
class StreamOptions:
    after: int = 0
    types: frozenset[str] = frozenset()
    until_idle: bool = False
    heartbeat_seconds: float = 20.0
    heartbeat_event: bool = False  # an ``event: heartbeat`` frame (visible to EventSource) instead of a comment
    poll_min_seconds: float = 0.25
    poll_max_seconds: float = 1.0  # quiet streams back off to this


@dataclass
class _Cursor:
    last_id: int
    last_sent: float
    last_checked: float  # when ``authorised`` was last asked
    poll: float


async def _status(database: Database, session_id: str) -> str | None:
    async with database.reader() as db:
        row = await repo.get_any(db, session_id)
        return None if row is None else row.status


def _end_frame(opts: StreamOptions, data: list[dict[str, Any]], status: str | None, last_id: int) -> bytes | None:
    """The closing ``end`` frame of an ``until_idle`` stream, when the turn is over."""
    if not opts.until_idle:
        return None
    if 0 < len(data) < SCAN_BATCH and data[-1]["type"] in END_TYPES:
        # the turn ended and nothing came after it (an earlier turn's end does not stop the stream)
        return frame("end", {"reason": data[-1]["type"], "last_id": last_id})
    if not data and status not in RUNNING_STATUSES:
        # the status was read before the events: nothing is left to come of a turn that had ended
        return frame("end", {"reason": f"session.{status or 'missing'}", "last_id": last_id})
    return None


def _heartbeat(opts: StreamOptions) -> bytes:
    return frame("heartbeat", {}) if opts.heartbeat_event else b": heartbeat\n\n"


async def sse_frames(
    database: Database, session_id: str, opts: StreamOptions, *, disconnected: Check, authorised: Check
) -> AsyncIterator[bytes]:
    """The stream: a ``connected`` frame, then every event after ``opts.after`` (``id:`` its id, ``event:`` its
    type), a heartbeat whenever nothing was sent for ``heartbeat_seconds``. ``authorised`` is asked again every
    ``heartbeat_seconds``, so a revoked key or an ended web session closes the stream (its reconnection is then
    refused)."""
    cur = _Cursor(opts.after, time.monotonic(), time.monotonic(), opts.poll_min_seconds)
    yield b"retry: 2000\n" + frame("connected", {"session_id": session_id, "since_id": cur.last_id})
    while not await disconnected():
        if time.monotonic() - cur.last_checked >= opts.heartbeat_seconds:
            if not await authorised():
                return  # the client reconnects and gets the 401 (or the sign-in page)
            cur.last_checked = time.monotonic()
        status = await _status(database, session_id) if opts.until_idle else None
        data, cur.last_id = await page(database, session_id, after=cur.last_id, limit=SCAN_BATCH, types=frozenset())
        for event in data:
            if not opts.types or event["type"] in opts.types:
                yield frame(event["type"], event, event["id"])
                cur.last_sent = time.monotonic()
        end = _end_frame(opts, data, status, cur.last_id)
        if end is not None:
            yield end
            return
        if data:
            cur.poll = opts.poll_min_seconds
            continue
        if time.monotonic() - cur.last_sent >= opts.heartbeat_seconds:
            yield _heartbeat(opts)
            cur.last_sent = time.monotonic()
        await asyncio.sleep(cur.poll)
        cur.poll = min(cur.poll * 1.5, opts.poll_max_seconds)
