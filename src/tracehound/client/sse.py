"""A small Server-Sent Events decoder (the WHATWG event-stream format), fed line by line."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ServerSentEvent:
    event: str
    data: str
    id: str | None = None
    retry: int | None = None


class SSEDecoder:
    def __init__(self) -> None:
        self._event = ""
        self._data: list[str] = []
        self._id: str | None = None
        self._retry: int | None = None
        self.last_event_id: str | None = None

    def decode(self, line: str) -> ServerSentEvent | None:
        """Feed one line (without its line break); returns an event when a blank line completes one."""
        line = line.rstrip("\r\n")
        if not line:
            if not self._data and not self._event and self._id is None:
                return None
            sse = ServerSentEvent(self._event or "message", "\n".join(self._data), self._id, self._retry)
            self._event, self._data, self._id, self._retry = "", [], None, None
            return sse
        if line.startswith(":"):
            return None  # a comment: the heartbeat
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            self._event = value
        elif name == "data":
            self._data.append(value)
        elif name == "id" and "\0" not in value:
            self._id = value
            self.last_event_id = value
        elif name == "retry" and value.isdigit():
            self._retry = int(value)
        return None
