"""Operator seats: the phone an operator's calls are put through to, and who takes calls now.

operator seats

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26 04:50:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "operator_presence",
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("signed_in", sa.Boolean(), nullable=False),
        sa.Column("on_call_sid", sa.String(length=64), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("username", name=op.f("pk_operator_presence")),
    )
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=32), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("staff_users", schema=None) as batch_op:
        batch_op.drop_column("phone")
    op.drop_table("operator_presence")
