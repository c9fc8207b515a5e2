"""Indexes the reports and the supervisor dashboard read by: closed tickets, open tickets by deadline,
answered surveys, the lawyer queue.

report indexes

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 03:40:00
"""

from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_tickets_closed_at"), ["closed_at"], unique=False)
        batch_op.create_index("ix_tickets_status_reply_due_at", ["status", "reply_due_at"], unique=False)
    with op.batch_alter_table("satisfaction_surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_satisfaction_surveys_answered_at"), ["answered_at"], unique=False)
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_queue_entries_left_at"), ["left_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_queue_entries_ticket_id"), ["ticket_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("queue_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_queue_entries_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_queue_entries_left_at"))
    with op.batch_alter_table("satisfaction_surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_surveys_answered_at"))
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index("ix_tickets_status_reply_due_at")
        batch_op.drop_index(batch_op.f("ix_tickets_closed_at"))
