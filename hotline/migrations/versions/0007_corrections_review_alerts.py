"""People check and correct the classifier: tickets marked for review, corrections, who acknowledged an alert.

corrections review alerts

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-07 06:15:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "ticket_corrections",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("field", sa.String(length=24), nullable=False),
        sa.Column("old_value", sa.JSON(), nullable=True),
        sa.Column("new_value", sa.JSON(), nullable=True),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_ticket_corrections_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_corrections")),
    )
    with op.batch_alter_table("ticket_corrections", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_ticket_corrections_ticket_id"), ["ticket_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_ticket_corrections_at"), ["at"], unique=False)
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_review", sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column("review_reasons", sa.JSON(), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_needs_review"), ["needs_review"], unique=False)
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("acknowledged_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("acknowledged_by")
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_needs_review"))
        batch_op.drop_column("review_reasons")
        batch_op.drop_column("needs_review")
    with op.batch_alter_table("ticket_corrections", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ticket_corrections_at"))
        batch_op.drop_index(batch_op.f("ix_ticket_corrections_ticket_id"))
    op.drop_table("ticket_corrections")
