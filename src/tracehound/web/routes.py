"""The web UI at ``/ui``: server-rendered pages over the same domain services as the V1 API.

Every page enforces the API's rules through those services (organisation scoping, roles, the running limit,
follow-ups only when idle); their errors become friendly pages or form messages instead of JSON envelopes.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from pydantic import ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.datastructures import FormData
from starlette.responses import RedirectResponse, Response
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from tracehound.auth import repository as auth_repo
from tracehound.auth import service as auth
from tracehound.auth.principal import ROLES, Principal
from tracehound.connectors.registry import build_sources
from tracehound.db.database import Database
from tracehound.engine.report import parse_iso
from tracehound.engine.types import TimeRange
from tracehound.kit.clock import ensure_utc
from tracehound.kit.errors import Forbidden, InvalidRequest, NotFound, TooManyRunning, TracehoundError
from tracehound.kit.ids import hash_api_key, looks_like_api_key
from tracehound.models import RUNNING_STATUSES, Organization, User
from tracehound.models import Session as SessionRow
from tracehound.sessions import repository as session_repo
from tracehound.sessions import service as sessions
from tracehound.sessions.schemas import MessageCreate, SessionCreate
from tracehound.sources.service import list_sources
from tracehound.web import charts
from tracehound.web.markdown import render_markdown
from tracehound.web.queries import PER_PAGE, ListQuery, list_sessions
from tracehound.web.security import (
    COOKIE_NAME,
    WebOptions,
    WebSession,
    csrf_token,
    csrf_valid,
    decode_session,
    encode_session,
)

log = logging.getLogger("tracehound.web")

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))
templates.env.filters["markdown"] = render_markdown

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATUS_LABELS = {"running": "Running", "follow_up_running": "Answering follow-up", "idle": "Idle", "failed": "Failed"}
NOTICES = {
    "revoked": "The API key was revoked. Anyone using it is signed out at their next request.",
    "user-saved": "The user was saved.",
    "org-saved": "Organisation settings were saved.",
    "cancelled": "The running turn was cancelled.",
    "signed-out": "You have been signed out.",
}


class SignInRequired(Exception):
    pass


class BadCsrf(Exception):
    pass


def _options(request: Request) -> WebOptions:
    options: WebOptions = request.app.state.web
    return options


def _database(request: Request) -> Database:
    database: Database = request.app.state.tracehound.database
    return database


def _web_session(request: Request) -> WebSession:
    """The visitor's cookie session; a new anonymous one (set on the response) when there is none."""
    cached = getattr(request.state, "web_session", None)
    if isinstance(cached, WebSession):
        return cached
    options = _options(request)
    session = decode_session(options.secret, request.cookies.get(COOKIE_NAME), max_age=options.session_seconds)
    if session is None:
        session = WebSession.anonymous()
        request.state.set_cookie = session
    request.state.web_session = session
    return session


def _secure(request: Request) -> bool:
    return request.url.scheme == "https" or _options(request).force_secure_cookie


def _set_cookie(request: Request, response: Response, session: WebSession) -> None:
    options = _options(request)
    response.set_cookie(
        COOKIE_NAME,
        encode_session(options.secret, session),
        max_age=options.session_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_secure(request),
    )


async def _load_principal(db: AsyncSession, key_id: str) -> Principal | None:
    key = await auth_repo.key_by_id(db, key_id)
    if key is None or key.revoked_at is not None:
        return None
    user = await db.get(User, key.user_id)
    org = await db.get(Organization, key.org_id)
    if user is None or org is None:
        return None
    return Principal(
        key_id=key.id,
        user_id=user.id,
        email=user.email,
        role=user.role,
        org_id=org.id,
        org_name=org.name,
        api_enabled=org.api_enabled,
        max_running=org.max_running,
    )


async def _principal(request: Request) -> Principal:
    session = _web_session(request)
    if session.key_id is None:
        raise SignInRequired
    async with _database(request).reader() as db:
        principal = await _load_principal(db, session.key_id)
    if principal is None:
        raise SignInRequired
    request.state.principal = principal
    return principal


