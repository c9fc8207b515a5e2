"""Lawyer and operator seats, the queue, the duty roster and the union directory, over HTTP (alerts: api.routes.alerts)."""

from __future__ import annotations

import logging
from datetime import datetime, time
from typing import TypeAlias
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from sqlalchemy import select

from api.access import Allowed
from api.deps import Day, ServicesDep, SessionDep
from api.errors import Refusal
from api.responses.seats import LawyerNow, OperatorSeat, Queue, Roster, SeatSignedIn, Taken, Unions
from api.schemas import TakeIn
from api.twilio_auth import public_base
from hotline.db import utcnow
from recordings.calls import find_call
from routing.roster import WEEKDAYS, RosterError
from routing.seats import (
    SeatError,
    available_lawyers,
    queue_state,
    set_on_call,
    sign_in,
    sign_out,
    take_next_caller,
)
from routing.tables import LawyerPresence, Ticket
from routing.tickets import add_event, local_day
from staff import seats as operator_seats
from staff.roles import LAWYER, SUPERVISOR, role_allows
from staff.tables import StaffUser

router = APIRouter(prefix="/api", tags=["seats"])
log = logging.getLogger(__name__)

# Which roles may use each endpoint is the access table's (staff/access.py); these name the user it let in.
Staff: TypeAlias = Allowed
SeatStaff: TypeAlias = Allowed
Supervisor: TypeAlias = Allowed
Operator: TypeAlias = Allowed


def lawyer_seat(user: StaffUser, lawyer_id: str | None = None) -> str:
    """The roster seat a lawyer-seat request acts for: a lawyer's own; an admin (or a supervisor) the seat they
    name with `lawyer_id`, else their own if their account has one."""
    if user.role != LAWYER and role_allows(user.role, (SUPERVISOR,)):
        if lawyer_id:
            return lawyer_id
        if user.roster_id:
            return user.roster_id
        raise Refusal(422, "请选择要查看的律师座席（?lawyer_id=L01）：您的账号没有座席", "seat_not_named")
    if not user.roster_id:
        raise Refusal(
            403,
            "您的账号没有关联排班表上的律师座席：请管理员设置（hotline users add … --roster-id L01）",
            "no_roster_seat",
        )
    if lawyer_id not in (None, user.roster_id):
        raise Refusal(403, f"您只能使用自己的座席 {user.roster_id}，不能使用 {lawyer_id}", "not_your_seat")
    return user.roster_id


def _not_on_roster(lawyer_id: str) -> Refusal:
    return Refusal(404, f"排班表上没有律师座席 {lawyer_id}", "not_on_roster")


def _own_seat(user: StaffUser, lawyer_id: str | None) -> str:
    """The seat a request acts for: a lawyer only their own; a supervisor any seat they name."""
    if user.role == LAWYER:
        return lawyer_seat(user, lawyer_id)
    if not role_allows(user.role, (SUPERVISOR,)):
        raise Refusal(403, "只有律师本人或班长/主管可以这样做", "not_your_seat")
    if not lawyer_id:
        raise Refusal(422, "请说明是哪位律师（lawyer_id）", "seat_not_named")
    return lawyer_id


@router.get(
    "/roster", summary="Who is on duty on a day (default today), and the week's rotation", response_model=Roster
)
def get_roster(services: ServicesDep, _user: Staff, day: Day | None = None) -> dict:
    roster, tz = services.routing.roster, services.routing.timezone
    day = day or local_day(utcnow(), tz)
    noon = datetime.combine(day, time(12, 0), ZoneInfo(tz))
    return {
        "date": day.isoformat(),
        "hours": {"start": roster.start.strftime("%H:%M"), "end": roster.end.strftime("%H:%M")},
        "on_duty": [vars(p) for p in roster.on_duty(noon, tz)],
        "weekly": {d: list(roster.weekly[d]) for d in WEEKDAYS},
        "lawyers": [vars(p) for p in roster.lawyers.values()],
    }


@router.get("/lawyers", summary="Lawyers on duty now: signed in, on a call, free", response_model=list[LawyerNow])
def get_lawyers(session: SessionDep, services: ServicesDep, _user: Staff) -> list[dict]:
    roster, tz, now = services.routing.roster, services.routing.timezone, utcnow()
    free = {p.id for p in available_lawyers(session, roster, now, tz)}
    presence = {p.lawyer_id: p for p in session.scalars(select(LawyerPresence))}
    return [
        {
            **vars(p),
            "signed_in": bool(presence.get(p.id) and presence[p.id].signed_in),
            "on_call_sid": presence[p.id].on_call_sid if p.id in presence else None,
            "free": p.id in free,
        }
        for p in roster.on_duty(now, tz)
    ]


@router.post("/lawyers/{lawyer_id}/sign-in", summary="A lawyer takes their seat", response_model=SeatSignedIn)
def post_sign_in(lawyer_id: str, session: SessionDep, services: ServicesDep, user: SeatStaff) -> dict:
    lawyer_id = _own_seat(user, lawyer_id)
    try:
        sign_in(session, services.routing.roster, lawyer_id)
    except RosterError as exc:
        raise _not_on_roster(lawyer_id) from exc
    session.commit()
    return {"lawyer_id": lawyer_id, "signed_in": True}


