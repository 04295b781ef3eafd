"""What the sync and async clients share: request bodies, query parameters, retry decisions."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from tracehound.client.errors import (
    APIConnectionError,
    Conflict,
    RateLimited,
    ServiceUnavailable,
    TracehoundAPIError,
    TracehoundClientError,
    error_from_response,
)
from tracehound.client.models import Event, Session, SessionPage
from tracehound.client.sse import ServerSentEvent

USER_AGENT = "tracehound-client/0.1"
DEFAULT_TIMEOUT = httpx.Timeout(30.0, connect=10.0)
STREAM_TIMEOUT = httpx.Timeout(10.0, read=90.0)  # the server sends a heartbeat every 20 s by default
DEFAULT_RETRY_AFTER = 5.0


def headers(api_key: str | None) -> dict[str, str]:
    out = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    if api_key:
        out["Authorization"] = f"Bearer {api_key}"
    return out


def iso(value: datetime | str | None) -> str | None:
    if value is None or isinstance(value, str):
        return value
    return value.isoformat()


def create_body(
    input: str,
    *,
    time: datetime | str | None = None,
    title: str | None = None,
    tags: Iterable[str] | None = None,
    idempotency_key: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    body: dict[str, Any] = {"input": input}
    if time is not None:
        body["time"] = iso(time)
    if title is not None:
        body["title"] = title
    if tags:
        body["tags"] = list(tags)
    if idempotency_key is not None:
        body["idempotency_key"] = idempotency_key
    body.update(extra or {})
    return body


def with_idempotency_key(body: dict[str, Any]) -> dict[str, Any]:
    """A create body that is safe to send twice: a retried create can then never start a second investigation
    (a server that saw the first attempt answers the second with the same session)."""
    if body.get("idempotency_key") is None:
        body = {**body, "idempotency_key": f"tracehound-client-{uuid.uuid4()}"}
    return body


def list_params(
    page: int | None, limit: int | None, tags: Iterable[str] | None, statuses: Iterable[str] | None
) -> list[tuple[str, str | int]]:
    params: list[tuple[str, str | int]] = []
    if page is not None:
        params.append(("page", page))
    if limit is not None:
        params.append(("limit", limit))
    params += [("tag", t) for t in tags or ()]
    params += [("status", s) for s in statuses or ()]
    return params


def event_params(since_id: int, types: Iterable[str] | None, limit: int | None = None) -> dict[str, str | int]:
    params: dict[str, str | int] = {"since_id": since_id}
    wanted = list(types or ())
    if wanted:
        params["types"] = ",".join(wanted)
    if limit is not None:
        params["limit"] = limit
    return params


def json_of(response: httpx.Response) -> Any:
    """The decoded body of a success, else the mapped exception."""
    if response.status_code >= 400:
        raise error_from_response(response)
    try:
        return response.json()
    except ValueError as exc:
        raise TracehoundAPIError(response.status_code, f"the server sent a body that is not JSON: {exc}") from exc


def retry_delay(exc: TracehoundAPIError, *, follow_up: bool) -> float | None:
    """Seconds to wait before retrying a create/follow-up after ``exc``; None when retrying cannot help."""
    if isinstance(exc, RateLimited | ServiceUnavailable):
        return float(exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER)
    if follow_up and isinstance(exc, Conflict) and exc.retry_after is not None:
        return float(exc.retry_after)
    return None


def poll_delay(exc: TracehoundClientError, interval: float) -> float | None:
    """Seconds to wait before ``wait`` polls again after ``exc``; None when polling again cannot help. A 429, a
    busy 409 and a 503 wait at least their ``Retry-After``; a broken connection waits one interval."""
    if isinstance(exc, RateLimited | ServiceUnavailable) or (isinstance(exc, Conflict) and exc.retry_after is not None):
        retry_after = exc.retry_after if exc.retry_after is not None else DEFAULT_RETRY_AFTER
        return max(interval, float(retry_after))
    if isinstance(exc, APIConnectionError):
        return interval
    return None


class Pager:
    """Walks ``page=1, 2, ...`` of ``GET /v1/sessions`` and drops sessions already yielded: sessions created while
    paging push older ones onto the next page (newest first), so a page can repeat the tail of the previous one."""

    def __init__(self) -> None:
        self.page: int | None = 1
        self._seen: set[str] = set()

    def take(self, result: SessionPage) -> list[Session]:
        fresh = [s for s in result.sessions if s.id not in self._seen]
        self._seen.update(s.id for s in fresh)
        self.page = result.next if result.sessions else None
        return fresh


class StreamState:
    """Where an event stream is: the last event id seen (resent as ``Last-Event-ID`` on reconnection, and used to
    drop anything at or before it), the reconnection delay (the server's ``retry:``), and since when it is down."""

    def __init__(self, since_id: int) -> None:
        self.last = since_id
        self.backoff = 0.5
        self.ended = False
        self._down_since: float | None = None

    def headers(self, base: Mapping[str, str]) -> dict[str, str]:
        return {**base, "Accept": "text/event-stream", "Last-Event-ID": str(self.last)}

    def connected(self) -> None:
        self._down_since, self.backoff = None, 0.5

    def feed(self, sse: ServerSentEvent | None) -> Event | None:
        """The new event in a decoded frame, if any; an ``end`` frame ends the stream."""
        if sse is None:
            return None
        if sse.retry is not None:
            self.backoff = sse.retry / 1000
        if sse.event == "end":
            self.ended = True
            return None
        event = to_event(sse)
        if event is None or event.id <= self.last:
            return None
        self.last = event.id
        return event

    def broken(self, exc: Exception, *, now: float, limit: float, what: str) -> None:
        """A connection attempt failed; raises once the outage has lasted more than ``limit`` seconds."""
        self._down_since = self._down_since or now
        if now - self._down_since > limit:
            raise APIConnectionError(f"event stream of {what} lost: {exc}") from exc


def stream_params(since_id: int, types: Iterable[str] | None, until_idle: bool) -> dict[str, str | int]:
    params: dict[str, str | int] = dict(event_params(since_id, types))
    if until_idle:
        params["until_idle"] = "true"
    return params


def to_event(sse: ServerSentEvent) -> Event | None:
    """A log event from an SSE frame; None for ``connected`` and other control frames."""
    if sse.event == "connected" or not sse.data:
        return None
    try:
        payload = json.loads(sse.data)
    except ValueError:
        return None
    if not isinstance(payload, dict) or "id" not in payload:
        return None
    return Event.from_dict(payload)
