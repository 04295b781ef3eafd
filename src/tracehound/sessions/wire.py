"""Sessions as they go over the wire (plain dicts, serialised once with orjson)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Protocol

from tracehound.kit.clock import isoformat_z
from tracehound.sessions.schemas import PREVIEW_CHARS


class MessageFields(Protocol):
    """What the wire needs of a message: an ORM ``Message`` or a row of the ``messages`` table."""

    @property
    def id(self) -> str: ...
    @property
    def role(self) -> str: ...
    @property
    def markdown_content(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...


class SessionFields(Protocol):
    """What the wire needs of a session: an ORM ``Session`` or a row of the ``sessions`` table."""

    @property
    def id(self) -> str: ...
    @property
    def status(self) -> str: ...
    @property
    def title(self) -> str | None: ...
    @property
    def input(self) -> str: ...
    @property
    def created_at(self) -> datetime: ...
    @property
    def updated_at(self) -> datetime: ...
    @property
    def incident_time(self) -> datetime | None: ...
    @property
    def thinking_mode(self) -> str: ...
    @property
    def agent_id(self) -> str | None: ...
    @property
    def org_id(self) -> str: ...
    @property
    def capabilities(self) -> list[dict[str, Any]]: ...
    @property
    def model_id(self) -> str | None: ...
    @property
    def tags(self) -> list[str]: ...
    @property
    def started_at(self) -> datetime | None: ...
    @property
    def finished_at(self) -> datetime | None: ...
    @property
    def output_preview(self) -> str | None: ...
    @property
    def usage(self) -> dict[str, Any]: ...
    @property
    def report(self) -> dict[str, Any] | None: ...
    @property
    def alert(self) -> dict[str, Any] | None: ...


def truncate(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def message_dict(m: MessageFields) -> dict[str, Any]:
    return {
        "id": m.id,
        "role": m.role,
        "markdown_content": m.markdown_content,
        "created_at": isoformat_z(m.created_at),
    }


def session_dict(
    s: SessionFields, *, messages: Sequence[MessageFields] | None = None, include_report: bool = False
) -> dict[str, Any]:
    return {
        "id": s.id,
        "status": s.status,
        "title": s.title,
        "input": s.input,
        "created_at": isoformat_z(s.created_at),
        "updated_at": isoformat_z(s.updated_at),
        "messages": None if messages is None else [message_dict(m) for m in messages],
        "time": isoformat_z(s.incident_time),
        "thinking_mode": s.thinking_mode,
        "agent_id": s.agent_id,
        "organization_id": s.org_id,
        "capabilities": list(s.capabilities or []),
        "model_id": s.model_id,
        "tags": list(s.tags or []),
        "started_at": isoformat_z(s.started_at),
        "finished_at": isoformat_z(s.finished_at),
        "preview": truncate(s.input),
        "output_preview": s.output_preview,
        "usage": s.usage or None,
        "report": s.report if include_report else None,
        "alert": s.alert,
    }
