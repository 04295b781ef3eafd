"""Investigations: the list (search, filters, pages), the new-investigation form, the session page with its live
part, follow-ups, cancel, and the session's event stream for the page (cookie-authenticated SSE)."""

from __future__ import annotations

import contextlib
import time
import uuid
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from pydantic import ValidationError
from starlette.responses import RedirectResponse, Response, StreamingResponse

from tracehound.auth import web_sessions
from tracehound.auth.principal import Principal
from tracehound.kit.clock import ensure_utc
from tracehound.kit.errors import Forbidden, InvalidRequest, NotFound, TooManyRunning, TracehoundError
from tracehound.models import RUNNING_STATUSES
from tracehound.models import Session as SessionRow
from tracehound.sessions import event_stream as stream
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import MessageCreate, SessionCreate
from tracehound.web import deps
from tracehound.web.evidence import charts_for, source_specs
from tracehound.web.pages import STATUS_LABELS, WebRoute, page
from tracehound.web.queries import PER_PAGE, ListQuery, list_sessions

router = APIRouter(route_class=WebRoute, include_in_schema=False)

PROGRESS_TYPES = ("turn.", "step.", "evidence.")
PROGRESS_SHOWN = 40
THINKING_MODES = {
    "auto": "Automatic",
    "deep": "Deep: full root-cause analysis",
    "fast": "Fast: a quick look",
}


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 100_000))
    except ValueError:
        return default


def _list_query(request: Request) -> ListQuery:
    params = request.query_params
    status = params.get("status", "")
    return ListQuery(
        text=params.get("q", "").strip()[:200],
        status=status if status in STATUS_LABELS else "",
        tag=params.get("tag", "").strip()[:64],
        page=_int(params.get("page"), 1),
    )


