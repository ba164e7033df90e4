"""A category's knowledge-base articles in order: an index on (category_id, position, id)
for the help center's lists

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-06 16:25:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.create_index(
            "ix_kb_articles_category_position", ["category_id", "position", "id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("kb_articles", schema=None) as batch_op:
        batch_op.drop_index("ix_kb_articles_category_position")
