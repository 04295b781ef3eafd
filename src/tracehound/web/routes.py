"""The web UI at ``/ui``: server-rendered pages over the same domain services as the V1 API.

Every page enforces the API's rules through those services (organisation scoping, roles, the running limit,
follow-ups only when idle); their errors become friendly pages or form messages instead of JSON envelopes.

    auth_pages     sign in with an API key, sign out
    session_pages  the list, the new-investigation form, the session page, its live part and event stream
    admin_pages    API keys, users and roles
    org_pages      organisation settings and connectors
    pages / deps   rendering, security headers, cookie session, CSRF-checked forms
"""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from starlette.responses import Response
from starlette.staticfiles import StaticFiles

from tracehound.web import admin_pages, auth_pages, deps, org_pages, session_pages
from tracehound.web.pages import HERE, WebRoute, error_page
from tracehound.web.security import WebOptions

_fallback = APIRouter(route_class=WebRoute, include_in_schema=False)


@_fallback.get("/ui/{rest:path}")
async def not_found(request: Request, rest: str) -> Response:
    """Any other address under ``/ui``: a page, not the API's JSON 404."""
    await deps.principal(request)
    return error_page(request, 404, "Not found", f"There is no page at /ui/{rest[:200]}.")


def install(app: FastAPI, options: WebOptions) -> None:
    """Mount the UI on ``app``: pages under ``/ui``, assets under ``/ui/static``, ``/`` redirecting to ``/ui``."""
    app.state.web = options
    app.mount("/ui/static", StaticFiles(directory=str(HERE / "static")), name="ui-static")
    for module in (auth_pages, session_pages, admin_pages, org_pages):
        app.include_router(module.router)
    app.include_router(_fallback)
