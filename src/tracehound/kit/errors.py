"""The one error hierarchy of tracehound. Each error carries its HTTP status; the API renders every one of them
into the error envelope ``{"error": {"message": ..., "retry_after": ...}}``.

    TracehoundError                 500  (never shown with a traceback)
    ├── InvalidRequest              400  a field failed validation; the message names it
    ├── Unauthorized                401  missing, malformed, unknown or revoked API key
    ├── Forbidden                   403  API disabled for the organisation, or role too low
    ├── NotFound                    404  no such object in the caller's organisation
    ├── Conflict                    409  the session is busy (carries retry_after)
    ├── PayloadTooLarge             413  request body over the limit
    ├── TooManyRunning              429  the organisation is at its concurrency limit (carries retry_after)
    └── Unavailable                 503  database or workflow engine unreachable (carries retry_after)
"""

from __future__ import annotations


class TracehoundError(Exception):
    status_code: int = 500
    default_message = "An unexpected error occurred on the server."

    def __init__(self, message: str | None = None, *, retry_after: int | None = None) -> None:
        self.message = message or self.default_message
        self.retry_after = retry_after
        super().__init__(self.message)


class InvalidRequest(TracehoundError):
    status_code = 400
    default_message = "The request is invalid."


class Unauthorized(TracehoundError):
    status_code = 401
    default_message = "Missing, invalid, or revoked API key."


class Forbidden(TracehoundError):
    status_code = 403
    default_message = "Forbidden."


class NotFound(TracehoundError):
    status_code = 404
    default_message = "Not found."


class Conflict(TracehoundError):
    status_code = 409
    default_message = "Conflict."


class PayloadTooLarge(TracehoundError):
    status_code = 413
    default_message = "The request body is too large."


class TooManyRunning(TracehoundError):
    status_code = 429
    default_message = "Too many running sessions."


class Unavailable(TracehoundError):
    status_code = 503
    default_message = "The service is temporarily unavailable."
