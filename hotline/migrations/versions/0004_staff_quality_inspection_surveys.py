"""Staff accounts, the audit log, quality inspection (samples, scores, feedback), satisfaction surveys;
who handled each call, and the indexes the daily reports read by.

staff, quality inspection, surveys

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 03:14:15.759279
"""

from alembic import op
import sqlalchemy as sa


revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=True),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("target", sa.String(length=64), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_log_action"), ["action"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_actor"), ["actor"], unique=False)
        batch_op.create_index(batch_op.f("ix_audit_log_at"), ["at"], unique=False)

    op.create_table(
        "staff_users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("display_name", sa.String(length=128), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("roster_id", sa.String(length=32), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("password_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_staff_users")),
        sa.UniqueConstraint("roster_id", name=op.f("uq_staff_users_roster_id")),
        sa.UniqueConstraint("username", name=op.f("uq_staff_users_username")),
    )
    op.create_table(
        "qa_samples",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("handler", sa.String(length=64), nullable=True),
        sa.Column("handler_role", sa.String(length=16), nullable=True),
        sa.Column("reason", sa.String(length=32), nullable=False),
        sa.Column("reasons", sa.JSON(), nullable=False),
        sa.Column("inspector", sa.String(length=64), nullable=True),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["call_id"], ["calls.id"], name=op.f("fk_qa_samples_call_id_calls"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_samples")),
        sa.UniqueConstraint("call_id", name=op.f("uq_qa_samples_call_id")),
    )
    with op.batch_alter_table("qa_samples", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_samples_day"), ["day"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_samples_handler"), ["handler"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_samples_inspector"), ["inspector"], unique=False)

    op.create_table(
        "qa_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("inspector", sa.String(length=64), nullable=False),
        sa.Column("stage", sa.String(length=16), nullable=False),
        sa.Column("rubric", sa.String(length=64), nullable=False),
        sa.Column("items", sa.JSON(), nullable=False),
        sa.Column("total", sa.Float(), nullable=False),
        sa.Column("critical_failed", sa.JSON(), nullable=False),
        sa.Column("comments", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["qa_samples.id"], name=op.f("fk_qa_scores_sample_id_qa_samples"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_scores")),
        sa.UniqueConstraint("sample_id", "inspector", "stage", name=op.f("uq_qa_scores_sample_id")),
    )
    with op.batch_alter_table("qa_scores", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_scores_sample_id"), ["sample_id"], unique=False)

    op.create_table(
        "satisfaction_surveys",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_id", sa.Integer(), nullable=False),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(length=8), nullable=False),
        sa.Column("to_number", sa.String(length=32), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("call_sid", sa.String(length=64), nullable=True),
        sa.Column("result", sa.String(length=16), nullable=True),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"], ["tickets.id"], name=op.f("fk_satisfaction_surveys_ticket_id_tickets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_satisfaction_surveys")),
        sa.UniqueConstraint("call_sid", name=op.f("uq_satisfaction_surveys_call_sid")),
        sa.UniqueConstraint("ticket_id", "round", name=op.f("uq_satisfaction_surveys_ticket_id")),
    )
    with op.batch_alter_table("satisfaction_surveys", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_satisfaction_surveys_next_attempt_at"), ["next_attempt_at"], unique=False)
        batch_op.create_index(batch_op.f("ix_satisfaction_surveys_ticket_id"), ["ticket_id"], unique=False)

    op.create_table(
        "qa_feedback",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("sample_id", sa.Integer(), nullable=False),
        sa.Column("score_id", sa.Integer(), nullable=True),
        sa.Column("handler", sa.String(length=64), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("rectification", sa.Text(), nullable=True),
        sa.Column("rectified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_by", sa.String(length=64), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("critical", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["sample_id"], ["qa_samples.id"], name=op.f("fk_qa_feedback_sample_id_qa_samples"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(["score_id"], ["qa_scores.id"], name=op.f("fk_qa_feedback_score_id_qa_scores")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_qa_feedback")),
    )
    with op.batch_alter_table("qa_feedback", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_qa_feedback_handler"), ["handler"], unique=False)
        batch_op.create_index(batch_op.f("ix_qa_feedback_sample_id"), ["sample_id"], unique=False)

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("handler", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("handler_role", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_calls_handler"), ["handler"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_started_at"), ["started_at"], unique=False)

    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.add_column(sa.Column("satisfaction", sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f("ix_tickets_created_at"), ["created_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("tickets", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_tickets_created_at"))
        batch_op.drop_column("satisfaction")

    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_started_at"))
        batch_op.drop_index(batch_op.f("ix_calls_handler"))
        batch_op.drop_column("handler_role")
        batch_op.drop_column("handler")

    with op.batch_alter_table("qa_feedback", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_feedback_sample_id"))
        batch_op.drop_index(batch_op.f("ix_qa_feedback_handler"))

    op.drop_table("qa_feedback")
    with op.batch_alter_table("satisfaction_surveys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_satisfaction_surveys_ticket_id"))
        batch_op.drop_index(batch_op.f("ix_satisfaction_surveys_next_attempt_at"))

    op.drop_table("satisfaction_surveys")
    with op.batch_alter_table("qa_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_scores_sample_id"))

    op.drop_table("qa_scores")
    with op.batch_alter_table("qa_samples", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_qa_samples_inspector"))
        batch_op.drop_index(batch_op.f("ix_qa_samples_handler"))
        batch_op.drop_index(batch_op.f("ix_qa_samples_day"))

    op.drop_table("qa_samples")
    op.drop_table("staff_users")
    with op.batch_alter_table("audit_log", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_audit_log_at"))
        batch_op.drop_index(batch_op.f("ix_audit_log_actor"))
        batch_op.drop_index(batch_op.f("ix_audit_log_action"))

    op.drop_table("audit_log")
