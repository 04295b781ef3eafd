"""Typed views of API responses. Unknown fields are kept in ``raw`` and never rejected (forward compatibility)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

RUNNING_STATUSES = frozenset({"running", "follow_up_running"})
END_EVENT_TYPES = frozenset({"session.idled", "session.failed"})


def _str(value: Any) -> str | None:
    return None if value is None else str(value)


@dataclass(frozen=True, slots=True)
class Message:
    id: str
    role: str
    markdown_content: str
    created_at: str | None = None
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Message:
        return cls(
            id=str(d.get("id", "")),
            role=str(d.get("role", "")),
            markdown_content=str(d.get("markdown_content") or ""),
            created_at=_str(d.get("created_at")),
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    status: str
    title: str | None = None
    input: str | None = None
    created_at: str | None = None
    updated_at: str | None = None
    messages: list[Message] | None = None
    tags: list[str] = field(default_factory=list)
    output_preview: str | None = None
    report: dict[str, Any] | None = None
    user_message_id: str | None = None  # set by follow_up
    assistant_message_id: str | None = None  # set by follow_up
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Session:
        messages = d.get("messages")
        report = d.get("report")
        return cls(
            id=str(d.get("id", "")),
            status=str(d.get("status", "")),
            title=_str(d.get("title")),
            input=_str(d.get("input")),
            created_at=_str(d.get("created_at")),
            updated_at=_str(d.get("updated_at")),
            messages=[Message.from_dict(m) for m in messages if isinstance(m, dict)]
            if isinstance(messages, list)
            else None,
            tags=[str(t) for t in d.get("tags") or []],
            output_preview=_str(d.get("output_preview")),
            report=report if isinstance(report, dict) else None,
            user_message_id=_str(d.get("user_message_id")),
            assistant_message_id=_str(d.get("assistant_message_id")),
            raw=dict(d),
        )

    @property
    def running(self) -> bool:
        return self.status in RUNNING_STATUSES

    @property
    def answer(self) -> str | None:
        """The latest assistant message's Markdown (needs ``messages``, as returned by ``get``)."""
        for m in reversed(self.messages or []):
            if m.role == "assistant":
                return m.markdown_content
        return None


@dataclass(frozen=True, slots=True)
class SessionPage:
    sessions: list[Session]
    count: int
    prev: int | None
    next: int | None
    total: int | None

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> SessionPage:
        sessions = [Session.from_dict(s) for s in d.get("sessions") or [] if isinstance(s, dict)]
        total = d.get("total")
        return cls(
            sessions=sessions,
            count=int(d.get("count", len(sessions))),
            prev=d.get("prev") if isinstance(d.get("prev"), int) else None,
            next=d.get("next") if isinstance(d.get("next"), int) else None,
            total=total if isinstance(total, int) else None,
        )


@dataclass(frozen=True, slots=True)
class Event:
    """One entry of a session's event log (``/events`` and ``/sse``)."""

    id: int
    type: str
    ts: str | None
    session_id: str
    sequence: int
    data: dict[str, Any]
    raw: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Event:
        data = d.get("data")
        return cls(
            id=int(d.get("id", 0)),
            type=str(d.get("type", "")),
            ts=_str(d.get("ts")),
            session_id=str(d.get("session_id", "")),
            sequence=int(d.get("sequence", d.get("id", 0))),
            data=data if isinstance(data, dict) else {},
            raw=dict(d),
        )


@dataclass(frozen=True, slots=True)
class EventPage:
    data: list[Event]
    next_since_id: int

    @classmethod
    def from_dict(cls, d: dict[str, Any], since_id: int = 0) -> EventPage:
        events = [Event.from_dict(e) for e in d.get("data") or [] if isinstance(e, dict)]
        nxt = d.get("next_since_id")
        return cls(events, nxt if isinstance(nxt, int) else (events[-1].id if events else since_id))
