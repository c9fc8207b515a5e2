"""A lawyer works through their callbacks (待回电): each call back is written down (reached or not, with a note),
and the reply to the caller closes the callback (the ticket is replied to: the satisfaction survey follows).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from hotline.db import utcnow
from routing.lifecycle import transition
from routing.sla_watch import OPEN_STATES
from routing.tables import Ticket, TicketEvent
from routing.tickets import add_event

LAWYER_CALLBACK = "lawyer_callback"
# Ticket event kinds of a call back (stable codes; the note says it in words).
REACHED, NOT_REACHED = "callback_reached", "callback_not_reached"
NOTE_LIMIT = 2000
REPLY_LIMIT = 4000


class CallbackError(ValueError):
    """Something a lawyer cannot do with this callback now: the message says why (Chinese), `code` for scripts."""

    def __init__(self, message: str, code: str) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class Attempt:
    """One call back: when, by whom, whether the caller answered, and the lawyer's note."""

    at: datetime
    actor: str
    reached: bool
    note: str


def is_callback_of(ticket: Ticket, seat: str) -> bool:
    """A lawyer callback this seat may work on: assigned to it, or to nobody yet."""
    return ticket.route == LAWYER_CALLBACK and ticket.assigned_to in (seat, None)


def attempts_of(ticket: Ticket) -> list[Attempt]:
    """The ticket's call backs, oldest first."""
    return [
        Attempt(e.at, e.actor, e.kind == REACHED, _note_of(e.note))
        for e in ticket.events
        if e.kind in (REACHED, NOT_REACHED)
    ]


def _note_of(text: str) -> str:
    return text.split("：", 1)[1] if "：" in text else ""


def _open_callback_of(ticket: Ticket, seat: str) -> None:
    if ticket.route != LAWYER_CALLBACK:
        raise CallbackError(f"工单 {ticket.number} 不是律师回电工单", "not_a_callback")
    if ticket.assigned_to not in (seat, None):
        raise CallbackError(f"工单 {ticket.number} 由 {ticket.assigned_to} 座席回电，不是您的", "not_your_callback")
    if ticket.status not in OPEN_STATES:
        raise CallbackError(f"工单 {ticket.number} 已答复，回电已结束", "callback_closed")


def record_attempt(
    session: Session, ticket: Ticket, *, seat: str, actor: str, reached: bool, note: str = ""
) -> Attempt:
    """Write down one call back. A callback nobody had taken becomes this seat's; one not reached stays due."""
    _open_callback_of(ticket, seat)
    note = note.strip()
    if len(note) > NOTE_LIMIT:
        raise CallbackError(f"说明最多 {NOTE_LIMIT} 字", "too_long")
    if ticket.assigned_to is None:
        ticket.assigned_to = seat
        add_event(session, ticket, "callback_taken", f"{seat} 座席接手回电", actor=actor)
    said = "已接通" if reached else "未接通"
    at = utcnow()
    session.add(
        TicketEvent(
            ticket_id=ticket.id,
            at=at,
            actor=actor,
            kind=REACHED if reached else NOT_REACHED,
            note=f"{said}：{note}" if note else said,
        )
    )
    return Attempt(at, actor, reached, note)


def reply(session: Session, ticket: Ticket, *, seat: str, actor: str, text: str) -> None:
    """The lawyer's answer to the caller, after reaching them: the ticket is replied to, the callback closed."""
    _open_callback_of(ticket, seat)
    text = text.strip()
    if not text:
        raise CallbackError("请填写答复内容", "empty_reply")
    if len(text) > REPLY_LIMIT:
        raise CallbackError(f"答复最多 {REPLY_LIMIT} 字", "too_long")
    if not any(a.reached for a in attempts_of(ticket)):
        raise CallbackError("还没有接通来电人：请先回电，记录“已接通”后再答复", "not_reached")
    if ticket.assigned_to is None:
        ticket.assigned_to = seat
    transition(session, ticket, "replied", actor=actor, note=f"律师答复：{text}")