async def _admin(request: Request, what: str) -> Principal:
    principal = await _principal(request)
    if not principal.is_admin:
        raise Forbidden(
            f"{what} is open to the 'admin' role only; you are signed in as {principal.email}, "
            f"who has the '{principal.role}' role. Ask an admin of '{principal.org_name}' for access."
        )
    return principal


async def _form(request: Request) -> FormData:
    """The posted form, after the CSRF check (token of this cookie session, and a same-origin Origin if sent)."""
    form = await request.form()
    origin = request.headers.get("origin")
    if origin and origin != "null":
        expected = f"{request.url.scheme}://{request.url.netloc}"
        if origin.rstrip("/") != expected:
            raise BadCsrf
    token = form.get("csrf_token")
    stored = decode_session(
        _options(request).secret, request.cookies.get(COOKIE_NAME), max_age=_options(request).session_seconds
    )
    if not csrf_valid(_options(request).secret, stored, token if isinstance(token, str) else None):
        raise BadCsrf
    return form


def _text(form: FormData, name: str, limit: int = 200_000) -> str:
    value = form.get(name)
    return value[:limit] if isinstance(value, str) else ""


def page(request: Request, name: str, context: Mapping[str, Any] | None = None, status: int = 200) -> Response:
    session = _web_session(request)
    principal = getattr(request.state, "principal", None)
    ctx: dict[str, Any] = {
        "principal": principal,
        "csrf": csrf_token(_options(request).secret, session),
        "status_labels": STATUS_LABELS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def _error_page(request: Request, status: int, title: str, message: str, retry_after: int | None = None) -> Response:
    response = page(request, "error.html", {"title": title, "message": message, "code": status}, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def _sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/ui/login?" + urlencode({"next": target})
    if request.headers.get("hx-request"):
        return Response(status_code=200, headers={"HX-Redirect": location})
    return RedirectResponse(location, status_code=303)


_TITLES = {400: "Check the form", 401: "Sign in again", 403: "Not allowed", 404: "Not found", 409: "Busy", 429: "Busy"}


class WebRoute(APIRoute):
    """Turns domain errors into HTML pages and adds the security headers and the session cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired:
                response = _sign_in_redirect(request)
            except BadCsrf:
                response = _error_page(
                    request,
                    403,
                    "Form expired",
                    "This form was not accepted (its security token is missing or out of date). "
                    "Go back, reload the page and try again.",
                )
            except TracehoundError as exc:
                if exc.status_code >= 500:
                    log.error("web error: %s", exc.message)
                title = _TITLES.get(exc.status_code, "Something went wrong")
                response = _error_page(request, exc.status_code, title, exc.message, exc.retry_after)
            except RequestValidationError:
                response = _error_page(request, 400, "Check the address", "The address has an invalid parameter.")
            pending = getattr(request.state, "set_cookie", None)
            if isinstance(pending, WebSession):
                _set_cookie(request, response, pending)
            response.headers.setdefault("Content-Security-Policy", CSP)
            response.headers.setdefault("X-Content-Type-Options", "nosniff")
            response.headers.setdefault("X-Frame-Options", "DENY")
            response.headers.setdefault("Referrer-Policy", "same-origin")
            response.headers.setdefault("Cache-Control", "no-store")
            return response

        return wrapped


router = APIRouter(route_class=WebRoute, include_in_schema=False)


def install(app: FastAPI, options: WebOptions) -> None:
    """Mount the UI on ``app``: pages under ``/ui``, assets under ``/ui/static``, ``/`` redirecting to ``/ui``."""
    app.state.web = options
    app.include_router(router)
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui-static")


# --- sign in / out ------------------------------------------------------------------------------------------


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


def _safe_next(value: str | None) -> str:
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"


@router.get("/ui/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", {"next": _safe_next(next)})


@router.post("/ui/login")
async def login(request: Request) -> Response:
    form = await _form(request)
    token = _text(form, "api_key", 200).strip()
    target = _safe_next(_text(form, "next", 2000))
    error = None
    key_id = None
    if not token:
        error = "Paste your API key (it starts with trv_ak_)."
    elif not looks_like_api_key(token):
        error = "That does not look like a tracehound API key: keys start with trv_ak_ followed by 43 characters."
    else:
        async with _database(request).reader() as db:
            row = await auth_repo.principal_row(db, key_hash=hash_api_key(token))
        if row is None:
            error = "Unknown API key."
        elif row[0].revoked_at is not None:
            error = "This API key has been revoked. Ask an admin of your organisation for a new one."
        else:
            key_id = row[0].id
    if key_id is None:
        return page(request, "login.html", {"next": target, "error": error}, 401)
    response = RedirectResponse(target, status_code=303)
    request.state.set_cookie = WebSession.signed_in(key_id)  # a new nonce: no session fixation
    return response


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    await _form(request)
    request.state.set_cookie = WebSession.anonymous()
    return RedirectResponse("/ui/login?done=signed-out", status_code=303)


# --- sessions -----------------------------------------------------------------------------------------------


def _int(value: str | None, default: int) -> int:
    try:
        return max(1, min(int(value or default), 100_000))
    except ValueError:
        return default


@router.get("/ui")
async def session_list(request: Request) -> Response:
    principal = await _principal(request)
    params = request.query_params
    status = params.get("status", "")
    query = ListQuery(
        text=params.get("q", "").strip()[:200],
        status=status if status in STATUS_LABELS else "",
        tag=params.get("tag", "").strip()[:64],
        page=_int(params.get("page"), 1),
    )
    async with _database(request).reader() as db:
        rows, total = await list_sessions(db, principal, query)
    pages = max(1, -(-total // PER_PAGE))

    def link(page_no: int) -> str:
        args = {"q": query.text, "status": query.status, "tag": query.tag, "page": str(page_no)}
        return "/ui?" + urlencode({k: v for k, v in args.items() if v})

    return page(
        request,
        "sessions.html",
        {
            "rows": rows,
            "total": total,
            "query": query,
            "pages": pages,
            "prev_link": link(query.page - 1) if query.page > 1 else None,
            "next_link": link(query.page + 1) if query.page < pages else None,
            "statuses": STATUS_LABELS,
            "live": any(r.status in RUNNING_STATUSES for r in rows),
        },
    )


@router.get("/ui/sessions/new")
async def new_session_form(request: Request) -> Response:
    await _principal(request)
    return page(request, "new.html", {"values": {}, "idempotency_key": uuid.uuid4().hex})


def _tags(raw: str) -> list[str]:
    return [t.strip() for t in raw.replace("\n", ",").split(",") if t.strip()]


def _friendly(exc: TracehoundError) -> str:
    if isinstance(exc, TooManyRunning):
        return (
            f"{exc.message} Your organisation is at its limit of concurrent investigations; "
            f"try again in about {exc.retry_after or 30} seconds."
        )
    return exc.message


def _validation_message(exc: ValidationError) -> str:
    first = exc.errors()[0]
    field = ".".join(str(p) for p in first.get("loc", ())) or "form"
    labels = {"input": "Description", "time": "Incident time", "title": "Title", "tags": "Tags"}
    name = labels.get(field.split(".")[0], field)
    return f"{name}: {str(first.get('msg', 'is invalid')).removeprefix('Value error, ')}"


@router.post("/ui/sessions")
async def create_session(request: Request) -> Response:
    principal = await _principal(request)
    form = await _form(request)
    values = {k: _text(form, k) for k in ("input", "time", "title", "tags")}
    idem = _text(form, "idempotency_key", 128) or None
    state = request.app.state.tracehound
    try:
        body = SessionCreate(
            input=values["input"],
            time=values["time"].strip() or None,
            title=values["title"].strip() or None,
            tags=_tags(values["tags"]) or None,
            idempotency_key=idem,
        )
        async with state.database.transaction() as db:
            session, _created = await sessions.create(
                db, principal, data=body, limits=state.limits, enqueue=state.enqueue, origin="web"
            )
            session_id = session.id
    except ValidationError as exc:
        error, status = _validation_message(exc), 400
    except (InvalidRequest, TooManyRunning, Forbidden) as exc:
        error, status = _friendly(exc), exc.status_code
    else:
        return RedirectResponse(f"/ui/sessions/{session_id}", status_code=303)
    ctx = {"values": values, "error": error, "idempotency_key": uuid.uuid4().hex}
    response = page(request, "new.html", ctx, status)
    if status == 429:
        response.headers["Retry-After"] = str(state.limits.retry_after_429)
    return response


# Charts re-read the series from the organisation's sources for the report's window; reports do not change while
# a session is idle, so the result is kept for a while (bounded, per process).
_CHART_CACHE: OrderedDict[tuple[str, str], dict[str, Any]] = OrderedDict()
_CHART_CACHE_MAX = 64


async def _charts(db: AsyncSession, session: SessionRow, report: Mapping[str, Any]) -> dict[str, Any]:
    key = (session.id, str(report.get("window")) + str(report.get("anomaly_start")) + str(session.finished_at))
    if key in _CHART_CACHE:
        _CHART_CACHE.move_to_end(key)
        return _CHART_CACHE[key]
    result: dict[str, Any] = {"series": [], "graph": "", "note": None}
    root = report.get("root_cause")
    candidates = [str(c.get("service")) for c in report.get("candidates") or [] if isinstance(c, dict)]
    anomaly = parse_iso(report["anomaly_start"]) if report.get("anomaly_start") else None
    window = report.get("window")
    specs = [(s.kind, s.config) for s in await list_sources(db, org_id=session.org_id)]
    anchor = ensure_utc(session.incident_time or session.created_at)
    try:
        sources = build_sources(specs, anchor=anchor)
    except Exception as exc:  # a misconfigured source must not break the page
        sources = None
        result["note"] = f"The data sources could not be opened: {exc}"
    failing: list[tuple[str, str]] = []
    wanted: list[str] = []
    for ev in report.get("evidence") or []:
        cite = ev.get("citation") or {}
        if ev.get("kind") == "metric" and cite.get("series") and ev.get("service") == root:
            wanted.append(str(cite["series"]))
        if ev.get("kind") == "trace" and "->" in str(cite.get("edge", "")):
            a, _, b = str(cite["edge"]).partition("->")
            failing.append((a, b))
    if sources is not None and sources.metrics is not None and root and isinstance(window, dict):
        try:
            span = TimeRange(parse_iso(window["start"]), parse_iso(window["end"]))
            series = await asyncio.wait_for(sources.metrics.query(span, services=[str(root)]), timeout=10)
            by_name = {s.name: s for s in series if s.service == root}
            chosen = [by_name[n] for n in dict.fromkeys(wanted) if n in by_name][:3] or list(by_name.values())[:2]
            result["series"] = [
                charts.series_svg(
                    charts.ChartSeries(s.service, s.name, s.unit, tuple(s.timestamps), tuple(s.values)),
                    anomaly_start=anomaly,
                    chart_id=f"series-{i}",
                )
                for i, s in enumerate(chosen)
            ]
        except Exception as exc:
            result["note"] = f"The metric series could not be re-read from the data sources: {exc}"
    edges = list(sources.call_graph) if sources is not None else []
    edges += [e for e in failing if e not in edges]
    if edges or root:
        result["graph"] = charts.call_graph_svg(
            edges, root=str(root) if root else None, candidates=candidates[:4], failing_edges=failing
        )
    _CHART_CACHE[key] = result
    while len(_CHART_CACHE) > _CHART_CACHE_MAX:
        _CHART_CACHE.popitem(last=False)
    return result


async def _session_context(request: Request, principal: Principal, session_id: str) -> dict[str, Any]:
    async with _database(request).reader() as db:
        session, messages = await sessions.get(db, principal, session_id=session_id)
        events = await session_repo.events(db, session_id=session.id, after_sequence=0, limit=1000)
        report = session.report if isinstance(session.report, dict) else None
        chart_data = None
        if report is not None and session.status not in RUNNING_STATUSES:
            chart_data = await _charts(db, session, report)
    progress = [e for e in events if e.type.startswith(("step.", "evidence.", "turn."))][-12:]
    return {
        "s": session,
        "messages": messages,
        "report": report,
        "charts": chart_data,
        "progress": progress,
        "running": session.status in RUNNING_STATUSES,
        "elapsed": _elapsed(session),
    }


def _elapsed(session: SessionRow) -> str:
    end = ensure_utc(session.finished_at) if session.finished_at else None
    start = ensure_utc(session.created_at)
    seconds = ((end.timestamp() if end else time.time()) - start.timestamp()) if start else 0
    return str(timedelta(seconds=int(max(seconds, 0))))


@router.get("/ui/sessions/{session_id}")
async def session_page(request: Request, session_id: str) -> Response:
    principal = await _principal(request)
    ctx = await _session_context(request, principal, session_id)
    return page(request, "session.html", ctx)


@router.get("/ui/sessions/{session_id}/live")
async def session_live(request: Request, session_id: str) -> Response:
    """The polled part of the session page (HTMX swaps it every second while a turn runs)."""
    principal = await _principal(request)
    ctx = await _session_context(request, principal, session_id)
    return page(request, "_live.html", ctx)


@router.post("/ui/sessions/{session_id}/messages")
async def follow_up(request: Request, session_id: str) -> Response:
    principal = await _principal(request)
    form = await _form(request)
    text = _text(form, "input")
    state = request.app.state.tracehound
    try:
        body = MessageCreate(input=text)
        async with state.database.transaction() as db:
            await sessions.follow_up(
                db, principal, session_id=session_id, data=body, limits=state.limits, enqueue=state.enqueue
            )
    except ValidationError:
        error = "Type a question first."
    except TracehoundError as exc:
        if isinstance(exc, NotFound):
            raise
        error = _friendly(exc)
    else:
        return RedirectResponse(f"/ui/sessions/{quote(session_id)}#conversation", status_code=303)
    ctx = await _session_context(request, principal, session_id)
    ctx.update({"followup_error": error, "followup_text": text})
    return page(request, "session.html", ctx, 409 if "follow-ups are accepted" in error else 400)


@router.post("/ui/sessions/{session_id}/cancel")
async def cancel(request: Request, session_id: str) -> Response:
    principal = await _principal(request)
    await _form(request)
    state = request.app.state.tracehound
    async with state.database.transaction() as db:
        _session, turn_id = await sessions.cancel(db, principal, session_id=session_id)
    if turn_id is not None:
        with contextlib.suppress(Exception):
            await state.cancel(turn_id)
    return RedirectResponse(f"/ui/sessions/{quote(session_id)}?done=cancelled", status_code=303)


# --- admin --------------------------------------------------------------------------------------------------


async def _keys_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with _database(request).reader() as db:
        keys = await auth.list_keys(db, org_name=principal.org_name)
        users = await auth_repo.users_of_org(db, principal.org_id)
    ctx = {"keys": sorted(keys, key=lambda kv: kv[0].created_at, reverse=True), "users": users, **extra}
    return page(request, "admin_keys.html", ctx, status)


@router.get("/ui/admin/keys")
async def keys_page(request: Request) -> Response:
    principal = await _admin(request, "API keys")
    return await _keys_page(request, principal, {})


@router.post("/ui/admin/keys")
async def create_key(request: Request) -> Response:
    principal = await _admin(request, "API keys")
    form = await _form(request)
    email = _text(form, "email", 320)
    name = _text(form, "name", 100).strip() or None
    try:
        async with _database(request).transaction() as db:
            created = await auth.create_key(db, org_name=principal.org_name, email=email, name=name)
            secret, prefix = created.secret, created.key.key_prefix
    except (NotFound, InvalidRequest) as exc:
        return await _keys_page(request, principal, {"error": exc.message}, exc.status_code)
    return await _keys_page(request, principal, {"new_secret": secret, "new_prefix": prefix, "new_email": email})


@router.post("/ui/admin/keys/{key_id}/revoke")
async def revoke_key(request: Request, key_id: str) -> Response:
    principal = await _admin(request, "API keys")
    await _form(request)
    async with _database(request).transaction() as db:
        await auth.revoke_key(db, key_id=key_id, org_id=principal.org_id)
    return RedirectResponse("/ui/admin/keys?done=revoked", status_code=303)


async def _users_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with _database(request).reader() as db:
        users = await auth_repo.users_of_org(db, principal.org_id)
    return page(request, "admin_users.html", {"users": users, "roles": ROLES, **extra}, status)


@router.get("/ui/admin/users")
async def users_page(request: Request) -> Response:
    principal = await _admin(request, "Users and roles")
    return await _users_page(request, principal, {})


async def _admin_count(db: AsyncSession, org_id: str) -> int:
    stmt = select(func.count()).select_from(User).where(User.org_id == org_id, User.role == "admin")
    return int((await db.execute(stmt)).scalar_one())


@router.post("/ui/admin/users")
async def save_user(request: Request) -> Response:
    principal = await _admin(request, "Users and roles")
    form = await _form(request)
    email = _text(form, "email", 320).strip().lower()
    role = _text(form, "role", 16)
    try:
        async with _database(request).transaction() as db:
            existing = await auth_repo.user_by_email(db, org_id=principal.org_id, email=email)
            if (
                existing is not None
                and existing.role == "admin"
                and role != "admin"
                and await _admin_count(db, principal.org_id) <= 1
            ):
                raise InvalidRequest(f"{email} is the organisation's last admin; make someone else admin first.")
            await auth.add_user(db, org_name=principal.org_name, email=email, role=role)
    except (InvalidRequest, NotFound) as exc:
        return await _users_page(request, principal, {"error": exc.message, "email": email}, exc.status_code)
    return RedirectResponse("/ui/admin/users?done=user-saved", status_code=303)


async def _org_page(request: Request, principal: Principal, extra: Mapping[str, Any], status: int = 200) -> Response:
    async with _database(request).reader() as db:
        org = await auth.get_org(db, principal.org_name)
        sources = await list_sources(db, org_id=principal.org_id)
        running = await session_repo.count_running(db, principal.org_id)
    ctx = {"org": org, "sources": sources, "running": running, **extra}
    return page(request, "admin_org.html", ctx, status)


@router.get("/ui/admin/org")
async def org_page(request: Request) -> Response:
    principal = await _admin(request, "Organisation settings")
    return await _org_page(request, principal, {})


@router.post("/ui/admin/org")
async def save_org(request: Request) -> Response:
    principal = await _admin(request, "Organisation settings")
    form = await _form(request)
    api_enabled = _text(form, "api_enabled", 8) == "on"
    raw = _text(form, "max_running", 12).strip()
    try:
        max_running = int(raw)
    except ValueError:
        return await _org_page(request, principal, {"error": "Concurrent investigations: enter a whole number."}, 400)
    try:
        async with _database(request).transaction() as db:
            await auth.update_org(db, name=principal.org_name, api_enabled=api_enabled, max_running=max_running)
    except InvalidRequest as exc:
        return await _org_page(request, principal, {"error": exc.message}, 400)
    return RedirectResponse("/ui/admin/org?done=org-saved", status_code=303)


def fmt_time(value: datetime | None) -> str:
    return "" if value is None else ensure_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def fmt_iso(value: str | None) -> str:
    if not value:
        return ""
    try:
        return parse_iso(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def _join(values: Sequence[Any] | None) -> str:
    return ", ".join(str(v) for v in values or [])


templates.env.filters["when"] = fmt_time
templates.env.filters["iso"] = fmt_iso
templates.env.filters["join_list"] = _join
