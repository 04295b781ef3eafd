"""Signing in with an API key and signing out."""

from __future__ import annotations

from fastapi import APIRouter, Request
from starlette.responses import RedirectResponse, Response

from tracehound.auth import repository as auth_repo
from tracehound.auth import web_sessions
from tracehound.kit.ids import hash_api_key, looks_like_api_key
from tracehound.web import deps
from tracehound.web.pages import WebRoute, page
from tracehound.web.security import CookieSession

router = APIRouter(route_class=WebRoute, include_in_schema=False)


@router.get("/")
async def root() -> Response:
    return RedirectResponse("/ui", status_code=307)


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path of the UI, never another site."""
    if value and value.startswith("/ui") and not value.startswith("//") and "\\" not in value:
        return value
    return "/ui"


@router.get("/ui/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    return page(request, "login.html", {"next": safe_next(next)})


async def _key_id(request: Request, token: str) -> tuple[str | None, str | None]:
    """(key id, None) for a valid key, else (None, the message to show)."""
    if not token:
        return None, "Paste your API key (it starts with trv_ak_)."
    if not looks_like_api_key(token):
        return None, "That does not look like a tracehound API key: keys start with trv_ak_ followed by 43 characters."
    row = await deps.database(request).read(lambda c: auth_repo.principal_record(c, key_hash=hash_api_key(token)))
    if row is None:
        return None, "Unknown API key."
    if row.revoked_at is not None:
        return None, "This API key has been revoked. Ask an admin of your organisation for a new one."
    return row.key_id, None


@router.post("/ui/login")
async def login(request: Request) -> Response:
    data = await deps.form(request)
    target = safe_next(deps.text(data, "next", 2000))
    key_id, error = await _key_id(request, deps.text(data, "api_key", 200).strip())
    if key_id is None:
        return page(request, "login.html", {"next": target, "error": error}, 401)
    async with deps.database(request).transaction() as db:
        token = await web_sessions.start(db, key_id=key_id, lifetime_seconds=deps.options(request).session_seconds)
    deps.replace_cookie(request, CookieSession.signed_in(token))  # a new nonce too: no session fixation
    return RedirectResponse(target, status_code=303)


@router.post("/ui/logout")
async def logout(request: Request) -> Response:
    await deps.form(request)
    token = deps.cookie_session(request).token
    if token is not None:
        async with deps.database(request).transaction() as db:
            await web_sessions.end(db, token)
    deps.replace_cookie(request, CookieSession.anonymous())
    return RedirectResponse("/ui/login?done=signed-out", status_code=303)
