"""agents, and the agent/capabilities/model of a session (Everruns compatibility)

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("system_prompt", sa.Text(), nullable=True),
        sa.Column("capabilities", JSON, nullable=False),
        sa.Column("default_model_id", sa.String(length=128), nullable=True),
        sa.Column("tags", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("usage", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_agents_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_agents")),
        sa.UniqueConstraint("org_id", "name", name="uq_agents_org_name"),
    )
    with op.batch_alter_table("agents") as batch:
        batch.create_index(batch.f("ix_agents_org_id"), ["org_id"], unique=False)
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("agent_id", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("capabilities", JSON, nullable=False, server_default="[]"))
        batch.add_column(sa.Column("model_id", sa.String(length=128), nullable=True))
        batch.create_index(batch.f("ix_sessions_agent_id"), ["agent_id"], unique=False)
        batch.create_foreign_key(
            batch.f("fk_sessions_agent_id_agents"), "agents", ["agent_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(batch.f("fk_sessions_agent_id_agents"), type_="foreignkey")
        batch.drop_index(batch.f("ix_sessions_agent_id"))
        batch.drop_column("model_id")
        batch.drop_column("capabilities")
        batch.drop_column("agent_id")
    op.drop_table("agents")
