"""Tickets (work orders, 工单) and their history."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import Base, utcnow


class Ticket(Base):
    """A caller's problem as a work order that people act on until it is archived."""

    __tablename__ = "tickets"
    # The dashboard's near-deadline and overdue lists: open tickets by deadline.
    __table_args__ = (Index("ix_tickets_status_reply_due_at", "status", "reply_due_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    number: Mapped[str] = mapped_column(String(32), unique=True)  # 12351-20261124-0001
    call_id: Mapped[int | None] = mapped_column(ForeignKey("calls.id"), unique=True)
    caller_number: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(24), default="accepted")
    menu_choice: Mapped[str | None] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(32), default="other")
    handling_class: Mapped[str] = mapped_column(String(16), default="assist")
    route: Mapped[str] = mapped_column(String(32), default="dispatcher")
    summary: Mapped[str] = mapped_column(Text, default="")  # written only by routing.tickets.write_caller_words
    words_from: Mapped[str | None] = mapped_column(String(16))  # routing.tickets.WordsFrom: who gave the summary
    needs_human: Mapped[bool] = mapped_column(Boolean, default=False)
    needs_human_reason: Mapped[str | None] = mapped_column(Text)  # for people: the reasons' sentences
    # for code: PersonReason values
    needs_human_codes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
    # What was understood from the caller, with the words that decided it (shown to staff).
    kind: Mapped[str | None] = mapped_column(String(16))  # consult / help
    urgency_flags: Mapped[list[str]] = mapped_column(JSON, default=list)  # flag codes
    entities: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # Entities.to_dict()
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Where it went.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    district: Mapped[str | None] = mapped_column(String(64))
    union_id: Mapped[str | None] = mapped_column(String(64))
    assigned_to: Mapped[str | None] = mapped_column(String(64))
    callback_number: Mapped[str | None] = mapped_column(String(32))
    # Its clock (working-day deadlines) and outcome.
    dispatch_due_at: Mapped[datetime | None] = mapped_column()
    reply_due_at: Mapped[datetime | None] = mapped_column(index=True)
    routed_at: Mapped[datetime | None] = mapped_column()  # first routing decision (routing.decide.write_route)
    reminded_at: Mapped[datetime | None] = mapped_column()
    escalated_at: Mapped[datetime | None] = mapped_column()
    extensions: Mapped[int] = mapped_column(Integer, default=0)
    closed_at: Mapped[datetime | None] = mapped_column(index=True)
    recovered_amount: Mapped[float | None] = mapped_column(Float)
    satisfaction: Mapped[str | None] = mapped_column(String(16))  # the latest survey's answer
    # The classifier was unsure: a person confirms or corrects (reasons are its doubt codes, e.g. subject_unsure).
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false(), index=True)
    review_reasons: Mapped[list[str] | None] = mapped_column(JSON)

    events: Mapped[list[TicketEvent]] = relationship(back_populates="ticket", order_by="TicketEvent.id")


class TicketEvent(Base):
    """One thing that happened to a ticket: who, when, what, and why."""

    __tablename__ = "ticket_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[str] = mapped_column(String(64), default="system")
    kind: Mapped[str] = mapped_column(String(48))
    note: Mapped[str] = mapped_column(Text, default="")

    ticket: Mapped[Ticket] = relationship(back_populates="events")


class Case(Base):
    """Related tickets handled as one: the same caller, employer or project within a window."""

    __tablename__ = "cases"

    id: Mapped[int] = mapped_column(primary_key=True)
    employer: Mapped[str | None] = mapped_column(String(128))
    project: Mapped[str | None] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class LawyerPresence(Base):
    """Whether a lawyer on the roster is signed in, and which call they are on."""

    __tablename__ = "lawyer_presence"

    lawyer_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    on_call_sid: Mapped[str | None] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)


class QueueEntry(Base):
    """A caller's time in the lawyer-seat queue: when they came, how they left, who took them."""

    __tablename__ = "queue_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    entered_at: Mapped[datetime] = mapped_column(default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(index=True)
    outcome: Mapped[str | None] = mapped_column(String(24))  # bridged, callback, hangup
    lawyer_id: Mapped[str | None] = mapped_column(String(32))
    wait_s: Mapped[float | None] = mapped_column(Float)


class Alert(Base):
    """Something a supervisor must see at once (an urgent ticket, an overdue one)."""

    __tablename__ = "alerts"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))
    ticket_id: Mapped[int | None] = mapped_column(ForeignKey("tickets.id"), index=True)
    message: Mapped[str] = mapped_column(Text)
    acknowledged_at: Mapped[datetime | None] = mapped_column()
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))


class TicketCorrection(Base):
    """A person changed what the machine understood (subject, kind or urgency flags): old, new, who, when."""

    __tablename__ = "ticket_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64))
    field: Mapped[str] = mapped_column(String(24))  # subject, kind, urgency_flags
    old_value: Mapped[str | list[str] | None] = mapped_column(JSON)  # a list for urgency_flags
    new_value: Mapped[str | list[str] | None] = mapped_column(JSON)


class TicketCounter(Base):
    """The last ticket number handed out on a (local) day."""

    __tablename__ = "ticket_counters"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    last: Mapped[int] = mapped_column(Integer, default=0)


class SatisfactionSurvey(Base):
    """The satisfaction callback (回访) after a ticket is replied to: attempts, and the caller's answer."""

    __tablename__ = "satisfaction_surveys"
    __table_args__ = (UniqueConstraint("ticket_id", "round"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_id: Mapped[int] = mapped_column(ForeignKey("tickets.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # a reopened ticket replied to again is asked again
    channel: Mapped[str] = mapped_column(String(8), default="voice")  # voice or sms
    to_number: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending, calling, answered, unreachable
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(index=True)
    call_sid: Mapped[str | None] = mapped_column(String(64), unique=True)  # the current outbound call
    result: Mapped[str | None] = mapped_column(String(16))  # satisfied, basic, dissatisfied
    answered_at: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
