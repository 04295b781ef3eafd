from __future__ import annotations

from datetime import datetime

from sqlalchemy import String
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class ExecutorHeartbeat(Base):
    """A live worker process. A row older than the TTL means the worker died: another one recovers its work."""

    __tablename__ = "executor_heartbeats"

    executor_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    hostname: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int]
    started_at: Mapped[datetime]
    last_seen: Mapped[datetime]
