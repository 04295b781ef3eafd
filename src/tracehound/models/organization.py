from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class Organization(Base):
    __tablename__ = "organizations"

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    api_enabled: Mapped[bool] = mapped_column(default=True)
    max_running: Mapped[int] = mapped_column(default=5)
    # Number of API-created sessions, kept exact by the admission transaction (it holds the org lock).
    api_session_count: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime]
