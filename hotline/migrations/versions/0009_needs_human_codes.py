"""Why a ticket needs a person, as stable codes beside the sentence people read (routing/person_reasons.py).

needs human codes

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-07 19:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# Tickets marked before the codes existed: their sentence's words give the code (the sentences were fixed text).
_BACKFILL = (
    ("put_through", "%转接话务员%"),
    ("no_message", "%没有留言录音%"),
    ("hung_up_early", "%没说问题就挂断%"),
    ("no_speech", "%没有识别出话语%"),
    ("recording_unusable", "%无法使用%"),
    ("recording_not_made", "%未录成%"),
)


def upgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("needs_human_codes", sa.JSON(), server_default=sa.text("'[]'"), nullable=False))
    tickets = sa.table("tickets", sa.column("needs_human_reason", sa.Text), sa.column("needs_human_codes", sa.JSON))
    for code, words in _BACKFILL:  # one code per old ticket is enough for the QA sample that reads them
        op.execute(
            tickets.update()
            .where(tickets.c.needs_human_reason.like(words))
            .values(needs_human_codes=sa.literal_column(f"'[\"{code}\"]'"))
        )


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_column("needs_human_codes")
