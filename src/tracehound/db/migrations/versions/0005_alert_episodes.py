"""alert episodes (one per firing episode of an alert group or incident) and the session's ``alert`` field

Revision ID: 0005
Revises: 0004
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), "postgresql")
TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("alert", JSON, nullable=True))
    op.create_table(
        "alert_episodes",
        sa.Column("id", sa.String(length=36), nullable=False),
        sa.Column("integration_id", sa.String(length=36), nullable=False),
        sa.Column("org_id", sa.String(length=36), nullable=False),
        sa.Column("group_hash", sa.String(length=64), nullable=False),
        sa.Column("session_id", sa.String(length=36), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("instances", JSON, nullable=False),
        sa.Column("notifications", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("resolved_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("updated_at", TS, nullable=False),
        sa.ForeignKeyConstraint(
            ["integration_id"],
            ["alert_integrations.id"],
            name=op.f("fk_alert_episodes_integration_id_alert_integrations"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["org_id"], ["organizations.id"], name=op.f("fk_alert_episodes_org_id_organizations"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"], ["sessions.id"], name=op.f("fk_alert_episodes_session_id_sessions"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alert_episodes")),
    )
    op.create_index("ix_alert_episodes_group", "alert_episodes", ["org_id", "group_hash", "created_at"])
    op.create_index(op.f("ix_alert_episodes_integration_id"), "alert_episodes", ["integration_id"])
    op.create_index(op.f("ix_alert_episodes_session_id"), "alert_episodes", ["session_id"])


def downgrade() -> None:
    op.drop_table("alert_episodes")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("alert")
