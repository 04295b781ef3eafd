"""Exceptions of the client. An error response of the API (the envelope ``{"error": {"message", "retry_after"}}``)
becomes a :class:`TracehoundAPIError` subclass chosen by its HTTP status."""

from __future__ import annotations

from typing import Any

import httpx


class TracehoundClientError(Exception):
    """Base of every exception the client raises."""


class APIConnectionError(TracehoundClientError):
    """The server could not be reached, or the connection broke."""


class WaitTimeout(TracehoundClientError, TimeoutError):
    """``wait`` (or a retried create/follow-up) did not finish within its timeout."""


class TracehoundAPIError(TracehoundClientError):
    """The API answered with an error. ``retry_after`` (seconds) is set when retrying later can help."""

    def __init__(self, status: int, message: str, retry_after: int | None = None, body: Any = None) -> None:
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.body = body
        super().__init__(
            f"{status}: {message}" + (f" (retry after {retry_after} s)" if retry_after is not None else "")
        )


class InvalidRequest(TracehoundAPIError):
    """400: a field failed validation; the message names it."""


class Unauthorized(TracehoundAPIError):
    """401: missing, malformed, unknown or revoked API key."""


class Forbidden(TracehoundAPIError):
    """403: the API is disabled for the organisation, or the key's role is too low."""


class NotFound(TracehoundAPIError):
    """404: no such session in the caller's organisation."""


class Conflict(TracehoundAPIError):
    """409: the session is busy (``retry_after`` set) or failed (``retry_after`` is None: start a new session)."""


class PayloadTooLarge(TracehoundAPIError):
    """413: the request body is over the server's limit."""


class RateLimited(TracehoundAPIError):
    """429: the organisation is at its concurrency limit."""


class ServiceUnavailable(TracehoundAPIError):
    """503 (and a proxy's 502 or 504): the server cannot reach its database, is starting, or is restarting."""


_BY_STATUS: dict[int, type[TracehoundAPIError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    502: ServiceUnavailable,
    503: ServiceUnavailable,
    504: ServiceUnavailable,
}


def _int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return max(0, int(value))
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


def error_from_response(response: httpx.Response) -> TracehoundAPIError:
    """The exception for an error response; tolerant of servers that do not use the envelope."""
    body: Any = None
    message = ""
    retry_after: int | None = None
    authoritative = False  # the envelope's retry_after (null included) wins over the header
    try:
        body = response.json()
    except ValueError:
        message = response.text.strip()[:500]
    if isinstance(body, dict):
        err = body.get("error")
        if isinstance(err, dict):
            message = str(err.get("message") or "")
            if "retry_after" in err:
                authoritative = True
                retry_after = _int(err.get("retry_after"))
        elif isinstance(err, str):
            message = err
        elif "detail" in body:
            message = str(body["detail"])
        elif "message" in body:
            message = str(body["message"])
    if not authoritative:
        retry_after = _int(response.headers.get("Retry-After"))
    cls = _BY_STATUS.get(response.status_code, TracehoundAPIError)
    return cls(response.status_code, message or response.reason_phrase or "request failed", retry_after, body)
