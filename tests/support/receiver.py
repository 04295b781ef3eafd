"""A loopback HTTP receiver of completion webhooks that records every POST (headers, body, answer, time)."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    code: int
    at: float  # time.time() when it arrived


class Receiver:
    """Answers 500 to the first ``fail`` requests (all of them with ``fail=-1``), then 204."""

    def __init__(self, fail: int = 0) -> None:
        self.fail = fail
        self.received: list[Received] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                failing = receiver.fail < 0 or len(receiver.received) < receiver.fail
                code = 500 if failing else 204
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.received.append(Received(headers, body, code, time.time()))
                self.send_response(code)
                self.end_headers()

            def log_message(self, *_args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()

    def codes(self) -> list[int]:
        return [r.code for r in self.received]

    def delivered(self) -> list[Received]:
        return [r for r in self.received if r.code == 204]


def wait_for(pred: Any, timeout: float = 30, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")
