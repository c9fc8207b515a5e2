"""The ticket's closed loop: 受理 accepted → 转办 dispatched → 督办 supervised → 回复 replied → 回访 callback
→ 归档 archived. Every change goes through here, written down with actor, time and note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hotline.db import utcnow
from routing.sla import SlaPolicy
from routing.tables import Ticket
from routing.tickets import add_event, local_time

STATES = ("accepted", "dispatched", "supervised", "replied", "callback", "archived")
STATE_LABELS = {
    "accepted": "受理",
    "dispatched": "转办",
    "supervised": "督办",
    "replied": "回复",
    "callback": "回访",
    "archived": "归档",
}

# Which state may follow which. A consultation answered on the spot goes straight to `replied`;
# an unsatisfied callback sends the ticket back under supervision.
ALLOWED = {
    "accepted": {"dispatched", "supervised", "replied"},
    "dispatched": {"supervised", "replied"},
    "supervised": {"dispatched", "replied"},
    "replied": {"callback", "supervised", "archived"},
    "callback": {"archived", "supervised"},
    "archived": set(),
}


class TransitionError(ValueError):
    """A change the closed loop does not allow; the message says what is allowed instead."""


def transition(
    session: Session,
    ticket: Ticket,
    to: str,
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
    recovered_amount: float | None = None,
) -> None:
    """Move a ticket to state `to`, recording who did it and why."""
    if to not in STATES:
        raise TransitionError(f"unknown state {to!r}; states are: {', '.join(STATES)}")
    if to not in ALLOWED[ticket.status]:
        allowed = ", ".join(sorted(ALLOWED[ticket.status])) or "nothing (it is archived)"
        raise TransitionError(f"ticket {ticket.number} is {ticket.status}; it can go to {allowed}, not {to}")
    if not actor.strip():
        raise TransitionError("say who makes the change (actor)")
    before = ticket.status
    ticket.status = to
    if to == "archived":
        ticket.closed_at = now or utcnow()
    if recovered_amount is not None:
        if recovered_amount < 0:
            raise TransitionError("recovered_amount cannot be negative")
        ticket.recovered_amount = recovered_amount
    add_event(session, ticket, to, f"{before} → {to}" + (f": {note}" if note else ""), actor=actor)
    if to == "replied":
        from routing.survey import schedule_survey  # imported here: routing.survey moves tickets through this module

        schedule_survey(session, ticket)  # the satisfaction callback (回访); its round decides when to call


def extend(session: Session, ticket: Ticket, working_days: int, *, actor: str, reason: str, sla: SlaPolicy) -> None:
    """Push the reply deadline back (延期); counted, with the reason, for the extension statistics."""
    if working_days < 1 or working_days > 30:
        raise TransitionError("an extension is 1 to 30 working days")
    if not reason.strip():
        raise TransitionError("an extension needs a reason")
    if ticket.status in ("replied", "callback", "archived"):
        raise TransitionError(f"ticket {ticket.number} is {ticket.status}: there is no deadline left to extend")
    if ticket.reply_due_at is None:
        raise TransitionError(f"ticket {ticket.number} has no deadline yet")
    ticket.reply_due_at = sla.extend(ticket.reply_due_at, working_days)
    ticket.extensions += 1
    ticket.reminded_at = None
    add_event(
        session,
        ticket,
        "extended",
        f"+{working_days} working days, now due {local_time(ticket.reply_due_at, sla.calendar.timezone)}: {reason}",
        actor=actor,
    )


def start_clock(ticket: Ticket, sla: SlaPolicy) -> None:
    """Set the ticket's deadlines from its handling class and when it was accepted."""
    ticket.dispatch_due_at, ticket.reply_due_at = sla.deadlines(ticket.handling_class, ticket.created_at)
