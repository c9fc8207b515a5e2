"""Quality inspection (质检): the daily sample of calls, the scores given, and the feedback that needs a rectification."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow


class QaSample(Base):
    """A call picked for inspection, and why; a call is never sampled twice."""

    __tablename__ = "qa_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), unique=True)
    day: Mapped[date] = mapped_column(Date, index=True)  # the (local) day whose calls were sampled
    handler: Mapped[str | None] = mapped_column(String(64), index=True)
    handler_role: Mapped[str | None] = mapped_column(String(16))
    reason: Mapped[str] = mapped_column(String(32))  # the first reason: quota, low_satisfaction, urgent, ...
    reasons: Mapped[list[str]] = mapped_column(JSON, default=list)  # every reason that applied
    inspector: Mapped[str | None] = mapped_column(String(64), index=True)
    seed: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, scored, reviewed, closed
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaScore(Base):
    """One inspector's scoring of a sampled call against a rubric, at one level (inspection, review, calibration)."""

    __tablename__ = "qa_scores"
    __table_args__ = (UniqueConstraint("sample_id", "inspector", "stage"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("qa_samples.id", ondelete="CASCADE"), index=True)
    inspector: Mapped[str] = mapped_column(String(64))
    stage: Mapped[str] = mapped_column(String(16), default="inspection")
    rubric: Mapped[str] = mapped_column(String(64))
    items: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)  # item id -> points given
    total: Mapped[float] = mapped_column(Float, default=0.0)
    critical_failed: Mapped[list[str]] = mapped_column(JSON, default=list)  # ids of critical items failed
    # [{"at_s": 12.5, "channel": 0, "text": "..."}]
    comments: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class QaFeedback(Base):
    """Feedback to the person who handled a call; it closes only once they answer with a rectification (整改)."""

    __tablename__ = "qa_feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    sample_id: Mapped[int] = mapped_column(ForeignKey("qa_samples.id", ondelete="CASCADE"), index=True)
    score_id: Mapped[int | None] = mapped_column(ForeignKey("qa_scores.id"))
    handler: Mapped[str] = mapped_column(String(64), index=True)
    message: Mapped[str] = mapped_column(Text)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="open")  # open, answered, closed
    rectification: Mapped[str | None] = mapped_column(Text)
    rectified_at: Mapped[datetime | None] = mapped_column()
    closed_by: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None] = mapped_column()
    critical: Mapped[bool] = mapped_column(Boolean, default=False)
