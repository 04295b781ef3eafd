from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class WebhookSubscription(Base):
    """A URL that receives a signed JSON event when a session of the organisation becomes idle or failed."""

    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    url: Mapped[str] = mapped_column(Text)
    secret: Mapped[str] = mapped_column(Text)  # signs deliveries; shown once at creation
    events: Mapped[list[str]]
    description: Mapped[str | None] = mapped_column(String(256))
    created_at: Mapped[datetime]
