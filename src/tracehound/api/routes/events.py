"""A session's ordered, durable event log (additive; shaped like Everruns events): as JSON pages and as a
Server-Sent Events stream (:mod:`tracehound.sessions.event_stream`), resumable without gaps or duplicates from any
id, in any server process, also after a restart."""

from __future__ import annotations

from functools import partial
from typing import Annotated

from fastapi import APIRouter, Header, Query, Request
from starlette.responses import Response, StreamingResponse

from tracehound.api.deps import AppState, CurrentPrincipal, StateDep
from tracehound.api.routes.common import json_response
from tracehound.auth.principal import Principal
from tracehound.auth.service import authenticate
from tracehound.kit.errors import TracehoundError
from tracehound.sessions import event_stream as stream
from tracehound.sessions import service

router = APIRouter(prefix="/v1/sessions", tags=["Events"])

HEARTBEAT_DEFAULT_SECONDS = 20.0

SinceId = Annotated[int, Query(ge=0, description="Return events after this event id (a per-session sequence).")]
Types = Annotated[
    str | None, Query(description="Only these event types, comma-separated (e.g. step.completed,session.idled).")
]


async def _session_id(state: AppState, principal: Principal, session_id: str) -> str:
    """The canonical id; 404 for unknown ids and other organisations' sessions."""
    async with state.database.reader() as db:
        session, _ = await service.get(db, principal, session_id=session_id)
        return session.id


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
    wanted = stream.parse_types(types)
    canonical = await _session_id(state, principal, session_id)
    data, cursor = await stream.page(state.database, canonical, after=since_id, limit=limit, types=wanted)
    return json_response({"data": data, "next_since_id": cursor})


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
    heartbeat (every 20 s by default). Resume with ``Last-Event-ID`` (or ``since_id``): no gaps, no duplicates.
    With ``until_idle`` an ``end`` event closes the stream once the turn has ended."""
    wanted = stream.parse_types(types)
    resumed = stream.parse_last_event_id(last_event_id)
    canonical = await _session_id(state, principal, session_id)
    opts = stream.StreamOptions(
        after=resumed if resumed is not None else since_id,
        types=wanted,
        until_idle=until_idle,
        heartbeat_seconds=float(getattr(request.app.state, "sse_heartbeat_seconds", HEARTBEAT_DEFAULT_SECONDS)),
    )
    authorization = request.headers.get("authorization")

    async def still_authorised() -> bool:
        try:
            await state.database.read(partial(authenticate, authorization=authorization))
        except TracehoundError:
            return False
        return True

    async def gone() -> bool:  # the client left, or the server is shutting down (the client will resume)
        return bool(getattr(request.app.state, "draining", False)) or await request.is_disconnected()

    frames = stream.sse_frames(state.database, canonical, opts, disconnected=gone, authorised=still_authorised)
    headers = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    return StreamingResponse(frames, media_type="text/event-stream", headers=headers)
