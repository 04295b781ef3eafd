"""Sessions as they go over the wire (plain dicts, serialised once with orjson)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from tracehound.kit.clock import isoformat_z
from tracehound.models import Message, Session
from tracehound.sessions.schemas import PREVIEW_CHARS


def truncate(text: str | None, limit: int = PREVIEW_CHARS) -> str | None:
    if text is None:
        return None
    flat = " ".join(text.split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def message_dict(m: Message) -> dict[str, Any]:
    return {
        "id": m.id,
        "role": m.role,
        "markdown_content": m.markdown_content,
        "created_at": isoformat_z(m.created_at),
    }


def session_dict(
    s: Session, *, messages: Sequence[Message] | None = None, include_report: bool = False
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
