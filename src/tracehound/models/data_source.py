from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class DataSource(Base):
    """A telemetry source an organisation's investigations read (simulator, prometheus, files...)."""

    __tablename__ = "data_sources"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_data_sources_org_name"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    kind: Mapped[str] = mapped_column(String(32))
    config: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
