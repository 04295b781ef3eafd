"""Request ids, access logs, Prometheus metrics and the request body limit, as one pure ASGI middleware."""

from __future__ import annotations

import logging
import time
import uuid
from contextvars import ContextVar
from typing import Any

import orjson
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
access_log = logging.getLogger("tracehound.access")


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "tracehound_http_requests_total",
            "HTTP requests",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "tracehound_http_request_duration_seconds",
            "HTTP request latency",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.sessions = Gauge("tracehound_sessions", "Sessions by status", ["status"], registry=self.registry)
        self.queue_depth = Gauge(
            "tracehound_queue_depth",
            "Turns waiting for a worker (enqueued, not started)",
            registry=self.registry,
        )
        self.alert_notifications = Counter(
            "tracehound_alert_notifications_total",
            "Alert notifications received, by source and outcome (opened, existing, resolved, ignored, rejected)",
            ["source", "outcome"],
            registry=self.registry,
        )


def _replay(first: Message, receive: Receive) -> Receive:
    """A ``receive`` that yields ``first`` once, then the connection's own messages (e.g. the disconnect)."""
    pending = [first]

    async def replayed() -> Message:
        return pending.pop() if pending else await receive()

    return replayed


def _route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class ObservabilityMiddleware:
    def __init__(self, app: ASGIApp, *, metrics: Metrics, max_body_bytes: int) -> None:
        self.app = app
        self.metrics = metrics
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        rid = headers.get(b"x-request-id", b"").decode("latin-1")[:64] or uuid.uuid4().hex
        token = request_id_var.set(rid)
        start = time.perf_counter()
        status = {"code": 500}
        declared = headers.get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            await self._reject_large(send, rid, status)
            self._record(scope, status["code"], start)
            request_id_var.reset(token)
            return
        if declared is None:  # chunked or unknown length: read it here, within the limit, then replay it
            buffered = await self._read_body(receive)
            if buffered is None:
                await self._reject_large(send, rid, status)
                self._record(scope, status["code"], start)
                request_id_var.reset(token)
                return
            receive = _replay(buffered, receive)

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode("latin-1"))]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            self._record(scope, status["code"], start)
            request_id_var.reset(token)

    async def _read_body(self, receive: Receive) -> Message | None:
        """The whole body as one ``http.request`` message (or the disconnect that cut it), None past the limit."""
        body = bytearray()
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return message
            body += message.get("body", b"")
            if len(body) > self.max_body_bytes:
                return None
            if not message.get("more_body", False):
                return {"type": "http.request", "body": bytes(body), "more_body": False}

    async def _reject_large(self, send: Send, rid: str, status: dict[str, int]) -> None:
        status["code"] = 413
        body = orjson.dumps(
            {
                "error": {
                    "message": f"The request body is larger than {self.max_body_bytes} bytes.",
                    "retry_after": None,
                }
            }
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", rid.encode("latin-1")),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _record(self, scope: Scope, code: int, start: float) -> None:
        elapsed = time.perf_counter() - start
        route = _route_of(scope)
        method = str(scope.get("method", ""))
        self.metrics.requests.labels(method, route, str(code)).inc()
        self.metrics.latency.labels(method, route).observe(elapsed)
        if access_log.isEnabledFor(logging.INFO):
            access_log.info("%s %s %d %.1fms", method, scope.get("path"), code, elapsed * 1000)


def configure_logging(level: str = "INFO", fmt: str = "text") -> None:
    """Operator logs: one line per event with the request id; ``fmt="json"`` for log shippers."""

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            record.request_id = request_id_var.get()
            return True

    handler = logging.StreamHandler()
    handler.addFilter(_Filter())
    if fmt == "json":

        class _Json(logging.Formatter):
            def format(self, record: logging.LogRecord) -> str:
                doc: dict[str, Any] = {
                    "ts": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
                    "level": record.levelname,
                    "logger": record.name,
                    "request_id": getattr(record, "request_id", "-"),
                    "message": record.getMessage(),
                }
                if record.exc_info:
                    doc["exc"] = self.formatException(record.exc_info)
                return orjson.dumps(doc).decode()

        handler.setFormatter(_Json())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
