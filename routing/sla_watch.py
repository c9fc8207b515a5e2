"""The SLA clock's rounds: near-deadline reminders (临期提醒) and escalation of overdue tickets (超期督办).

`scan` takes the time as an argument, so tests drive the clock; the service calls it every minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.lifecycle import STATE_LABELS
from routing.sla import SlaPolicy
from routing.tables import Alert, Ticket
from routing.tickets import add_event, local_time

OPEN_STATES = ("accepted", "dispatched", "supervised")


@dataclass
class ScanResult:
    """Ticket numbers reminded and escalated in one round."""

    reminded: list[str] = field(default_factory=list)
    escalated: list[str] = field(default_factory=list)
    dispatch_late: list[str] = field(default_factory=list)


def scan(session: Session, sla: SlaPolicy, now: datetime) -> ScanResult:
    """Remind tickets near their deadline and escalate overdue ones, each once."""
    result = ScanResult()
    tickets = session.scalars(
        select(Ticket).where(Ticket.status.in_(OPEN_STATES), Ticket.reply_due_at.is_not(None))
    ).all()
    for ticket in tickets:
        if ticket.reply_due_at is None:  # never: the query keeps tickets with a deadline
            continue
        due = _aware(ticket.reply_due_at, now)
        due_text = local_time(due, sla.calendar.timezone)  # notes and alerts are read by people
        if now > due and ticket.escalated_at is None:
            ticket.escalated_at = now
            if ticket.status != "supervised":
                add_event(
                    session,
                    ticket,
                    "supervised",
                    f"{STATE_LABELS[ticket.status]} → 督办：{due_text} 起超期",
                    actor="sla",
                )
                ticket.status = "supervised"
            add_event(session, ticket, "escalated", f"超期督办：办结期限是 {due_text}", actor="sla")
            session.add(
                Alert(kind="overdue", ticket_id=ticket.id, message=f"{ticket.number} is overdue (due {due_text})")
            )
            result.escalated.append(ticket.number)
        elif now >= sla.remind_at(ticket.handling_class, due) and ticket.reminded_at is None and now <= due:
            ticket.reminded_at = now
            add_event(session, ticket, "reminded", f"临期提醒：办结期限 {due_text}", actor="sla")
            session.add(Alert(kind="near_deadline", ticket_id=ticket.id, message=f"{ticket.number} is due {due_text}"))
            result.reminded.append(ticket.number)
        if (
            ticket.status == "accepted"
            and ticket.dispatch_due_at is not None
            and now > _aware(ticket.dispatch_due_at, now)
            and not any(e.kind == "dispatch_late" for e in ticket.events)
        ):
            add_event(session, ticket, "dispatch_late", "未在派单期限内派单", actor="sla")
            session.add(Alert(kind="dispatch_late", ticket_id=ticket.id, message=f"{ticket.number} waits for dispatch"))
            result.dispatch_late.append(ticket.number)
    return result


def _aware(moment: datetime, like: datetime) -> datetime:
    """SQLite hands back naive datetimes (stored as UTC); PostgreSQL aware ones."""
    return moment if moment.tzinfo else moment.replace(tzinfo=like.tzinfo)
