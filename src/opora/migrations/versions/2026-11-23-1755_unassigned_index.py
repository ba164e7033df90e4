"""A partial index for unassigned tickets (the "unassigned in my groups" view)

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 17:55:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_unassigned_group_status_updated",
        "tickets",
        ["group_id", "status", "updated_at", "id"],
        unique=False,
        sqlite_where=sa.text("assignee_id IS NULL"),
        postgresql_where=sa.text("assignee_id IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_unassigned_group_status_updated", table_name="tickets")
