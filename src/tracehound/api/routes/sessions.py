"""The Traversal V1 Sessions API, plus additive filters, ``?wait=true`` and cancel (the event log: events.py)."""

from __future__ import annotations

import asyncio
import time
from functools import partial
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from starlette.responses import Response

from tracehound.api.deps import AppState, CurrentPrincipal, StateDep, read_as_caller
from tracehound.api.routes.common import json_response
from tracehound.auth.principal import Principal
from tracehound.models import RUNNING_STATUSES
from tracehound.sessions import service
from tracehound.sessions.schemas import MessageCreate, SessionCreate
from tracehound.sessions.wire import session_dict

router = APIRouter(prefix="/v1/sessions", tags=["Sessions"])

WAIT_DEFAULT_MS = 120_000
WAIT_MAX_MS = 600_000
Wait = Annotated[bool, Query(description="Answer when the turn has finished (or 202 after timeout_ms).")]
TimeoutMs = Annotated[int, Query(ge=0, description="How long ?wait=true waits (default 120000, capped at 600000).")]


async def _wait_settled(state: AppState, principal: Principal, session_id: str, timeout_ms: int) -> dict[str, Any]:
    """Poll the database (any process may run the turn) until the session leaves its running state."""
    deadline = time.monotonic() + min(timeout_ms, WAIT_MAX_MS) / 1000
    delay = 0.05
    while True:
        async with state.database.reader() as db:
            session, messages = await service.get(db, principal, session_id=session_id)
            if session.status not in RUNNING_STATUSES or time.monotonic() >= deadline:
                settled = session.status not in RUNNING_STATUSES
                return session_dict(session, messages=messages if settled else None, include_report=settled)
        await asyncio.sleep(delay)
        delay = min(delay * 1.5, 0.5)


@router.post("", operation_id="createSession")
async def create_session(
    body: SessionCreate,
    principal: CurrentPrincipal,
    state: StateDep,
    wait: Wait = False,
    timeout_ms: TimeoutMs = WAIT_DEFAULT_MS,
) -> Response:
    async with state.database.transaction() as db:
        session, created = await service.create(db, principal, data=body, limits=state.limits, enqueue=state.enqueue)
        payload = session_dict(session)
    if not wait:
        return json_response(payload, 201 if created else 200)
    payload = await _wait_settled(state, principal, payload["id"], timeout_ms)
    if payload["status"] in RUNNING_STATUSES:
        return json_response(payload, 202)
    return json_response(payload, 201 if created else 200)


@router.get("", operation_id="listSessions")
async def list_sessions(
    principal: CurrentPrincipal,
    state: StateDep,
    page: Annotated[int | None, Query(ge=1)] = None,
    limit: Annotated[int | None, Query(ge=1)] = None,
    agent_id: Annotated[str | None, Query(description="Only this agent's sessions.")] = None,
    tag: Annotated[
        list[str] | None, Query(description="Only sessions with this tag (repeatable: all of them).")
    ] = None,
    status: Annotated[list[str] | None, Query(description="Only sessions in this status (repeatable: any).")] = None,
    created_after: Annotated[str | None, Query(description="ISO-8601.")] = None,
    created_before: Annotated[str | None, Query(description="ISO-8601.")] = None,
    origin: Annotated[str, Query(description="api (default) or alert: the sessions alerts opened.")] = "api",
) -> Response:
    filters = service.ListFilters(
        agent_id=agent_id,
        tags=tuple(tag or ()),
        statuses=tuple(status or ()),
        created_after=created_after,
        created_before=created_before,
        origin=origin,
    )
    async with state.database.reader() as db:
        result = await service.list_page(db, principal, page=page, limit=limit, filters=filters)
        sessions = [session_dict(s) for s in result.sessions]
    return json_response(
        {"sessions": sessions, "count": len(sessions), "prev": result.prev, "next": result.next, "total": result.total}
    )


@router.get("/{session_id}", operation_id="getSession")
async def get_session(session_id: str, request: Request) -> Response:
    # the hottest endpoint: the caller's key and the session are read on one connection (api/deps.py)
    return json_response(await read_as_caller(request, partial(service.read_session, session_id=session_id)))


@router.post("/{session_id}/messages", operation_id="createMessage")
async def follow_up(
    session_id: str,
    body: MessageCreate,
    principal: CurrentPrincipal,
    state: StateDep,
    wait: Wait = False,
    timeout_ms: TimeoutMs = WAIT_DEFAULT_MS,
) -> Response:
    async with state.database.transaction() as db:
        session, user_message_id, answer_id = await service.follow_up(
            db, principal, session_id=session_id, data=body, limits=state.limits, enqueue=state.enqueue
        )
        payload = session_dict(session)
    status = 202
    if wait:
        payload = await _wait_settled(state, principal, payload["id"], timeout_ms)
        status = 202 if payload["status"] in RUNNING_STATUSES else 200
    payload["user_message_id"] = user_message_id
    payload["assistant_message_id"] = answer_id
    return json_response(payload, status)


@router.post("/{session_id}/cancel", operation_id="cancelSession")
async def cancel_session(session_id: str, principal: CurrentPrincipal, state: StateDep) -> Response:
    """Stop the running investigation or follow-up: the session becomes ``idle`` with an assistant message saying
    so. On a session that is not running it changes nothing. Always 200, with ``cancelled`` telling which."""
    async with state.database.transaction() as db:
        session, turn_id = await service.cancel(db, principal, session_id=session_id)
        payload = session_dict(session)
    if turn_id is not None:
        await state.cancel(turn_id)
    payload["cancelled"] = turn_id is not None
    return json_response(payload)
