"""A session's ordered, durable event log (additive; shaped like Everruns events): as JSON pages and as a
Server-Sent Events stream that polls the database, so it resumes without gaps or duplicates from any id, in any
server process, also after a restart."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from tracehound.api.deps import AppState, CurrentPrincipal, StateDep
from tracehound.api.routes.common import json_response
from tracehound.auth.principal import Principal
from tracehound.kit.clock import isoformat_z
from tracehound.kit.errors import InvalidRequest
from tracehound.models import RUNNING_STATUSES, SessionEvent
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service

router = APIRouter(prefix="/v1/sessions", tags=["Events"])

HEARTBEAT_DEFAULT_SECONDS = 20.0
POLL_SECONDS = 0.25
SCAN_BATCH = 500
SCAN_MAX = 10_000  # rows one request looks at when a ``types`` filter skips most of them
END_TYPES = frozenset({"session.idled", "session.failed"})

SinceId = Annotated[int, Query(ge=0, description="Return events after this event id (a per-session sequence).")]
Types = Annotated[
    str | None, Query(description="Only these event types, comma-separated (e.g. step.completed,session.idled).")
]


def event_dict(e: SessionEvent) -> dict[str, Any]:
    return {
        "id": e.sequence,
        "type": e.type,
        "ts": isoformat_z(e.ts),
        "session_id": e.session_id,
        "sequence": e.sequence,
        "data": e.data,
    }


def _types(raw: str | None) -> frozenset[str]:
    if raw is None:
        return frozenset()
    wanted = frozenset(t.strip() for t in raw.split(",") if t.strip())
    if not wanted:
        raise InvalidRequest("types: give one or more event types, comma-separated.")
    return wanted


async def _page(
    state: AppState, session_id: str, *, after: int, limit: int, types: frozenset[str]
) -> tuple[list[dict[str, Any]], int]:
    """Up to ``limit`` events after ``after`` (of ``types`` when given) and the last id looked at."""
    out: list[dict[str, Any]] = []
    cursor = after
    scanned = 0
    async with state.database.reader() as db:
        while len(out) < limit and scanned < SCAN_MAX:
            batch: Sequence[SessionEvent] = await session_repo.events(
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


async def _session_id(state: AppState, principal: Principal, session_id: str) -> tuple[str, str]:
    """(canonical id, status); 404 for unknown ids and other organisations' sessions."""
    async with state.database.reader() as db:
        session, _ = await service.get(db, principal, session_id=session_id)
        return session.id, session.status


@router.get("/{session_id}/events", operation_id="listSessionEvents")
async def list_events(
    session_id: str,
    principal: CurrentPrincipal,
    state: StateDep,
    since_id: SinceId = 0,
    types: Types = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> Response:
    """The session's ordered progress log. ``next_since_id`` is the last event id looked at: pass it back as
    ``since_id`` to continue (with a ``types`` filter it can be past the last event returned)."""
    wanted = _types(types)
    canonical, _ = await _session_id(state, principal, session_id)
    data, cursor = await _page(state, canonical, after=since_id, limit=limit, types=wanted)
    return json_response({"data": data, "next_since_id": cursor})


def _frame(event: str, data: Any, event_id: int | None = None) -> bytes:
    head = f"id: {event_id}\n" if event_id is not None else ""
    return f"{head}event: {event}\ndata: ".encode() + orjson.dumps(data) + b"\n\n"


def _last_event_id(header: str | None) -> int | None:
    if header is None or not header.strip():
        return None
    value = header.strip()
    if not value.isdigit():
        raise InvalidRequest("Last-Event-ID: must be an event id (a non-negative integer).")
    return int(value)


@router.get(
    "/{session_id}/sse",
    operation_id="streamSessionEvents",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/event-stream": {}}, "description": "A Server-Sent Events stream."}},
)
async def stream_events(
    request: Request,
    session_id: str,
    principal: CurrentPrincipal,
    state: StateDep,
    since_id: SinceId = 0,
    types: Types = None,
    until_idle: Annotated[
        bool, Query(description="End the stream after session.idled or session.failed (or when nothing runs).")
    ] = False,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID", include_in_schema=False)] = None,
) -> StreamingResponse:
    """The session's events as Server-Sent Events: ``event:`` is the type, ``id:`` the event id, ``data:`` the
    event as JSON (the same as ``/events``). Opens with a ``connected`` event; a comment line is sent as a
    heartbeat. Resume with ``Last-Event-ID`` (or ``since_id``): no gaps, no duplicates. With ``until_idle`` an
    ``end`` event closes the stream once the turn has ended."""
    wanted = _types(types)
    resumed = _last_event_id(last_event_id)
    after = resumed if resumed is not None else since_id
    canonical, _ = await _session_id(state, principal, session_id)
    heartbeat = float(getattr(request.app.state, "sse_heartbeat_seconds", HEARTBEAT_DEFAULT_SECONDS))

    async def frames() -> AsyncIterator[bytes]:
        cursor = after
        yield b"retry: 2000\n" + _frame("connected", {"session_id": canonical, "since_id": cursor})
        last_sent = time.monotonic()
        while True:
            if await request.is_disconnected():
                return
            status = None
            if until_idle:
                async with state.database.reader() as db:
                    row = await session_repo.get_any(db, canonical)
                    status = None if row is None else row.status
            data, cursor = await _page(state, canonical, after=cursor, limit=SCAN_BATCH, types=frozenset())
            for event in data:
                if not wanted or event["type"] in wanted:
                    yield _frame(event["type"], event, event["id"])
                    last_sent = time.monotonic()
            if until_idle and 0 < len(data) < SCAN_BATCH and data[-1]["type"] in END_TYPES:
                # the turn ended and nothing came after it (an earlier turn's end does not stop the stream)
                yield _frame("end", {"reason": data[-1]["type"], "last_id": cursor})
                return
            if until_idle and not data and status not in RUNNING_STATUSES:
                # the status was read before the events: nothing is left to come of a turn that had ended
                yield _frame("end", {"reason": f"session.{status or 'missing'}", "last_id": cursor})
                return
            if data:
                continue
            if time.monotonic() - last_sent >= heartbeat:
                yield b": heartbeat\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(POLL_SECONDS)

    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames(), media_type="text/event-stream", headers=headers)
