"""What the lawyer seat console needs beyond the seat and queue API (`/api/seat/...`, lawyers only).

Every request acts for the signed-in lawyer's own roster seat (an admin names one: `?lawyer_id=L01`): their
duty status, the caller they are talking to now (or just talked to), that caller's words as they come in (live
transcripts are `live:` models, replaced by the batch transcript later), what the classifier made of them, the
caller's earlier tickets, consultation notes (each lawyer reads their own), a ticket for a call that has none,
and the callbacks waiting for them.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.access import Allowed, may_read_note
from api.deps import ServicesDep, SessionDep
from api.routes.seats import lawyer_seat
from api.staff_auth import client_ip
from hotline.db import utcnow
from recordings.calls import find_call
from recordings.tables import Call, Recording, Transcript
from routing.service import route_ticket
from routing.tables import LawyerPresence, QueueEntry, Ticket, TicketEvent
from routing.tickets import add_event, open_ticket_for_call, ticket_for_call
from staff.audit import not_viewed_lately, record
from staff.roles import masked_for
from staff.tables import StaffUser

router = APIRouter(prefix="/api/seat", tags=["lawyer seat console"])
Lawyer = Allowed  # lawyers, for their own seat (and admins, naming one): the access table, staff/access.py
# The seat an admin acts for; a lawyer may leave it out (their own seat) but never name another.
SeatParam = Annotated[str | None, Query(max_length=32, description="admins: the roster seat to act for, e.g. L01")]

OPEN_STATES = ("accepted", "dispatched", "supervised")  # not yet replied to
RECENT_CALL = timedelta(hours=2)  # after hanging up, the last caller stays on screen for notes this long
HISTORY_LIMIT = 20


class NoteIn(BaseModel):
    text: str = Field(min_length=1, max_length=4000, examples=["已告知可申请劳动仲裁，时效一年"])
    call_sid: str | None = Field(
        default=None, max_length=64, description="the call the note is about (default: my current call)"
    )


class TicketIn(BaseModel):
    summary: str = Field(min_length=1, max_length=4000, examples=["公司未签劳动合同，咨询二倍工资"])
    call_sid: str | None = Field(default=None, max_length=64, description="the call (default: my current call)")


def _current_call_sid(session: Session, seat: str) -> tuple[str | None, bool]:
    """The call this lawyer is on now (live), else the one they took last within RECENT_CALL (not live)."""
    presence = session.get(LawyerPresence, seat)
    if presence is not None and presence.on_call_sid:
        return presence.on_call_sid, True
    last = session.scalar(
        select(QueueEntry)
        .where(
            QueueEntry.lawyer_id == seat, QueueEntry.outcome == "bridged", QueueEntry.left_at >= utcnow() - RECENT_CALL
        )
        .order_by(QueueEntry.left_at.desc(), QueueEntry.id.desc())
        .limit(1)
    )
    return (last.call_sid, False) if last is not None else (None, False)


def _my_call(session: Session, seat: str, call_sid: str | None) -> Call:
    """The call a note or a ticket is for: one this lawyer took (never someone else's caller)."""
    wanted = call_sid or _current_call_sid(session, seat)[0]
    if wanted is None:
        raise HTTPException(409, "you have no current caller: take one from the queue first")
    call = find_call(session, wanted)
    taken = session.scalar(select(QueueEntry.id).where(QueueEntry.call_sid == wanted, QueueEntry.lawyer_id == seat))
    if call is None or (taken is None and call.handler != seat):
        raise HTTPException(404, f"no call {wanted} taken by you ({seat})")
    return call


def _transcripts(session: Session, call: Call) -> list[dict]:
    """Every transcript of the call, oldest first: live ones (`live:` model) while the caller speaks, then batch."""
    rows = session.execute(
        select(Transcript, Recording.source, Recording.recording_sid)
        .join(Recording, Recording.id == Transcript.recording_id)
        .where(Recording.call_id == call.id)
        .order_by(Transcript.id)
    ).all()
    return [
        {
            "recording_sid": sid,
            "source": source,
            "channel": t.channel,
            "text": t.text,
            "live": t.model.startswith("live:"),
            "model": t.model,
            "words": len(t.words or []),
        }
        for t, source, sid in rows
    ]


def _live_speech(call: Call) -> list[dict]:
    """What the live recognizer wrote as call events while the caller spoke (partial and final)."""
    return [
        {
            "at": e.at.isoformat(),
            "kind": e.kind,
            "text": (e.detail or {}).get("readable") or (e.detail or {}).get("text", ""),
        }
        for e in call.events
        if e.kind in ("speech_partial", "speech_final")
    ]


def _brief(ticket: Ticket) -> dict:
    return {
        "number": ticket.number,
        "created_at": ticket.created_at.isoformat(),
        "status": ticket.status,
        "subject": ticket.subject,
        "kind": ticket.kind,
        "route": ticket.route,
        "summary": ticket.summary,
        "assigned_to": ticket.assigned_to,
    }


def _classification(ticket: Ticket) -> dict:
    return {
        "subject": ticket.subject,
        "kind": ticket.kind,
        "handling_class": ticket.handling_class,
        "urgency_flags": list(ticket.urgency_flags or []),
        "entities": ticket.entities or {},
        "evidence": ticket.evidence or {},
    }


def _notes(session: Session, ticket: Ticket | None, reader: StaffUser) -> list[dict]:
    """The consultation notes on the ticket that `reader` may read: their own (supervisors and admins: all)."""
    if ticket is None:
        return []
    return [
        {"at": e.at.isoformat(), "actor": e.actor, "text": e.note}
        for e in session.scalars(
            select(TicketEvent)
            .where(TicketEvent.ticket_id == ticket.id, TicketEvent.kind == "note")
            .order_by(TicketEvent.id)
        )
        if may_read_note(reader, e.actor)
    ]


def _caller_view(session: Session, call: Call, live: bool, reader: StaffUser) -> dict:
    ticket = ticket_for_call(session, call.id)
    history = (
        session.scalars(
            select(Ticket)
            .where(
                Ticket.caller_number == call.from_number,  # NULL call_id: made by hand
                or_(Ticket.call_id.is_(None), Ticket.call_id != call.id),
            )
            .order_by(Ticket.created_at.desc())
            .limit(HISTORY_LIMIT)
        )
        if call.from_number
        else []
    )
    return {
        "call_sid": call.call_sid,
        "live": live,
        "caller": call.from_number,  # lawyers call back: full number
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "menu_choice": call.menu_choice,
        "transcripts": _transcripts(session, call),
        "live_speech": _live_speech(call),
        "ticket": {**_brief(ticket), "classification": _classification(ticket)} if ticket else None,
        "notes": _notes(session, ticket, reader),
        "history": [_brief(t) for t in history],
    }


@router.get("/state", summary="My seat: on duty now, signed in, on a call")
def seat_state(user: Lawyer, session: SessionDep, services: ServicesDep, lawyer_id: SeatParam = None) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    routing = services.routing
    person = routing.roster.lawyers.get(seat)
    on_duty = any(p.id == seat for p in routing.roster.on_duty(utcnow(), routing.timezone))
    presence = session.get(LawyerPresence, seat)
    return {
        "lawyer_id": seat,
        "name": person.name if person else user.display_name,
        "on_duty": on_duty,
        "signed_in": bool(presence and presence.signed_in),
        "on_call_sid": presence.on_call_sid if presence else None,
        "hours": {"start": routing.roster.start.strftime("%H:%M"), "end": routing.roster.end.strftime("%H:%M")},
    }


@router.get("/current", summary="My current (or last) caller: transcripts, classification, history, notes")
def current_caller(user: Lawyer, request: Request, session: SessionDep, lawyer_id: SeatParam = None) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    call_sid, live = _current_call_sid(session, seat)
    call = find_call(session, call_sid) if call_sid else None
    if call is None:
        return {"call": None}
    view = _caller_view(session, call, live, user)
    shown = [t["number"] for t in [view["ticket"], *view["history"]] if t is not None]
    for number in not_viewed_lately(session, user.username, shown):  # every ticket shown is in the audit log
        record(
            session,
            actor=user.username,
            role=user.role,
            action="view_ticket",
            target=number,
            ip=client_ip(request),
            detail={"via": "lawyer_console", "call_sid": call.call_sid},
        )
    session.commit()
    return {"call": masked_for(user.role, view)}  # lawyers call back: full numbers; an admin's are masked


@router.post("/notes", summary="A consultation note on my caller's ticket (ticket event kind `note`)")
def post_note(body: NoteIn, user: Lawyer, session: SessionDep, lawyer_id: SeatParam = None) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    call = _my_call(session, seat, body.call_sid)
    ticket = ticket_for_call(session, call.id)
    if ticket is None:
        raise HTTPException(409, f"call {call.call_sid} has no ticket yet: make one first (POST /api/seat/ticket)")
    text = body.text.strip()
    if not text:
        raise HTTPException(422, "the note is empty")
    add_event(session, ticket, "note", text, actor=user.username)
    session.commit()
    return {"ticket": ticket.number, "notes": _notes(session, ticket, user)}


@router.post("/ticket", summary="Make a ticket for my caller's call when it has none (idempotent)")
def post_ticket(
    body: TicketIn, user: Lawyer, session: SessionDep, services: ServicesDep, lawyer_id: SeatParam = None
) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    call = _my_call(session, seat, body.call_sid)
    existing = ticket_for_call(session, call.id)
    if existing is not None:  # a retry, or the voice menu opened one: the same ticket, unchanged
        return {**_brief(existing), "created": False, "classification": _classification(existing)}
    ticket = open_ticket_for_call(
        session,
        call_id=call.id,
        caller_number=call.from_number,
        menu_choice=call.menu_choice,
        timezone=services.routing.timezone,
    )
    route_ticket(session, ticket, body.summary.strip(), services.routing, utcnow())
    ticket.assigned_to = seat
    add_event(session, ticket, "lawyer_ticket", f"made by the lawyer seat {seat}", actor=user.username)
    session.commit()
    return {**_brief(ticket), "created": True, "classification": _classification(ticket)}


@router.get("/callbacks", summary="Callbacks due: lawyer-callback tickets for me or nobody, not yet replied")
def callbacks_due(user: Lawyer, session: SessionDep, lawyer_id: SeatParam = None) -> list[dict]:
    seat = lawyer_seat(user, lawyer_id)
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.route == "lawyer_callback",
            Ticket.status.in_(OPEN_STATES),
            or_(Ticket.assigned_to == seat, Ticket.assigned_to.is_(None)),
        )
        .order_by(Ticket.reply_due_at.is_(None), Ticket.reply_due_at, Ticket.id)
        .limit(200)
    )
    return masked_for(
        user.role,
        [
            {
                **_brief(t),
                "callback_number": t.callback_number or t.caller_number,
                "reply_due_at": t.reply_due_at.isoformat() if t.reply_due_at else None,
            }
            for t in tickets
        ],
    )
