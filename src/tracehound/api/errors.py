"""Every error leaves the API in one envelope: ``{"error": {"message": str, "retry_after": int | null}}``."""

from __future__ import annotations

import logging
from typing import Any

import orjson
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response

from tracehound.kit.errors import TracehoundError

log = logging.getLogger("tracehound.api")


def envelope(status: int, message: str, retry_after: int | None = None) -> Response:
    headers = {}
    if retry_after is not None:
        headers["Retry-After"] = str(retry_after)
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="tracehound"'
    body = orjson.dumps({"error": {"message": message, "retry_after": retry_after}})
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _field(loc: tuple[Any, ...]) -> str:
    """``("body", "capabilities", 0, "ref")`` -> ``capabilities[0].ref``."""
    out = ""
    for part in loc:
        if part in ("body", "query", "path", "header") and not out:
            continue
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "body"


def validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return "The request is invalid."
    first = errors[0]
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return f"The request body is not valid JSON: {first.get('ctx', {}).get('error', 'parse error')}."
    if kind == "model_attributes_type" or (kind == "dict_type" and tuple(first.get("loc", ())) == ("body",)):
        return "The request body must be a JSON object."
    field = _field(tuple(first.get("loc", ())))
    msg = str(first.get("msg", "is invalid"))
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    more = f" (and {len(errors) - 1} more problem{'s' if len(errors) > 2 else ''})" if len(errors) > 1 else ""
    return f"{field}: {msg}{more}"


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(TracehoundError)
    async def _domain(_request: Request, exc: TracehoundError) -> Response:
        if exc.status_code >= 500:
            log.error("server error: %s", exc.message)
        return envelope(exc.status_code, exc.message, exc.retry_after)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> Response:
        return envelope(400, validation_message(exc))

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> Response:
        messages = {404: "Not found.", 405: "Method not allowed."}
        detail = exc.detail if isinstance(exc.detail, str) and exc.status_code not in messages else None
        return envelope(exc.status_code, detail or messages.get(exc.status_code, "Request failed."))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return envelope(500, "An unexpected error occurred on the server. It has been logged.")


def install_database_error_handler(app: FastAPI, *, retry_after: int = 5) -> None:
    """A database that cannot be reached (or stays locked past its busy timeout) is a 503, not a 500."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    @app.exception_handler(OperationalError)
    async def _db_down(_request: Request, exc: OperationalError) -> Response:
        log.error("database unavailable: %s", str(exc).splitlines()[0][:300])
        return envelope(503, "The database is unavailable; retry shortly.", retry_after)

    @app.exception_handler(DBAPIError)
    async def _db_error(request: Request, exc: DBAPIError) -> Response:
        if exc.connection_invalidated:
            return envelope(503, "The database connection was lost; retry shortly.", retry_after)
        log.exception("database error on %s %s", request.method, request.url.path)
        return envelope(500, "An unexpected error occurred on the server. It has been logged.")
