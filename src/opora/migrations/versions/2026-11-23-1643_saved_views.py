"""saved views: personal and shared ticket filters (views table)

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 16:43:21.020745
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "views",
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("conditions", sa.JSON(), nullable=False),
        sa.Column("columns", sa.JSON(), nullable=False),
        sa.Column("sort", sa.String(length=20), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_views_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_views")),
    )
    with op.batch_alter_table("views", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_views_owner_id"), ["owner_id"], unique=False)
    # the "escalated to my line" view: a partial index over escalated tickets only
    op.create_index(
        "ix_tickets_escalated_status_updated",
        "tickets",
        ["status", "updated_at", "id"],
        unique=False,
        sqlite_where=sa.text("escalated_at IS NOT NULL"),
        postgresql_where=sa.text("escalated_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_escalated_status_updated", table_name="tickets")
    with op.batch_alter_table("views", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_views_owner_id"))

    op.drop_table("views")
