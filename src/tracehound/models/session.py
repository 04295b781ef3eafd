from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base

RUNNING_STATUSES = ("running", "follow_up_running")


class Session(Base):
    """An investigation session (the product's session, not a database session)."""

    __tablename__ = "sessions"
    __table_args__ = (
        UniqueConstraint("org_id", "idempotency_key", name="uq_sessions_org_idempotency_key"),
        Index("ix_sessions_list", "org_id", "origin", "created_at", "id"),
        Index("ix_sessions_org_status", "org_id", "status"),
        Index("ix_sessions_status_deadline", "status", "deadline_at"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    origin: Mapped[str] = mapped_column(String(16), default="api")  # api | web | alert
    title: Mapped[str | None] = mapped_column(String(256))
    input: Mapped[str] = mapped_column(Text)
    incident_time: Mapped[datetime | None]
    idempotency_key: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(32))
    thinking_mode: Mapped[str] = mapped_column(String(8), default="auto")  # of the latest turn
    agent_id: Mapped[str | None] = mapped_column(ForeignKey("agents.id", ondelete="SET NULL"), index=True)
    capabilities: Mapped[list[dict[str, Any]]]  # session-level, additive to the agent's
    model_id: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[list[str]]
    report: Mapped[dict[str, Any] | None]
    usage: Mapped[dict[str, Any]]
    output_preview: Mapped[str | None] = mapped_column(Text)
    alert: Mapped[dict[str, Any] | None]  # the alert that opened it (source, status, resolved_at ...), if any
    # The workflow id of the turn in progress; NULL when idle/failed. Guards every status change.
    active_turn: Mapped[str | None] = mapped_column(String(80))
    pending_message_id: Mapped[str | None] = mapped_column(String(36))
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    deadline_at: Mapped[datetime | None]
