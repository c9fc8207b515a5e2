"""Where a call stands (its place and the step awaiting a choice), stored by the one writer of call events
(recordings.calls.add_call_event) instead of found by scanning the call's events.

call place

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-07 21:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("place", sa.String(length=64), nullable=False, server_default=""))
        batch_op.add_column(sa.Column("choosing_at", sa.String(length=64), nullable=True))
    # Calls still going on while the service is upgraded: their place from their latest event that set one.
    # Frozen here as the rules stood at 0011 (a migration must not change with later code).
    bind = op.get_bind()
    moves = ("step", "enqueued", "queue_left", "lawyer_ringing", "dialling", "routed", "emergency")
    events = sa.table(
        "call_events", sa.column("call_id"), sa.column("id"), sa.column("kind"), sa.column("detail", sa.JSON)
    )
    unfinished = bind.execute(sa.text("SELECT id FROM calls WHERE ended_at IS NULL")).scalars().all()
    for call_id in unfinished:
        last = bind.execute(
            sa.select(events.c.kind, events.c.detail)
            .where(events.c.call_id == call_id, events.c.kind.in_(moves))
            .order_by(events.c.id.desc())
            .limit(1)
        ).first()
        if last is None:
            continue
        kind, detail = last[0], last[1] or {}
        place = {
            "enqueued": "route:queue",
            "routed": "route",
            "queue_left": "with_a_person" if detail.get("result") == "bridged" else "route:callback",
            "lawyer_ringing": "with_a_person",
            "dialling": "route:supervisor" if detail.get("step") == "route:supervisor" else "with_a_person",
            "emergency": "route:supervisor",
        }.get(kind, str(detail.get("step", "")))
        acts = ("step", "menu_input", "menu_confirm", "emergency")
        act = bind.execute(
            sa.select(events.c.kind, events.c.detail)
            .where(events.c.call_id == call_id, events.c.kind.in_(acts))
            .order_by(events.c.id.desc())
            .limit(1)
        ).first()
        choosing = (act[1] or {}).get("step") if act is not None and act[0] == "step" else None
        bind.execute(
            sa.text("UPDATE calls SET place = :place, choosing_at = :choosing WHERE id = :id"),
            {"place": place, "choosing": choosing, "id": call_id},
        )


def downgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("choosing_at")
        batch_op.drop_column("place")
