from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class SessionEvent(Base):
    """The ordered, durable progress log of a session (status changes, engine steps, evidence)."""

    __tablename__ = "session_events"
    __table_args__ = (UniqueConstraint("session_id", "sequence", name="uq_session_events_session_sequence"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer(), "sqlite"), primary_key=True, autoincrement=True
    )
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    sequence: Mapped[int]
    type: Mapped[str] = mapped_column(String(48))
    ts: Mapped[datetime]
    data: Mapped[dict[str, Any]]
