"""The Traversal V1 Sessions API."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Query
from starlette.responses import Response

from tracehound.api.deps import CurrentPrincipal, StateDep
from tracehound.kit.clock import isoformat_z
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service
from tracehound.sessions.schemas import MessageCreate, SessionCreate
from tracehound.sessions.wire import session_dict

router = APIRouter(prefix="/v1/sessions", tags=["Sessions"])


def _json(body: Any, status: int = 200) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type="application/json")


@router.post("", operation_id="createSession")
async def create_session(body: SessionCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        session, created = await service.create(db, principal, data=body, limits=state.limits, enqueue=state.enqueue)
        payload = session_dict(session)
    return _json(payload, 201 if created else 200)


@router.get("", operation_id="listSessions")
async def list_sessions(
    principal: CurrentPrincipal,
    state: StateDep,
    page: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
) -> Response:
    async with state.database.reader() as db:
        result = await service.list_page(db, principal, page=page, limit=limit)
        sessions = [session_dict(s) for s in result.sessions]
    return _json(
        {
            "sessions": sessions,
            "count": len(sessions),
            "prev": result.prev,
            "next": result.next,
            "total": result.total,
        }
    )


@router.get("/{session_id}", operation_id="getSession")
async def get_session(session_id: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.reader() as db:
        session, messages = await service.get(db, principal, session_id=session_id)
        payload = session_dict(session, messages=messages, include_report=True)
    return _json(payload)


@router.post("/{session_id}/messages", operation_id="createMessage")
async def follow_up(session_id: str, body: MessageCreate, principal: CurrentPrincipal, state: StateDep) -> Response:
    async with state.database.transaction() as db:
        session, user_message_id, answer_id = await service.follow_up(
            db, principal, session_id=session_id, data=body, limits=state.limits, enqueue=state.enqueue
        )
        payload = session_dict(session)
    payload["user_message_id"] = user_message_id
    payload["assistant_message_id"] = answer_id
    return _json(payload, 202)


@router.get("/{session_id}/events", operation_id="listSessionEvents")
async def list_events(
    session_id: str,
    principal: CurrentPrincipal,
    state: StateDep,
    since_id: Annotated[int, Query(ge=0, description="Return events after this sequence number.")] = 0,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> Response:
    """The session's ordered progress log (additive; shaped like Everruns events)."""
    async with state.database.reader() as db:
        session, _ = await service.get(db, principal, session_id=session_id)
        rows = await session_repo.events(db, session_id=session.id, after_sequence=since_id, limit=limit)
        data = [
            {
                "id": e.sequence,
                "type": e.type,
                "ts": isoformat_z(e.ts),
                "session_id": e.session_id,
                "sequence": e.sequence,
                "data": e.data,
            }
            for e in rows
        ]
    return _json({"data": data, "next_since_id": data[-1]["id"] if data else since_id})
