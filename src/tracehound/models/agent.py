from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from tracehound.models.base import Base


class Agent(Base):
    """An investigation profile (Everruns-style): instructions, capabilities, default model, tags."""

    __tablename__ = "agents"
    __table_args__ = (UniqueConstraint("org_id", "name", name="uq_agents_org_name"),)

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # agent_<32 hex, UUIDv7>
    org_id: Mapped[str] = mapped_column(ForeignKey("organizations.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str | None] = mapped_column(Text)
    system_prompt: Mapped[str | None] = mapped_column(Text)
    capabilities: Mapped[list[dict[str, Any]]]
    default_model_id: Mapped[str | None] = mapped_column(String(128))
    tags: Mapped[list[str]]
    status: Mapped[str] = mapped_column(String(16), default="active")  # active | archived
    is_default: Mapped[bool] = mapped_column(default=False)
    usage: Mapped[dict[str, Any]]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]
