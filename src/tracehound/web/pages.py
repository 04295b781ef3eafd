"""Rendering: the template environment and its filters, ``page()``, error pages, and :class:`WebRoute`, which turns
domain errors into pages and adds the security headers and the cookie to every response of the UI."""

from __future__ import annotations

import functools
import hashlib
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute
from starlette.responses import RedirectResponse, Response
from starlette.templating import Jinja2Templates

from tracehound.engine.report import parse_iso
from tracehound.kit.clock import ensure_utc
from tracehound.kit.errors import TracehoundError
from tracehound.web import deps
from tracehound.web.markdown import render_markdown
from tracehound.web.security import CookieSession, csrf_token

log = logging.getLogger("tracehound.web")

HERE = Path(__file__).resolve().parent
templates = Jinja2Templates(directory=str(HERE / "templates"))

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; "
    "font-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATUS_LABELS = {"running": "Running", "follow_up_running": "Answering follow-up", "idle": "Idle", "failed": "Failed"}
NOTICES = {
    "revoked": "The API key was revoked. Anyone using it is signed out at their next request.",
    "user-saved": "The user was saved.",
    "org-saved": "Organisation settings were saved.",
    "connector-added": "The connector was added. New investigations read from it.",
    "connector-removed": "The connector was removed.",
    "cancelled": "The running turn was cancelled.",
    "signed-out": "You have been signed out.",
}
_TITLES = {400: "Check the form", 401: "Sign in again", 403: "Not allowed", 404: "Not found", 409: "Busy", 429: "Busy"}


@functools.cache
def asset_version() -> str:
    """A digest of the shipped assets, appended to their URLs so a new release is never served from a stale cache."""
    digest = hashlib.sha256()
    for path in sorted((HERE / "static").iterdir()):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def page(request: Request, name: str, context: Mapping[str, Any] | None = None, status: int = 200) -> Response:
    session = deps.cookie_session(request)
    ctx: dict[str, Any] = {
        "principal": getattr(request.state, "principal", None),
        "csrf": csrf_token(deps.options(request).secret, session),
        "asset_version": asset_version(),
        "heartbeat_ms": int(1000 * float(getattr(request.app.state, "sse_heartbeat_seconds", 20.0))),
        "status_labels": STATUS_LABELS,
        "notice": NOTICES.get(request.query_params.get("done", "")),
        "path": request.url.path,
    }
    ctx.update(context or {})
    return templates.TemplateResponse(request, name, ctx, status_code=status)


def error_page(request: Request, status: int, title: str, message: str, retry_after: int | None = None) -> Response:
    response = page(request, "error.html", {"title": title, "message": message, "code": status}, status)
    if retry_after is not None:
        response.headers["Retry-After"] = str(retry_after)
    return response


def sign_in_redirect(request: Request) -> Response:
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    location = "/ui/login?" + urlencode({"next": target})
    return RedirectResponse(location, status_code=303)


def _security_headers(response: Response) -> None:
    response.headers.setdefault("Content-Security-Policy", CSP)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cache-Control", "no-store")


async def _render(handler: Callable[[Request], Coroutine[Any, Any, Response]], request: Request) -> Response:
    try:
        return await handler(request)
    except deps.SignInRequired:
        return sign_in_redirect(request)
    except deps.BadCsrf:
        message = (
            "This form was not accepted (its security token is missing or out of date). "
            "Go back, reload the page and try again."
        )
        return error_page(request, 403, "Form expired", message)
    except TracehoundError as exc:
        if exc.status_code >= 500:
            log.error("web error: %s", exc.message)
        title = _TITLES.get(exc.status_code, "Something went wrong")
        return error_page(request, exc.status_code, title, exc.message, exc.retry_after)
    except RequestValidationError:
        return error_page(request, 400, "Check the address", "The address has an invalid parameter.")


class WebRoute(APIRoute):
    """Turns domain errors into HTML pages and adds the security headers and the session cookie."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def wrapped(request: Request) -> Response:
            response = await _render(handler, request)
            pending = getattr(request.state, "set_cookie", None)
            if isinstance(pending, CookieSession):
                deps.set_cookie(request, response, pending)
            _security_headers(response)
            return response

        return wrapped


def fmt_time(value: datetime | None) -> str:
    return "" if value is None else ensure_utc(value).strftime("%Y-%m-%d %H:%M UTC")


def fmt_iso(value: str | None) -> str:
    if not value:
        return ""
    try:
        return parse_iso(value).strftime("%Y-%m-%d %H:%M:%S UTC")
    except ValueError:
        return value


def fmt_hms(value: datetime | str | None) -> str:
    """The time of day (``14:31:05``), for dense lists."""
    if not value:
        return ""
    if isinstance(value, datetime):
        return ensure_utc(value).strftime("%H:%M:%S")
    try:
        return parse_iso(value).strftime("%H:%M:%S")
    except ValueError:
        return value


PROGRESS_MARKS = {"step.started": "▸", "step.completed": "✓", "evidence.found": "•", "turn.started": "⏵"}


def progress_label(event_type: str, data: Mapping[str, Any]) -> dict[str, str]:
    """How a progress event reads in the list (``static/app.js`` renders streamed ones the same way)."""
    if event_type == "turn.started":
        kind = "follow-up" if data.get("kind") == "follow_up" else "investigation"
        return {"mark": PROGRESS_MARKS[event_type], "step": "started", "detail": f"a worker picked up the {kind}"}
    step = str(data.get("step") or event_type)
    return {"mark": PROGRESS_MARKS.get(event_type, "·"), "step": step, "detail": str(data.get("detail") or "")}


def _join(values: Sequence[Any] | None) -> str:
    return ", ".join(str(v) for v in values or [])


templates.env.globals["progress_label"] = progress_label
templates.env.filters["markdown"] = render_markdown
templates.env.filters["when"] = fmt_time
templates.env.filters["iso"] = fmt_iso
templates.env.filters["hms"] = fmt_hms
templates.env.filters["join_list"] = _join
