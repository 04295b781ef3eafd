from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class AlertIntegration(Base):
    """An alert receiver of an organisation (Alertmanager or PagerDuty). Alertmanager authenticates with a token
    whose SHA-256 is stored; PagerDuty signs with a subscription secret that is stored (HMAC needs it) and never
    returned. Sessions it opens are attributed to ``user_id`` (the admin who created it)."""

    __tablename__ = "alert_integrations"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_alert_integrations_org_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[str | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # alertmanager | pagerduty
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    secret: Mapped[str | None] = mapped_column(Text)
    settings: Mapped[dict[str, Any]]  # thinking_mode, tags
    created_at: Mapped[datetime]
