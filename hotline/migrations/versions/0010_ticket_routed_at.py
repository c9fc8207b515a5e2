"""When a ticket was first routed, stored once (routing.decide.write_route) instead of found by scanning its events.

ticket routed at

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 19:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("routed_at", sa.DateTime(timezone=True), nullable=True))
    # Tickets routed before: the time of their first `routed` event.
    op.execute(
        "UPDATE tickets SET routed_at = (SELECT min(e.at) FROM ticket_events e "
        "WHERE e.ticket_id = tickets.id AND e.kind = 'routed')"
    )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("routed_at")
