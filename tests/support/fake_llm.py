"""A scripted OpenAI-compatible chat endpoint on loopback: a real HTTP server answering
``POST /v1/chat/completions`` from scripted replies, recording every request. No real model is ever contacted.

A script is a function from the request body to a :class:`Reply`; :func:`by_task` routes on which of tracehound's
prompts the request carries (reading a question, wording an answer, summarising a report).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    content: str | None = None  # the completion's text (None: send ``raw``)
    status: int = 200
    delay: float = 0.0  # seconds before answering (for timeouts)
    raw: bytes | None = None  # a body sent as is (malformed replies)
    prompt_tokens: int = 120
    completion_tokens: int = 30

    def body(self, model: str) -> bytes:
        if self.raw is not None:
            return self.raw
        return json.dumps(
            {
                "id": "chatcmpl-fake",
                "object": "chat.completion",
                "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": self.content}}],
                "usage": {"prompt_tokens": self.prompt_tokens, "completion_tokens": self.completion_tokens},
            }
        ).encode()


Script = Callable[[dict[str, Any]], Reply]


def task(body: dict[str, Any]) -> str:
    """Which of tracehound's prompts a request carries: ``interpret``, ``summary`` or ``answer``."""
    system = next((m["content"] for m in body.get("messages", []) if m.get("role") == "system"), "")
    if "translate it into a request" in system:
        return "interpret"
    if "summary that opens the report" in system:
        return "summary"
    return "answer"


def by_task(**replies: Reply) -> Script:
    """Answer each task with its own reply (a task without one gets a 500)."""
    return lambda body: replies.get(task(body), Reply(status=500, raw=b'{"error": "not scripted"}'))


@dataclass
class FakeLLM:
    script: Script
    requests: list[dict[str, Any]] = field(default_factory=list)
    headers: list[dict[str, str]] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def tasks(self) -> list[str]:
        return [task(b) for b in self.requests]

    def start(self) -> FakeLLM:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                fake.requests.append(body)
                fake.headers.append({k.lower(): v for k, v in self.headers.items()})
                if self.path != "/v1/chat/completions":
                    reply = Reply(status=404, raw=b'{"error": "no such route"}')
                else:
                    reply = fake.script(body)
                time.sleep(reply.delay)
                payload = reply.body(str(body.get("model")))
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                    pass

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
