"""Routing: cases, lawyer presence, the lawyer queue, alerts, and each ticket's clock.

Existing tickets get empty flags/entities (server defaults), so the upgrade works on a live database.

routing: cases, lawyer presence, queue, alerts, ticket clock

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:24:38.278482
"""

from alembic import op
import sqlalchemy as sa


revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("employer", sa.String(length=128), nullable=True),
        sa.Column("project", sa.String(length=128), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_cases")),
    )
    op.create_table(
        "lawyer_presence",
        sa.Column("lawyer_id", sa.String(length=32), nullable=False),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("on_call_sid", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("lawyer_id", name=op.f("pk_lawyer_presence")),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_alerts_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_alerts")),
    )
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_alerts_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "queue_entries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_sid", sa.String(length=64), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=True),
        sa.Column("entered_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("left_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome", sa.String(length=24), nullable=True),
        sa.Column("lawyer_id", sa.String(length=32), nullable=True),
        sa.Column("wait_s", sa.Float(), nullable=True),
        sa.ForeignKeyConstraint(["ticket_id"], ["tickets.id"], name=op.f("fk_queue_entries_ticket_id_tickets")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_queue_entries")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_queue_entries_call_sid")),
    )
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("urgency_flags", sa.JSON(), nullable=False, server_default="[]"))
        batch_op.add_column(sa.Column("entities", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("evidence", sa.JSON(), nullable=False, server_default="{}"))
        batch_op.add_column(sa.Column("case_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("district", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("union_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("assigned_to", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("callback_number", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dispatch_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reply_due_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("reminded_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("extensions", sa.Integer(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recovered_amount", sa.Float(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_case_id"), ["case_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_tickets_reply_due_at"), ["reply_due_at"], unique=False)
        batch_op.create_foreign_key(batch_op.f("fk_tickets_case_id_cases"), "cases", ["case_id"], ["id"])


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_tickets_case_id_cases"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_tickets_reply_due_at"))
        batch_op.drop_index(batch_op.f("ix_tickets_case_id"))
        batch_op.drop_column("recovered_amount")
        batch_op.drop_column("closed_at")
        batch_op.drop_column("extensions")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("reminded_at")
        batch_op.drop_column("reply_due_at")
        batch_op.drop_column("dispatch_due_at")
        batch_op.drop_column("callback_number")
        batch_op.drop_column("assigned_to")
        batch_op.drop_column("union_id")
        batch_op.drop_column("district")
        batch_op.drop_column("case_id")
        batch_op.drop_column("evidence")
        batch_op.drop_column("entities")
        batch_op.drop_column("urgency_flags")
        batch_op.drop_column("kind")

    op.drop_table("queue_entries")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_alerts_ticket_id"))

    op.drop_table("alerts")
    op.drop_table("lawyer_presence")
    op.drop_table("cases")