@router.get("/ui")
async def session_list(request: Request) -> Response:
    principal = await deps.principal(request)
    query = _list_query(request)
    async with deps.database(request).reader() as db:
        rows, total = await list_sessions(db, principal, query)
    pages = max(1, -(-total // PER_PAGE))

    def link(page_no: int) -> str:
        args = {"q": query.text, "status": query.status, "tag": query.tag, "page": str(page_no)}
        return "/ui?" + urlencode({k: v for k, v in args.items() if v})

    ctx = {
        "rows": rows,
        "total": total,
        "query": query,
        "pages": pages,
        "prev_link": link(query.page - 1) if query.page > 1 else None,
        "next_link": link(query.page + 1) if query.page < pages else None,
        "statuses": STATUS_LABELS,
        "live": any(r.status in RUNNING_STATUSES for r in rows),
    }
    return page(request, "sessions.html", ctx)


@router.get("/ui/sessions/new")
async def new_session_form(request: Request) -> Response:
    await deps.principal(request)
    return page(request, "new.html", {"values": {}, "idempotency_key": uuid.uuid4().hex, "modes": THINKING_MODES})


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.replace("\n", ",").split(",") if t.strip()]


def friendly(exc: TracehoundError) -> str:
    if isinstance(exc, TooManyRunning):
        return (
            f"{exc.message} Your organisation is at its limit of concurrent investigations; "
            f"try again in about {exc.retry_after or 30} seconds."
        )
    return exc.message


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    loc = ".".join(str(p) for p in first.get("loc", ())) or "form"
    labels = {"input": "Description", "time": "Incident time", "title": "Title", "tags": "Tags"}
    name = labels.get(loc.split(".")[0], loc)
    return f"{name}: {str(first.get('msg', 'is invalid')).removeprefix('Value error, ')}"


async def _create(request: Request, principal: Principal, values: dict[str, str], idem: str | None) -> str:
    mode = values.get("thinking_mode", "")
    body = SessionCreate(
        input=values["input"],
        time=values["time"].strip() or None,
        title=values["title"].strip() or None,
        tags=_tags(values["tags"]) or None,
        idempotency_key=idem,
        thinking_mode=mode if mode in THINKING_MODES else None,
    )
    app = deps.services(request)
    async with app.database.transaction() as db:
        session, _created = await sessions.create(
            db, principal, data=body, limits=app.limits, enqueue=app.enqueue, origin="web"
        )
        return session.id


@router.post("/ui/sessions")
async def create_session(request: Request) -> Response:
    principal = await deps.principal(request)
    data = await deps.form(request)
    values = {k: deps.text(data, k) for k in ("input", "time", "title", "tags", "thinking_mode")}
    try:
        session_id = await _create(request, principal, values, deps.text(data, "idempotency_key", 128) or None)
    except ValidationError as exc:
        error, status = _validation_message(exc), 400
    except (InvalidRequest, TooManyRunning, Forbidden) as exc:
        error, status = friendly(exc), exc.status_code
    else:
        return RedirectResponse(f"/ui/sessions/{session_id}", status_code=303)
    ctx = {"values": values, "error": error, "idempotency_key": uuid.uuid4().hex, "modes": THINKING_MODES}
    response = page(request, "new.html", ctx, status)
    if status == 429:
        response.headers["Retry-After"] = str(deps.services(request).limits.retry_after_429)
    return response


def _elapsed(session: SessionRow, turn_admitted: datetime | None) -> str:
    """How long the current (or last) turn has run: from its admission to its end, or to now."""
    start = ensure_utc(turn_admitted or session.started_at or session.created_at)
    end = ensure_utc(session.finished_at).timestamp() if session.finished_at else time.time()
    return str(timedelta(seconds=int(max(end - start.timestamp(), 0))))


async def _session_context(request: Request, principal: Principal, session_id: str) -> dict[str, Any]:
    async with deps.database(request).reader() as db:
        session, messages = await sessions.get(db, principal, session_id=session_id)
        events = await session_repo.events(db, session_id=session.id, after_sequence=0, limit=10_000)
        specs = await source_specs(db, session.org_id)
    report = session.report if isinstance(session.report, dict) else None
    running = session.status in RUNNING_STATUSES
    chart_data = await charts_for(specs, session, report) if report is not None and not running else None
    admitted = next((e for e in reversed(events) if e.type == "session.status"), None)
    turn_start = admitted.sequence if admitted is not None else 0
    progress = [e for e in events if e.sequence >= turn_start and e.type.startswith(PROGRESS_TYPES)]
    return {
        "s": session,
        "messages": messages,
        "report": report,
        "charts": chart_data,
        "progress": progress[-PROGRESS_SHOWN:],
        "running": running,
        "elapsed": _elapsed(session, admitted.ts if admitted is not None else None),
        "last_event_id": events[-1].sequence if events else 0,
    }


@router.get("/ui/sessions/{session_id}")
async def session_page(request: Request, session_id: str) -> Response:
    principal = await deps.principal(request)
    return page(request, "session.html", await _session_context(request, principal, session_id))


@router.get("/ui/sessions/{session_id}/live")
async def session_live(request: Request, session_id: str) -> Response:
    """The live part of the session page, re-fetched by ``app.js`` when the event stream says the turn changed."""
    principal = await deps.principal(request)
    return page(request, "_live.html", await _session_context(request, principal, session_id))


@router.get("/ui/sessions/{session_id}/sse")
async def session_events(request: Request, session_id: str, since_id: int = 0) -> Response:
    """The session's event stream for the page (the same frames as ``/v1/sessions/{id}/sse``, with the cookie
    instead of a Bearer key, and heartbeats as ``heartbeat`` events so the page can tell a silent stream)."""
    principal = await deps.principal(request)
    async with deps.database(request).reader() as db:
        session, _ = await sessions.get(db, principal, session_id=session_id)
    resumed = stream.parse_last_event_id(request.headers.get("last-event-id"))
    opts = stream.StreamOptions(
        after=resumed if resumed is not None else max(since_id, 0),
        heartbeat_seconds=float(getattr(request.app.state, "sse_heartbeat_seconds", 20.0)),
        heartbeat_event=True,
    )
    token = deps.cookie_session(request).token or ""

    async def signed_in() -> bool:
        async with deps.database(request).reader() as db:
            return await web_sessions.principal(db, token) is not None

    async def gone() -> bool:  # the page left, or the server is shutting down (the page will resume)
        return bool(getattr(request.app.state, "draining", False)) or await request.is_disconnected()

    frames = stream.sse_frames(deps.database(request), session.id, opts, disconnected=gone, authorised=signed_in)
    return StreamingResponse(frames, media_type="text/event-stream", headers={"X-Accel-Buffering": "no"})


@router.post("/ui/sessions/{session_id}/messages")
async def follow_up(request: Request, session_id: str) -> Response:
    principal = await deps.principal(request)
    data = await deps.form(request)
    text = deps.text(data, "input")
    app = deps.services(request)
    try:
        body = MessageCreate(input=text)
        async with app.database.transaction() as db:
            await sessions.follow_up(
                db, principal, session_id=session_id, data=body, limits=app.limits, enqueue=app.enqueue
            )
    except ValidationError:
        error, status = "Type a question first.", 400
    except NotFound:
        raise
    except TracehoundError as exc:
        error, status = friendly(exc), exc.status_code
    else:
        return RedirectResponse(f"/ui/sessions/{quote(session_id)}#conversation", status_code=303)
    ctx = await _session_context(request, principal, session_id)
    ctx.update({"followup_error": error, "followup_text": text})
    return page(request, "session.html", ctx, status)


@router.post("/ui/sessions/{session_id}/cancel")
async def cancel(request: Request, session_id: str) -> Response:
    principal = await deps.principal(request)
    await deps.form(request)
    app = deps.services(request)
    async with app.database.transaction() as db:
        _session, turn_id = await sessions.cancel(db, principal, session_id=session_id)
    if turn_id is not None:
        with contextlib.suppress(Exception):
            await app.cancel(turn_id)
    return RedirectResponse(f"/ui/sessions/{quote(session_id)}?done=cancelled", status_code=303)
