"""The synchronous client."""

from __future__ import annotations

import os
import time as _time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from types import TracebackType
from typing import Any

import httpx

from tracehound.client import common
from tracehound.client.errors import (
    APIConnectionError,
    ServiceUnavailable,
    TracehoundAPIError,
    TracehoundClientError,
    WaitTimeout,
    error_from_response,
)
from tracehound.client.models import RUNNING_STATUSES, Event, EventPage, Session, SessionPage
from tracehound.client.sse import SSEDecoder


class Client:
    """A client of any Traversal-compatible V1 Sessions API (tracehound's additive endpoints are optional).

    ``base_url`` and ``api_key`` default to the ``TRACEHOUND_URL`` and ``TRACEHOUND_API_KEY`` environment
    variables. Use it as a context manager, or call :meth:`close`.
    """

    def __init__(
        self,
        base_url: str | None = None,
        api_key: str | None = None,
        *,
        timeout: float | httpx.Timeout | None = None,
        http_client: httpx.Client | None = None,
        sleep: Callable[[float], None] = _time.sleep,
    ) -> None:
        url = base_url or os.environ.get("TRACEHOUND_URL")
        if not url:
            raise TracehoundClientError("base_url is required (or set TRACEHOUND_URL)")
        self.base_url = url.rstrip("/")
        self.api_key = api_key if api_key is not None else os.environ.get("TRACEHOUND_API_KEY")
        self._owns = http_client is None
        self._http = http_client or httpx.Client(timeout=timeout if timeout is not None else common.DEFAULT_TIMEOUT)
        self._headers = common.headers(self.api_key)
        self._sleep = sleep  # injected in tests

    # --- plumbing ------------------------------------------------------------------------------------------

    def close(self) -> None:
        if self._owns:
            self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        try:
            response = self._http.request(method, f"{self.base_url}{path}", headers=self._headers, **kwargs)
        except httpx.TransportError as exc:
            raise APIConnectionError(f"{method} {self.base_url}{path}: {type(exc).__name__}: {exc}") from exc
        return common.json_of(response)

    def _retrying(self, fn: Any, *, retry: bool, retry_timeout: float, follow_up: bool) -> Any:
        deadline = _time.monotonic() + retry_timeout
        while True:
            try:
                return fn()
            except TracehoundAPIError as exc:
                delay = common.retry_delay(exc, follow_up=follow_up) if retry else None
                if delay is None or _time.monotonic() + delay > deadline:
                    raise
                self._sleep(delay)

    # --- the Traversal endpoints ---------------------------------------------------------------------------

    def create(
        self,
        input: str,
        *,
        time: datetime | str | None = None,
        title: str | None = None,
        tags: Iterable[str] | None = None,
        idempotency_key: str | None = None,
        retry: bool = False,
        retry_timeout: float = 300.0,
        **extra: Any,
    ) -> Session:
        """Start an investigation (``POST /v1/sessions``). With ``retry``, a 429 (or 503) is retried after its
        ``Retry-After`` until ``retry_timeout`` seconds have passed, under one ``idempotency_key`` (generated when
        none is given) so that a retry never starts a second investigation. Extra keyword arguments go into the
        body."""
        body = common.create_body(
            input, time=time, title=title, tags=tags, idempotency_key=idempotency_key, extra=extra
        )
        if retry:
            body = common.with_idempotency_key(body)
        data = self._retrying(
            lambda: self._request("POST", "/v1/sessions", json=body),
            retry=retry,
            retry_timeout=retry_timeout,
            follow_up=False,
        )
        return Session.from_dict(data)

    def get(self, session_id: str) -> Session:
        """A session with its messages and (on tracehound) its report."""
        return Session.from_dict(self._request("GET", f"/v1/sessions/{session_id}"))

    def list_page(
        self,
        page: int | None = None,
        limit: int | None = None,
        *,
        tags: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> SessionPage:
        """One page of ``GET /v1/sessions`` (admin keys only), newest first."""
        params = common.list_params(page, limit, tags, statuses)
        return SessionPage.from_dict(self._request("GET", "/v1/sessions", params=params))

    def list_sessions(
        self,
        *,
        page_size: int = 100,
        tags: Iterable[str] | None = None,
        statuses: Iterable[str] | None = None,
    ) -> Iterator[Session]:
        """Every session, newest first, fetched page by page as the iterator advances (each one once, even when
        sessions are created meanwhile)."""
        pager = common.Pager()
        while pager.page is not None:
            yield from pager.take(self.list_page(pager.page, page_size, tags=tags, statuses=statuses))

    def follow_up(
        self, session_id: str, input: str, *, retry: bool = False, retry_timeout: float = 300.0, **extra: Any
    ) -> Session:
        """Ask a follow-up (``POST /v1/sessions/{id}/messages``). With ``retry``, a 409 on a busy session and a 429
        are retried after their ``Retry-After``; a 409 on a failed session is raised at once."""
        body = {"input": input, **extra}
        data = self._retrying(
            lambda: self._request("POST", f"/v1/sessions/{session_id}/messages", json=body),
            retry=retry,
            retry_timeout=retry_timeout,
            follow_up=True,
        )
        return Session.from_dict(data)

    # --- conveniences and tracehound's additive endpoints --------------------------------------------------

    def wait(self, session_id: str, *, interval: float = 1.0, timeout: float = 600.0) -> Session:
        """Poll ``GET /v1/sessions/{id}`` every ``interval`` seconds until the session is no longer running, and
        return it with its messages. A 429, a busy 409 or a 503 is waited out for its ``Retry-After`` (at least
        ``interval``), a broken connection for one interval; anything else is raised. Raises WaitTimeout when
        ``timeout`` seconds pass first."""
        deadline = _time.monotonic() + timeout
        while True:
            try:
                session = self.get(session_id)
                if session.status not in RUNNING_STATUSES:
                    return session
                delay = interval
            except (TracehoundAPIError, APIConnectionError) as exc:
                wait_for = common.poll_delay(exc, interval)
                if wait_for is None:
                    raise
                delay = wait_for
            left = deadline - _time.monotonic()
            if left <= 0:
                raise WaitTimeout(f"session {session_id} still running after {timeout:.0f} s")
            self._sleep(min(delay, left))

    def investigate(self, input: str, *, timeout: float = 600.0, **kwargs: Any) -> Session:
        """Create a session (retrying on 429) and wait for its answer."""
        session = self.create(input, retry=True, **kwargs)
        return self.wait(session.id, timeout=timeout)

    def cancel(self, session_id: str) -> Session:
        """Stop the running turn (tracehound's ``POST /v1/sessions/{id}/cancel``)."""
        return Session.from_dict(self._request("POST", f"/v1/sessions/{session_id}/cancel"))

    def list_events(
        self, session_id: str, *, since_id: int = 0, types: Iterable[str] | None = None, limit: int | None = None
    ) -> EventPage:
        """One page of the session's event log (tracehound's ``GET /v1/sessions/{id}/events``)."""
        params = common.event_params(since_id, types, limit)
        data = self._request("GET", f"/v1/sessions/{session_id}/events", params=params)
        return EventPage.from_dict(data, since_id)

    def stream_events(
        self,
        session_id: str,
        *,
        since_id: int = 0,
        types: Iterable[str] | None = None,
        until_idle: bool = False,
        reconnect_timeout: float = 60.0,
    ) -> Iterator[Event]:
        """The session's events as they happen (tracehound's ``GET /v1/sessions/{id}/sse``). A broken connection is
        resumed from the last event seen (``Last-Event-ID``), so no event is lost or repeated, for up to
        ``reconnect_timeout`` seconds of outage. With ``until_idle`` it ends when the turn ends."""
        state = common.StreamState(since_id)
        params = common.stream_params(since_id, types, until_idle)
        url = f"{self.base_url}/v1/sessions/{session_id}/sse"
        while not state.ended:
            try:
                with self._http.stream(
                    "GET", url, params=params, headers=state.headers(self._headers), timeout=common.STREAM_TIMEOUT
                ) as response:
                    if response.status_code >= 400:
                        response.read()
                        raise error_from_response(response)
                    state.connected()
                    decoder = SSEDecoder()
                    for line in response.iter_lines():
                        event = state.feed(decoder.decode(line))
                        if event is not None:
                            yield event
                        if state.ended:
                            return
            except (httpx.TransportError, ServiceUnavailable) as exc:
                state.broken(exc, now=_time.monotonic(), limit=reconnect_timeout, what=session_id)
            self._sleep(state.backoff)
