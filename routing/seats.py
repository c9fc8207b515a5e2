"""Lawyer seats: who is signed in and free, and the queue of callers waiting for one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db import utcnow
from routing.roster import DutyRoster, Person
from routing.tables import LawyerPresence, QueueEntry

RECENT_WAITS = 20  # answered waits averaged for the expected wait announced to callers


def _presence(session: Session, lawyer_id: str) -> LawyerPresence:
    presence = session.get(LawyerPresence, lawyer_id)
    if presence is None:
        presence = LawyerPresence(lawyer_id=lawyer_id, signed_in=False)
        session.add(presence)
    return presence


def sign_in(session: Session, roster: DutyRoster, lawyer_id: str) -> None:
    """A lawyer takes their seat (they must be on the roster)."""
    roster.lawyer(lawyer_id)
    _presence(session, lawyer_id).signed_in = True


def sign_out(session: Session, lawyer_id: str) -> None:
    """A lawyer leaves their seat."""
    _presence(session, lawyer_id).signed_in = False


def set_on_call(session: Session, lawyer_id: str, call_sid: str | None) -> None:
    """Mark a lawyer busy with a call, or free again (None)."""
    _presence(session, lawyer_id).on_call_sid = call_sid


def available_lawyers(session: Session, roster: DutyRoster, now: datetime, timezone: str) -> list[Person]:
    """Lawyers on duty now, signed in and not on a call."""
    on_duty = roster.on_duty(now, timezone)
    if not on_duty:
        return []
    rows = {
        p.lawyer_id: p
        for p in session.scalars(select(LawyerPresence).where(LawyerPresence.lawyer_id.in_([p.id for p in on_duty])))
    }
    return [p for p in on_duty if (row := rows.get(p.id)) and row.signed_in and row.on_call_sid is None]


def signed_in_on_duty(session: Session, roster: DutyRoster, now: datetime, timezone: str) -> list[Person]:
    """Lawyers on duty and signed in, busy or not (is anyone there to take the queue at all?)."""
    on_duty = roster.on_duty(now, timezone)
    ids = set(
        session.scalars(
            select(LawyerPresence.lawyer_id).where(
                LawyerPresence.lawyer_id.in_([p.id for p in on_duty]), LawyerPresence.signed_in.is_(True)
            )
        )
    )
    return [p for p in on_duty if p.id in ids]


@dataclass(frozen=True)
class QueueState:
    """The waiting callers, oldest first, and the expected wait from recent answered calls."""

    waiting: list[QueueEntry]
    avg_wait_s: float | None


def enter_queue(session: Session, call_sid: str, ticket_id: int | None) -> QueueEntry:
    """A caller starts waiting (once per call: a retried webhook finds the same entry)."""
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    if entry is None:
        entry = QueueEntry(call_sid=call_sid, ticket_id=ticket_id)
        session.add(entry)
        session.flush()
    return entry


def leave_queue(
    session: Session, call_sid: str, outcome: str, lawyer_id: str | None = None, now: datetime | None = None
) -> QueueEntry | None:
    """A caller stops waiting: bridged to a lawyer, moved to a callback, or hung up."""
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    if entry is None or entry.left_at is not None:
        return entry
    entry.left_at = now or utcnow()
    entry.outcome, entry.lawyer_id = outcome, lawyer_id
    entry.wait_s = (entry.left_at - entry.entered_at).total_seconds()
    return entry


def queue_state(session: Session) -> QueueState:
    """Who waits now, and the average wait of the last answered callers."""
    waiting = session.scalars(
        select(QueueEntry).where(QueueEntry.left_at.is_(None)).order_by(QueueEntry.entered_at, QueueEntry.id)
    ).all()
    recent = (
        select(QueueEntry.wait_s)
        .where(QueueEntry.outcome == "bridged")
        .order_by(QueueEntry.id.desc())
        .limit(RECENT_WAITS)
        .subquery()
    )
    avg = session.scalar(select(func.avg(recent.c.wait_s)))
    return QueueState(list(waiting), float(avg) if avg is not None else None)


def position_of(state: QueueState, call_sid: str) -> int | None:
    """1 for the next caller to be taken."""
    for n, entry in enumerate(state.waiting, 1):
        if entry.call_sid == call_sid:
            return n
    return None


class SeatError(ValueError):
    """A lawyer cannot take a caller now; the message says why."""


def take_next_caller(session: Session, roster: DutyRoster, lawyer_id: str, now: datetime, timezone: str) -> QueueEntry:
    """The free lawyer takes the caller who has waited longest: the entry is theirs and they are busy."""
    roster.lawyer(lawyer_id)
    if lawyer_id not in {p.id for p in available_lawyers(session, roster, now, timezone)}:
        raise SeatError(f"{lawyer_id} 座席现在不能接听：须在值班时间内、已签入且不在通话中")
    waiting = queue_state(session).waiting
    if not waiting:
        raise SeatError("没有人在排队")
    entry = waiting[0]
    leave_queue(session, entry.call_sid, "bridged", lawyer_id, now)
    set_on_call(session, lawyer_id, entry.call_sid)
    return entry
