"""Time rules read only what changed: where each rule's passes stand
(time_rule_progress), when the assignee got the ticket (tickets.assigned_at), and the
indexes for the age thresholds passed since the last run (created_at, assigned_at)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-06 15:20:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "time_rule_progress",
        sa.Column("rule_id", sa.Integer(), nullable=False),
        sa.Column("changes_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes_pass_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("changes_after_id", sa.Integer(), nullable=False),
        sa.Column("sweep_after_id", sa.Integer(), nullable=False),
        sa.Column("sweep_started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("sweep_done_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["rule_id"],
            ["time_rules.id"],
            name=op.f("fk_time_rule_progress_rule_id_time_rules"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("rule_id", name=op.f("pk_time_rule_progress")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assigned_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index("ix_tickets_created", ["created_at"], unique=False)
        batch_op.create_index("ix_tickets_assigned", ["assigned_at"], unique=False)
    # the assignee got the ticket at its last assignee change, or when it was created
    op.execute(
        "UPDATE tickets SET assigned_at = COALESCE("
        "(SELECT max(e.created_at) FROM ticket_events e WHERE e.ticket_id = tickets.id"
        " AND e.kind = 'field_changed' AND e.field = 'assignee_id'), created_at)"
        " WHERE assignee_id IS NOT NULL"
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_assigned")
        batch_op.drop_index("ix_tickets_created")
        batch_op.drop_column("assigned_at")
    op.drop_table("time_rule_progress")
