"""The email channel: mailboxes, inbound emails, email references, notification templates,
attachments.content_id

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-06 09:39:35.198589
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "mailboxes",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("address", sa.String(length=320), nullable=False),
        sa.Column("sender_name", sa.String(length=200), nullable=False),
        sa.Column("is_active", sa.Boolean(), nullable=False),
        sa.Column("group_id", sa.Integer(), nullable=True),
        sa.Column("default_priority", sa.String(length=20), nullable=False),
        sa.Column("send_receipt", sa.Boolean(), nullable=False),
        sa.Column("response_promise_minutes", sa.Integer(), nullable=False),
        sa.Column("imap_enabled", sa.Boolean(), nullable=False),
        sa.Column("imap_host", sa.String(length=255), nullable=False),
        sa.Column("imap_port", sa.Integer(), nullable=False),
        sa.Column("imap_security", sa.String(length=20), nullable=False),
        sa.Column("imap_username", sa.String(length=320), nullable=False),
        sa.Column("imap_password", sa.String(length=500), nullable=False),
        sa.Column("imap_folder", sa.String(length=255), nullable=False),
        sa.Column("imap_processed", sa.String(length=20), nullable=False),
        sa.Column("imap_processed_folder", sa.String(length=255), nullable=False),
        sa.Column("imap_verify_certificate", sa.Boolean(), nullable=False),
        sa.Column("poll_interval_seconds", sa.Integer(), nullable=False),
        sa.Column("next_poll_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_polled_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_poll_error", sa.Text(), nullable=True),
        sa.Column("smtp_host", sa.String(length=255), nullable=False),
        sa.Column("smtp_port", sa.Integer(), nullable=False),
        sa.Column("smtp_security", sa.String(length=20), nullable=False),
        sa.Column("smtp_username", sa.String(length=320), nullable=False),
        sa.Column("smtp_password", sa.String(length=500), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["group_id"],
            ["groups.id"],
            name=op.f("fk_mailboxes_group_id_groups"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mailboxes")),
        sa.UniqueConstraint("address", name=op.f("uq_mailboxes_address")),
        sa.UniqueConstraint("name", name=op.f("uq_mailboxes_name")),
    )
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mailboxes_next_poll", ["imap_enabled", "next_poll_at"], unique=False
        )

    op.create_table(
        "notification_templates",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("language", sa.String(length=10), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("updated_by_id", sa.Integer(), nullable=True),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["updated_by_id"],
            ["users.id"],
            name=op.f("fk_notification_templates_updated_by_id_users"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notification_templates")),
        sa.UniqueConstraint("key", "language", name=op.f("uq_notification_templates_key_language")),
    )
    op.create_table(
        "email_references",
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_email_references_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_email_references_ticket_id_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_references")),
        sa.UniqueConstraint("message_key", name=op.f("uq_email_references_message_key")),
    )
    with op.batch_alter_table("email_references", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_email_references_ticket_id"), ["ticket_id"], unique=False
        )

    op.create_table(
        "inbound_emails",
        sa.Column("message_key", sa.String(length=998), nullable=False),
        sa.Column("mailbox_id", sa.Integer(), nullable=True),
        sa.Column("route", sa.String(length=10), nullable=False),
        sa.Column("raw_sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sender", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("auto", sa.String(length=20), nullable=True),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("message_id", sa.Integer(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["mailbox_id"],
            ["mailboxes.id"],
            name=op.f("fk_inbound_emails_mailbox_id_mailboxes"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["message_id"],
            ["messages.id"],
            name=op.f("fk_inbound_emails_message_id_messages"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["tickets.id"],
            name=op.f("fk_inbound_emails_ticket_id_tickets"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inbound_emails")),
        sa.UniqueConstraint("message_key", name=op.f("uq_inbound_emails_message_key")),
    )
    with op.batch_alter_table("inbound_emails", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_inbound_emails_mailbox_id"), ["mailbox_id"], unique=False
        )
        batch_op.create_index(
            "ix_inbound_emails_sender_received", ["sender", "received_at"], unique=False
        )
        batch_op.create_index("ix_inbound_emails_ticket", ["ticket_id"], unique=False)

    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.add_column(sa.Column("content_id", sa.String(length=500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("attachments", schema=None) as batch_op:
        batch_op.drop_column("content_id")

    with op.batch_alter_table("inbound_emails", schema=None) as batch_op:
        batch_op.drop_index("ix_inbound_emails_ticket")
        batch_op.drop_index("ix_inbound_emails_sender_received")
        batch_op.drop_index(batch_op.f("ix_inbound_emails_mailbox_id"))

    op.drop_table("inbound_emails")
    with op.batch_alter_table("email_references", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_email_references_ticket_id"))

    op.drop_table("email_references")
    op.drop_table("notification_templates")
    with op.batch_alter_table("mailboxes", schema=None) as batch_op:
        batch_op.drop_index("ix_mailboxes_next_poll")

    op.drop_table("mailboxes")
