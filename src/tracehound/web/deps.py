"""What every web page needs from its request: the options, the database, the visitor's cookie, who is signed in,
and the CSRF-checked form. Domain errors are raised as they are; :class:`tracehound.web.pages.WebRoute` renders
them as pages."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol

from fastapi import Request
from starlette.datastructures import FormData
from starlette.responses import Response

from tracehound.auth import web_sessions
from tracehound.auth.principal import Principal
from tracehound.db.database import Database
from tracehound.kit.errors import Forbidden
from tracehound.sessions.service import Enqueue, Limits
from tracehound.web.security import (
    COOKIE_NAME,
    CookieSession,
    WebOptions,
    csrf_valid,
    decode_session,
    encode_session,
)


class Services(Protocol):
    """What the web UI uses of the application state (``tracehound.api.deps.AppState`` provides it)."""

    @property
    def database(self) -> Database: ...
    @property
    def enqueue(self) -> Enqueue: ...
    @property
    def cancel(self) -> Callable[[str], Awaitable[None]]: ...
    @property
    def limits(self) -> Limits: ...


class SignInRequired(Exception):
    pass


class BadCsrf(Exception):
    pass


def options(request: Request) -> WebOptions:
    value: WebOptions = request.app.state.web
    return value


def services(request: Request) -> Services:
    value: Services = request.app.state.tracehound
    return value


def database(request: Request) -> Database:
    return services(request).database


def cookie_session(request: Request) -> CookieSession:
    """The visitor's cookie; a new anonymous one (set on the response) when there is none or it is not valid."""
    cached = getattr(request.state, "web_session", None)
    if isinstance(cached, CookieSession):
        return cached
    opts = options(request)
    session = decode_session(opts.secret, request.cookies.get(COOKIE_NAME), max_age=opts.session_seconds)
    if session is None:
        session = CookieSession.anonymous()
        request.state.set_cookie = session
    request.state.web_session = session
    return session


def replace_cookie(request: Request, session: CookieSession) -> None:
    """Send ``session`` as the new cookie with this response (sign-in, sign-out)."""
    request.state.web_session = session
    request.state.set_cookie = session


def secure(request: Request) -> bool:
    return request.url.scheme == "https" or options(request).force_secure_cookie


def set_cookie(request: Request, response: Response, session: CookieSession) -> None:
    opts = options(request)
    response.set_cookie(
        COOKIE_NAME,
        encode_session(opts.secret, session),
        max_age=opts.session_seconds,
        path="/",
        httponly=True,
        samesite="lax",
        secure=secure(request),
    )


async def principal(request: Request) -> Principal:
    """Who is signed in; :class:`SignInRequired` when nobody is (or the session ended, or its key was revoked)."""
    cached = getattr(request.state, "principal", None)
    if isinstance(cached, Principal):
        return cached
    session = cookie_session(request)
    if session.token is None:
        raise SignInRequired
    async with database(request).reader() as db:
        who = await web_sessions.principal(db, session.token)
    if who is None:
        raise SignInRequired
    request.state.principal = who
    return who


async def admin(request: Request, what: str) -> Principal:
    who = await principal(request)
    if not who.is_admin:
        raise Forbidden(
            f"{what} is open to the 'admin' role only; you are signed in as {who.email}, "
            f"who has the '{who.role}' role. Ask an admin of '{who.org_name}' for access."
        )
    return who


def _cross_site(request: Request) -> bool:
    """A form posted from another site: its Origin differs from ours, or the browser says so (Fetch metadata)."""
    if request.headers.get("sec-fetch-site", "") == "cross-site":
        return True
    origin = request.headers.get("origin")
    if not origin or origin == "null":
        return False
    return origin.rstrip("/") != f"{request.url.scheme}://{request.url.netloc}"


async def form(request: Request) -> FormData:
    """The posted form, after the CSRF check: the token of this cookie (never another visitor's), and no
    cross-site Origin or ``Sec-Fetch-Site``."""
    data = await request.form()
    if _cross_site(request):
        raise BadCsrf
    token = data.get("csrf_token")
    opts = options(request)
    stored = decode_session(opts.secret, request.cookies.get(COOKIE_NAME), max_age=opts.session_seconds)
    if not csrf_valid(opts.secret, stored, token if isinstance(token, str) else None):
        raise BadCsrf
    return data


def text(data: FormData, name: str, limit: int = 200_000) -> str:
    value = data.get(name)
    return value[:limit] if isinstance(value, str) else ""
