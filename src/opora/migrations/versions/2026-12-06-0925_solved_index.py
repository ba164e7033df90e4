"""A partial index for solved tickets (the "recently solved" view and its count)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 09:25:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_tickets_solved_status_updated",
        "tickets",
        ["status", "updated_at", "solved_at"],
        unique=False,
        sqlite_where=sa.text("solved_at IS NOT NULL"),
        postgresql_where=sa.text("solved_at IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_tickets_solved_status_updated", table_name="tickets")
