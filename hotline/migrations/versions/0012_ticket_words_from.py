"""Where a ticket's text came from (the live stream, the recording's transcript, a person), so that a person's
words are not replaced by a transcript arriving later (routing.tickets.write_caller_words).

ticket words from

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-07 22:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("words_from", sa.String(length=16), nullable=True))
    # Tickets written before: an operator's completion or a lawyer's own ticket is a person's words, any other
    # text the recording's.
    op.execute(
        "UPDATE tickets SET words_from = 'person' WHERE EXISTS (SELECT 1 FROM ticket_events e "
        "WHERE e.ticket_id = tickets.id AND e.kind IN ('completed', 'lawyer_ticket'))"
    )
    op.execute("UPDATE tickets SET words_from = 'recording' WHERE words_from IS NULL AND summary <> ''")


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("words_from")
