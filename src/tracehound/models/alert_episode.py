from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class AlertEpisode(Base):
    """One firing episode of an alert group (Alertmanager) or of an incident (PagerDuty), and the session it
    opened. ``instances`` holds the alert instances seen in it (``fingerprint@startsAt``): a notification that
    repeats any of them belongs to this episode, even after it resolved."""

    __tablename__ = "alert_episodes"
    __table_args__ = (Index("ix_alert_episodes_group", "org_id", "group_hash", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    integration_id: Mapped[str] = mapped_column(ForeignKey("alert_integrations.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"))
    group_hash: Mapped[str] = mapped_column(String(64))  # sha256 of (integration, groupKey) / of the incident id
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16))  # firing | resolved
    instances: Mapped[list[str]]
    notifications: Mapped[int]
    started_at: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
