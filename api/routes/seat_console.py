"""What the lawyer seat console needs beyond the seat and queue API (`/api/seat/...`, lawyers only).

Every request acts for the signed-in lawyer's own roster seat (an admin names one: `?lawyer_id=L01`): their
duty status, the caller they are talking to now (or just talked to), that caller's words as they come in (live
transcripts are `live:` models, replaced by the batch transcript later), what the classifier made of them, the
caller's earlier tickets, consultation notes (each lawyer reads their own), a ticket for a call that has none,
and the callbacks waiting for them.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import BaseModel, Field
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from api.access import Allowed, may_read_note
from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.responses.seats import Callback, CurrentCaller, NoteAdded, SeatState, SeatTicket
from api.routes.seats import lawyer_seat
from api.schemas import CallbackAttemptIn, CallbackReplyIn
from api.staff_auth import audit
from api.ticket_view import code_labels, find_ticket
from hotline.db import utcnow
from recordings.calls import find_call
from recordings.tables import Call, Recording, Transcript
from routing.callbacks import LAWYER_CALLBACK, CallbackError, attempts_of, is_callback_of, record_attempt, reply
from routing.lifecycle import TransitionError
from routing.service import route_ticket
from routing.tables import LawyerPresence, QueueEntry, Ticket, TicketEvent
from routing.tickets import WordsFrom, add_event, open_ticket_for_call, ticket_for_call
from staff.audit import not_viewed_lately
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
        raise Refusal(409, "您现在没有来电：请先从排队中接听一位", "no_current_caller")
    call = find_call(session, wanted)
    taken = session.scalar(select(QueueEntry.id).where(QueueEntry.call_sid == wanted, QueueEntry.lawyer_id == seat))
    if call is None or (taken is None and call.handler != seat):
        raise Refusal(404, f"没有您（{seat}）接听的通话 {wanted}", "not_your_call")
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
        **code_labels(ticket),  # status_label, subject_label, route_label ...: the words the console shows
    }


def _classification(ticket: Ticket) -> dict:
    labels = code_labels(ticket)
    return {
        **{key: labels[key] for key in ("subject_label", "kind_label", "handling_class_label")},
        "urgency_flag_labels": labels["urgency_flag_labels"],
        "entity_labels": labels["entity_labels"],
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
    history: Sequence[Ticket] = (
        session.scalars(
            select(Ticket)
            .where(
                Ticket.caller_number == call.from_number,  # NULL call_id: made by hand
                or_(Ticket.call_id.is_(None), Ticket.call_id != call.id),
            )
            .order_by(Ticket.created_at.desc())
            .limit(HISTORY_LIMIT)
        ).all()
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


@router.get("/state", summary="My seat: on duty now, signed in, on a call", response_model=SeatState)
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


@router.get(
    "/current",
    summary="My current (or last) caller: transcripts, classification, history, notes",
    response_model=CurrentCaller,
)
def current_caller(user: Lawyer, request: Request, session: SessionDep, lawyer_id: SeatParam = None) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    call_sid, live = _current_call_sid(session, seat)
    call = find_call(session, call_sid) if call_sid else None
    if call is None:
        return {"call": None}
    view = _caller_view(session, call, live, user)
    shown = [t["number"] for t in [view["ticket"], *view["history"]] if t is not None]
    for number in not_viewed_lately(session, user.username, shown):  # every ticket shown is in the audit log
        audit(session, request, user, "view_ticket", number, {"via": "lawyer_console", "call_sid": call.call_sid})
    session.commit()
    return {"call": masked_for(user.role, view)}  # lawyers call back: full numbers; an admin's are masked


@router.post(
    "/notes", summary="A consultation note on my caller's ticket (ticket event kind `note`)", response_model=NoteAdded
)
def post_note(body: NoteIn, user: Lawyer, session: SessionDep, lawyer_id: SeatParam = None) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    call = _my_call(session, seat, body.call_sid)
    ticket = ticket_for_call(session, call.id)
    if ticket is None:
        raise Refusal(409, f"通话 {call.call_sid} 还没有工单：请先建单", "no_ticket")
    text = body.text.strip()
    if not text:
        raise Refusal(422, "记录是空的：请写下解答要点", "empty_note")
    add_event(session, ticket, "note", text, actor=user.username)
    session.commit()
    return {"ticket": ticket.number, "notes": _notes(session, ticket, user)}


@router.post(
    "/ticket", summary="Make a ticket for my caller's call when it has none (idempotent)", response_model=SeatTicket
)
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
    route_ticket(session, ticket, body.summary.strip(), services.routing, utcnow(), WordsFrom.PERSON)
    ticket.assigned_to = seat
    add_event(session, ticket, "lawyer_ticket", f"律师座席 {seat} 建单", actor=user.username)
    session.commit()
    return {**_brief(ticket), "created": True, "classification": _classification(ticket)}


def _callback_view(ticket: Ticket) -> dict:
    """A callback as the lawyer works on it: whom to call, by when, and each call back so far."""
    attempts = attempts_of(ticket)
    return {
        **_brief(ticket),
        "callback_number": ticket.callback_number or ticket.caller_number,
        "reply_due_at": ticket.reply_due_at.isoformat() if ticket.reply_due_at else None,
        "attempts": [
            {"at": a.at.isoformat(), "actor": a.actor, "reached": a.reached, "note": a.note} for a in attempts
        ],
        "reached": any(a.reached for a in attempts),
    }


@router.get(
    "/callbacks",
    summary="Callbacks due: lawyer-callback tickets for me or nobody, not yet replied",
    response_model=list[Callback],
)
def callbacks_due(user: Lawyer, session: SessionDep, lawyer_id: SeatParam = None) -> list[dict]:
    seat = lawyer_seat(user, lawyer_id)
    tickets = session.scalars(
        select(Ticket)
        .where(
            Ticket.route == LAWYER_CALLBACK,
            Ticket.status.in_(OPEN_STATES),
            or_(Ticket.assigned_to == seat, Ticket.assigned_to.is_(None)),
        )
        .order_by(Ticket.reply_due_at.is_(None), Ticket.reply_due_at, Ticket.id)
        .limit(200)
    )
    return masked_for(user.role, [_callback_view(t) for t in tickets])


def _my_callback(session: Session, seat: str, number: str) -> Ticket:
    """A lawyer-callback ticket this seat may work on (its own, or one nobody has taken)."""
    ticket = find_ticket(session, number)
    if ticket is None:
        raise Refusal(404, f"没有工单 {number}：工单号形如 12351-20261124-0001", "no_ticket")
    if ticket.route != LAWYER_CALLBACK:
        raise Refusal(409, f"工单 {number} 不是律师回电工单", "not_a_callback")
    if not is_callback_of(ticket, seat):
        raise Refusal(403, f"工单 {number} 由 {ticket.assigned_to} 座席回电，不是您（{seat}）的", "not_your_callback")
    return ticket


@router.post(
    "/callbacks/{number}/attempts",
    summary="I called the caller back: reached or not, with a note (not reached: it stays due, the attempt shown)",
    response_model=Callback,
)
def post_callback_attempt(
    number: str,
    body: CallbackAttemptIn,
    user: Lawyer,
    request: Request,
    session: SessionDep,
    lawyer_id: SeatParam = None,
) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    ticket = _my_callback(session, seat, number)
    try:
        record_attempt(session, ticket, seat=seat, actor=user.username, reached=body.reached, note=body.note)
    except CallbackError as exc:
        raise Refusal(409, str(exc), exc.code) from exc
    audit(session, request, user, "callback_attempt", ticket.number, {"seat": seat, "reached": body.reached})
    session.commit()
    session.refresh(ticket)
    return masked_for(user.role, _callback_view(ticket))


@router.post(
    "/callbacks/{number}/reply",
    summary="My reply to the caller, after reaching them: closes the callback",
    response_model=Callback,
)
def post_callback_reply(
    number: str,
    body: CallbackReplyIn,
    user: Lawyer,
    request: Request,
    session: SessionDep,
    lawyer_id: SeatParam = None,
) -> dict:
    seat = lawyer_seat(user, lawyer_id)
    ticket = _my_callback(session, seat, number)
    try:
        reply(session, ticket, seat=seat, actor=user.username, text=body.text)
    except CallbackError as exc:
        raise Refusal(409, str(exc), exc.code) from exc
    except TransitionError as exc:  # the closed loop refuses (e.g. a state that cannot be replied from)
        raise Refusal(409, f"工单 {number} 现在不能答复：{exc}", "transition_refused") from exc
    audit(session, request, user, "callback_reply", ticket.number, {"seat": seat})
    session.commit()
    session.refresh(ticket)
    return masked_for(user.role, _callback_view(ticket))