@router.post("/lawyers/{lawyer_id}/sign-out", summary="A lawyer leaves their seat", response_model=SeatSignedIn)
def post_sign_out(lawyer_id: str, session: SessionDep, user: SeatStaff) -> dict:
    lawyer_id = _own_seat(user, lawyer_id)
    sign_out(session, lawyer_id)
    session.commit()
    return {"lawyer_id": lawyer_id, "signed_in": False}


@router.get("/queue", summary="Callers waiting for a lawyer, in order, with their waits", response_model=Queue)
def get_queue(session: SessionDep, _user: SeatStaff) -> dict:
    state, now = queue_state(session), utcnow()
    return {
        "waiting": [
            {"position": n, "call_sid": e.call_sid, "waited_s": round((now - e.entered_at).total_seconds())}
            for n, e in enumerate(state.waiting, 1)
        ],
        "avg_wait_s": state.avg_wait_s,
    }


@router.post("/queue/take", summary="A free lawyer takes the caller who has waited longest", response_model=Taken)
def post_take(body: TakeIn, request: Request, session: SessionDep, services: ServicesDep, user: SeatStaff) -> dict:
    lawyer_id = _own_seat(user, body.lawyer_id)
    try:
        entry = take_next_caller(session, services.routing.roster, lawyer_id, utcnow(), services.routing.timezone)
    except RosterError as exc:
        raise _not_on_roster(lawyer_id) from exc
    except SeatError as exc:
        if not queue_state(session).waiting:
            raise Refusal(409, "没有人在排队", "nobody_waiting") from exc
        raise Refusal(
            409, f"{lawyer_id} 座席现在不能接听：须在值班时间内、已签入且不在通话中", "lawyer_not_free"
        ) from exc
    ticket = session.get(Ticket, entry.ticket_id) if entry.ticket_id else None
    if ticket is not None:
        ticket.assigned_to = lawyer_id
        add_event(session, ticket, "lawyer_answered", f"{lawyer_id} 从排队中接听", actor=lawyer_id)
    call = find_call(session, entry.call_sid)
    if call is not None:  # the lawyer handles this call from now on (quality inspection samples per handler)
        call.handler, call.handler_role = lawyer_id, LAWYER
    session.commit()
    # The caller's live call leaves the queue for the lawyer's phone (Twilio REST), after the commit.
    base = public_base(request, services.settings.public_url)
    try:
        services.twilio_rest.calls(entry.call_sid).update(
            url=f"{base}/twilio/seat/bridge?lawyer={lawyer_id}", method="POST"
        )
    except Exception as exc:  # the caller hung up meanwhile, or Twilio is unreachable: the lawyer is free again
        set_on_call(session, lawyer_id, None)
        session.commit()
        log.warning("could not connect %s to %s: %s", entry.call_sid, lawyer_id, exc)
        raise Refusal(502, "未能接通来电人（可能已挂断，或电话线路不通），请接听下一位", "connect_failed") from exc
    return {"call_sid": entry.call_sid, "lawyer_id": lawyer_id, "waited_s": entry.wait_s}


def _operator_view(seat: operator_seats.OperatorSeat) -> dict:
    return {
        "username": seat.username,
        "name": seat.display_name,
        "phone": seat.phone,
        "signed_in": seat.signed_in,
        "on_call_sid": seat.on_call_sid,
        "free": seat.free,
        "since": seat.since.isoformat() if seat.since else None,
    }


@router.get(
    "/operators",
    summary="Operators: who takes calls, who is on a call, who is free (idle since)",
    response_model=list[OperatorSeat],
)
def get_operators(session: SessionDep, _user: Supervisor) -> list[dict]:
    return [_operator_view(seat) for seat in operator_seats.operator_seats(session)]


@router.get(
    "/operators/me", summary="My operator seat: taking calls or not, on a call or free", response_model=OperatorSeat
)
def get_my_operator_seat(session: SessionDep, user: Operator) -> dict:
    return _operator_view(operator_seats.seat_of(session, user))


@router.post(
    "/operators/me/sign-in",
    summary="I take calls: callers who ask for a person ring my phone",
    response_model=OperatorSeat,
)
def post_operator_sign_in(session: SessionDep, user: Operator) -> dict:
    if not user.phone:
        raise Refusal(
            409,
            f"您的账号没有登记接听电话：请管理员设置（hotline users phone {user.username} +86…）",
            "no_phone",
        )
    try:
        operator_seats.sign_in(session, user)
    except operator_seats.SeatError as exc:
        raise Refusal(409, "只有话务员可以接听热线来电", "not_operator") from exc
    session.commit()
    return _operator_view(operator_seats.seat_of(session, user))


@router.post(
    "/operators/me/sign-out", summary="I stop taking calls (a call I am on goes on)", response_model=OperatorSeat
)
def post_operator_sign_out(session: SessionDep, user: Operator) -> dict:
    operator_seats.sign_out(session, user.username)
    session.commit()
    return _operator_view(operator_seats.seat_of(session, user))


@router.get("/unions", summary="The union directory used for territorial dispatch", response_model=Unions)
def get_unions(services: ServicesDep, _user: Staff) -> dict:
    directory = services.routing.directory
    return {"city": directory.city, "unions": [vars(u) for u in directory.unions]}
