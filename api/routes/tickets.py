"""Tickets and cases over HTTP: reading them, and moving them along the closed loop."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Literal, TypeAlias

from fastapi import APIRouter, Request, Response
from sqlalchemy import ColumnElement, and_, false, func, or_, select

from api.access import Allowed, may_read_call, may_read_ticket, reach
from api.deps import RowId, ServicesDep, SessionDep
from api.errors import Refusal
from api.responses.tickets import CallView, CaseView, TicketDetail, TicketOptions, TicketView
from api.schemas import CompletionIn, CorrectionIn, DispatchIn, ExtensionIn, MergeIn, ReviewConfirmationIn, TransitionIn
from api.staff_auth import audit
from api.ticket_view import find_ticket, ticket_of_call, ticket_view
from hotline.db import utcnow
from recordings.call_events import call_event_label
from recordings.calls import find_call
from routing.cases import merge_tickets
from routing.classify import default_taxonomy
from routing.completion import CompletionError, complete_ticket
from routing.corrections import CorrectionError, confirm_ticket, correct_ticket
from routing.lifecycle import ALLOWED, STATE_LABELS, STATES, TransitionError, extend, transition
from routing.sla import SlaPolicy
from routing.sla_watch import OPEN_STATES
from routing.tables import Case, Ticket
from staff.audit import not_viewed_lately
from staff.roles import ROLE_LABELS, masked_for, phone_for
from staff.tables import StaffUser

router = APIRouter(prefix="/api", tags=["tickets"])

# Who reads, moves and corrects tickets, and how far (a lawyer their own, an inspector the sampled calls'), is the
# access table's (staff/access.py); these name the user it let in.
Reader: TypeAlias = Allowed
Handler: TypeAlias = Allowed
Corrector: TypeAlias = Allowed


def _view(session: SessionDep, ticket: Ticket, user: StaffUser) -> dict:
    return ticket_view(session, ticket, viewer_role=user.role, viewer=user.username)


def _readable(session: SessionDep, request: Request, user: StaffUser, ticket: Ticket) -> Ticket:
    """The ticket, if it is within the signed-in role's reach (a lawyer's own, an inspector's sampled calls)."""
    if not may_read_ticket(session, user, reach(request), ticket):
        yours = "质检抽中的通话的工单" if reach(request) == "sampled" else "自己接听的来电的工单和分给自己的回电工单"
        raise Refusal(
            403,
            f"工单 {ticket.number} 不在您的查看范围：作为{ROLE_LABELS.get(user.role, user.role)}，您只能查看{yours}",
            "not_yours",
        )
    return ticket


def _audit_view(
    session: SessionDep, request: Request, user: StaffUser, tickets: Sequence[Ticket], *, listed: bool = False
) -> None:
    """Every ticket shown to someone is written down (who, which, when, from where); a ticket shown again in a
    refreshed list within a few minutes is not written twice."""
    numbers = [t.number for t in tickets]
    if listed:
        numbers = not_viewed_lately(session, user.username, numbers)
    for number in numbers:
        audit(session, request, user, "view_ticket", number, {"path": request.url.path})
    session.commit()


def _actor(body_actor: str | None, user: StaffUser) -> str:
    """Who acted: the signed-in user, or whom they record on behalf of (a union reporting back by phone)."""
    if body_actor and body_actor != user.username:
        return f"{body_actor} (by {user.username})"
    return user.username


def _ticket(session: SessionDep, number: str) -> Ticket:
    ticket = find_ticket(session, number)
    if ticket is None:
        raise Refusal(404, f"没有工单 {number}：工单号形如 12351-20261124-0001", "no_ticket")
    return ticket


def _refused(exc: TransitionError) -> Refusal:
    return Refusal(409, str(exc), "transition_refused")


def deadline_condition(deadline: str, sla: SlaPolicy, now: datetime) -> ColumnElement[bool]:
    """Open tickets past their reply deadline (超期), or within their class's reminder time of it (临期).

    The same rule as the SLA scan's reminders (`SlaPolicy.remind_at`), written as SQL so a page can count and page.
    """
    is_open = and_(Ticket.status.in_(OPEN_STATES), Ticket.reply_due_at.is_not(None))
    if deadline == "overdue":
        return and_(is_open, Ticket.reply_due_at < now)
    within_reminder = [
        and_(Ticket.handling_class == name, Ticket.reply_due_at <= now + timedelta(hours=rule.remind_before_hours))
        for name, rule in sla.classes.items()
    ]
    return and_(is_open, Ticket.reply_due_at >= now, or_(*within_reminder) if within_reminder else false())


@router.get(
    "/tickets",
    summary="Tickets, newest first (soonest deadline first with `deadline`), filtered; "
    "the header X-Total-Count counts every match",
    response_model=list[TicketView],
)
def list_tickets(
    session: SessionDep,
    services: ServicesDep,
    request: Request,
    response: Response,
    user: Reader,
    limit: int = 50,
    needs_human: bool | None = None,
    needs_review: bool | None = None,
    status: str | None = None,
    route: str | None = None,
    deadline: Literal["near", "overdue"] | None = None,
    q: str | None = None,
) -> list[dict]:
    if status is not None and status not in STATES:
        states = "、".join(f"{label}（{code}）" for code, label in STATE_LABELS.items())
        raise Refusal(422, f"没有这个状态（{status}）：状态有 {states}", "unknown_state")
    conditions = []
    if needs_human is not None:
        conditions.append(Ticket.needs_human == needs_human)
    if needs_review is not None:
        conditions.append(Ticket.needs_review == needs_review)
    if status is not None:
        conditions.append(Ticket.status == status)
    if route is not None:
        conditions.append(Ticket.route == route)
    if deadline is not None:
        conditions.append(deadline_condition(deadline, services.routing.sla, utcnow()))
    if q is not None and q.strip():  # a number (or its tail) or words of what the caller said
        words = q.strip().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        conditions.append(
            or_(Ticket.number.like(f"%{words}%", escape="\\"), Ticket.summary.like(f"%{words}%", escape="\\"))
        )
    order = (Ticket.reply_due_at.asc(), Ticket.id.asc()) if deadline else (Ticket.id.desc(),)
    query = select(Ticket).where(*conditions).order_by(*order).limit(min(max(limit, 1), 500))
    tickets = session.scalars(query).all()
    response.headers["X-Total-Count"] = str(session.scalar(select(func.count(Ticket.id)).where(*conditions)))
    views = [_view(session, t, user) for t in tickets]
    _audit_view(session, request, user, tickets, listed=True)
    return views


@router.get("/tickets/{number}", summary="One ticket with its transcript and history", response_model=TicketDetail)
def get_ticket(number: str, session: SessionDep, services: ServicesDep, request: Request, user: Reader) -> dict:
    ticket = _readable(session, request, user, _ticket(session, number))
    view = _view(session, ticket, user)
    union = services.routing.directory.get(ticket.union_id) if ticket.union_id else None
    view["union_name"] = union.contact if union else None  # the union as staff read it (union_id stays the code)
    _audit_view(session, request, user, [ticket])
    return view


@router.get(
    "/tickets/{number}/options",
    summary="What may be done with a ticket now: its next states, and "
    "the unions of the places the caller named (dispatch suggestions)",
    response_model=TicketOptions,
)
def get_options(number: str, session: SessionDep, services: ServicesDep, _user: Reader) -> dict:
    ticket = _ticket(session, number)
    directory = services.routing.directory
    # The directory's own matcher on the caller's words: the same places routing saw, never a guess between them.
    place = directory.match(ticket.summary or "", (ticket.entities or {}).get("district"))
    named = [u.id for u in place.candidates] or ([place.union.id] if place.union else [])
    return {
        "number": ticket.number,
        "status": ticket.status,
        "next_states": [{"state": s, "label": STATE_LABELS[s]} for s in STATES if s in ALLOWED[ticket.status]],
        "can_dispatch": "dispatched" in ALLOWED[ticket.status],
        "can_extend": ticket.status in OPEN_STATES and ticket.reply_due_at is not None,
        "named_places": list(place.words),
        "named_unions": named,  # ids in GET /api/unions, in directory order
    }


@router.post(
    "/tickets/{number}/transitions", summary="Move a ticket to its next state (actor, note)", response_model=TicketView
)
def post_transition(number: str, body: TransitionIn, session: SessionDep, user: Handler) -> dict:
    ticket = _ticket(session, number)
    try:
        transition(
            session,
            ticket,
            body.to,
            actor=_actor(body.actor, user),
            note=body.note,
            recovered_amount=body.recovered_amount,
        )
    except TransitionError as exc:
        raise _refused(exc) from exc
    session.commit()
    return _view(session, ticket, user)


@router.post("/tickets/{number}/extensions", summary="Extend the reply deadline (延期)", response_model=TicketView)
def post_extension(number: str, body: ExtensionIn, session: SessionDep, services: ServicesDep, user: Handler) -> dict:
    ticket = _ticket(session, number)
    try:
        extend(
            session,
            ticket,
            body.working_days,
            actor=_actor(body.actor, user),
            reason=body.reason,
            sla=services.routing.sla,
        )
    except TransitionError as exc:
        raise _refused(exc) from exc
    session.commit()
    return _view(session, ticket, user)


@router.post(
    "/tickets/{number}/merge", summary="Handle this ticket with another as one case", response_model=TicketView
)
def post_merge(number: str, body: MergeIn, session: SessionDep, user: Handler) -> dict:
    ticket, other = _ticket(session, number), _ticket(session, body.into)
    if ticket.id == other.id:
        raise Refusal(422, "工单不能与自己合并：请填写另一张工单的工单号", "merge_self")
    merge_tickets(session, ticket, other, actor=_actor(body.actor, user), note=body.note)
    session.commit()
    return _view(session, ticket, user)


@router.post(
    "/tickets/{number}/dispatch",
    summary="Send the ticket to a local union (a dispatcher's decision)",
    response_model=TicketView,
)
def post_dispatch(number: str, body: DispatchIn, session: SessionDep, services: ServicesDep, user: Handler) -> dict:
    ticket = _ticket(session, number)
    union = services.routing.directory.get(body.union_id)
    if union is None:
        raise Refusal(
            422, f"工会名录中没有 {body.union_id}：请从列表中选择承办工会（GET /api/unions）", "unknown_union"
        )
    try:
        transition(
            session,
            ticket,
            "dispatched",
            actor=_actor(body.actor, user),
            note=f"派至{union.contact}（{union.district}{union.township or ''}）"
            + (f"：{body.note}" if body.note else ""),
        )
    except TransitionError as exc:
        raise _refused(exc) from exc
    ticket.union_id, ticket.district, ticket.assigned_to = union.id, union.district, union.id
    ticket.route = "local_union"
    session.commit()
    return _view(session, ticket, user)


@router.post(
    "/tickets/{number}/corrections",
    summary="Correct what the machine understood: subject, kind (consult/"
    "help), urgency flags; recorded with who and when",
    response_model=TicketView,
)
def post_correction(
    number: str, body: CorrectionIn, session: SessionDep, services: ServicesDep, request: Request, user: Corrector
) -> dict:
    ticket = _ticket(session, number)
    try:
        changes = correct_ticket(
            session,
            ticket,
            actor=user.username,
            taxonomy=default_taxonomy(),
            now=utcnow(),
            subject=body.subject,
            kind=body.kind,
            urgency_flags=body.urgency_flags,
            note=body.note,
            sla=services.routing.sla,
        )
    except CorrectionError as exc:
        raise Refusal(422, str(exc), "correction_refused") from exc
    audit(
        session,
        request,
        user,
        "correct_ticket",
        ticket.number,
        {"changes": [{"field": c.field, "old": c.old, "new": c.new} for c in changes]},
    )
    session.commit()
    session.refresh(ticket)
    return _view(session, ticket, user)


@router.post(
    "/tickets/{number}/review-confirmation",
    summary="The machine was right: clear a ticket's mark for review",
    response_model=TicketView,
)
def post_review_confirmation(
    number: str, body: ReviewConfirmationIn, session: SessionDep, request: Request, user: Corrector
) -> dict:
    ticket = _ticket(session, number)
    reasons = list(ticket.review_reasons or [])
    try:
        confirm_ticket(session, ticket, actor=user.username, note=body.note)
    except CorrectionError as exc:
        raise Refusal(409, str(exc), "not_marked") from exc
    audit(session, request, user, "confirm_ticket", ticket.number, {"reasons": reasons})
    session.commit()
    session.refresh(ticket)
    return _view(session, ticket, user)


@router.post(
    "/tickets/{number}/completion",
    summary="Complete a ticket marked for a person (an operator's call): what the caller said, subject, kind, "
    "urgency flags; recorded with who and when, then routed as a classified ticket is",
    response_model=TicketView,
)
def post_completion(
    number: str, body: CompletionIn, session: SessionDep, services: ServicesDep, request: Request, user: Corrector
) -> dict:
    ticket = _ticket(session, number)
    try:
        decision = complete_ticket(
            session,
            ticket,
            actor=user.username,
            summary=body.summary,
            subject=body.subject,
            kind=body.kind,
            urgency_flags=body.urgency_flags,
            taxonomy=default_taxonomy(),
            data=services.routing,
            now=utcnow(),
            note=body.note,
        )
    except CompletionError as exc:
        raise Refusal(409 if exc.conflict else 422, str(exc), exc.code) from exc
    audit(
        session,
        request,
        user,
        "complete_ticket",
        ticket.number,
        {"subject": body.subject, "kind": body.kind, "route": decision.route},
    )
    session.commit()
    session.refresh(ticket)
    return _view(session, ticket, user)


@router.get("/cases/{case_id}", summary="A case and its tickets", response_model=CaseView)
def get_case(case_id: RowId, session: SessionDep, request: Request, user: Reader) -> dict:
    case = session.get(Case, case_id)
    if case is None:
        raise Refusal(404, f"没有编号为 {case_id} 的案件：请从工单页面打开它所属的案件", "no_case")
    tickets = session.scalars(select(Ticket).where(Ticket.case_id == case_id).order_by(Ticket.id)).all()
    views = [_view(session, t, user) for t in tickets]
    _audit_view(session, request, user, list(tickets))
    return masked_for(
        user.role,
        {
            "id": case.id,
            "employer": case.employer,
            "project": case.project,
            "created_at": case.created_at.isoformat(),
            "tickets": views,
        },
    )


@router.get("/calls/{call_sid}", summary="A call, its events and its ticket", response_model=CallView)
def get_call(call_sid: str, session: SessionDep, request: Request, user: Reader) -> dict:
    call = find_call(session, call_sid)
    if call is None:
        raise Refusal(404, f"没有这通电话（{call_sid}）：请从工单或通话列表中打开", "no_call")
    if not may_read_call(session, user, reach(request), call):
        yours = "质检抽中的通话" if reach(request) == "sampled" else "自己接听的通话"
        raise Refusal(
            403,
            f"这通电话（{call_sid}）不在您的查看范围：作为{ROLE_LABELS.get(user.role, user.role)}，您只能查看{yours}",
            "not_yours",
        )
    ticket = ticket_of_call(session, call_sid)
    view = {
        "call_sid": call.call_sid,
        "from": phone_for(user.role, call.from_number),  # the rest masked below, with the events
        "status": call.status,
        "menu_choice": call.menu_choice,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "events": [
            {"at": e.at.isoformat(), "kind": e.kind, "kind_label": call_event_label(e.kind), "detail": e.detail}
            for e in call.events
        ],
        "handler": call.handler,
        "handler_role": call.handler_role,
        "ticket": _view(session, ticket, user) if ticket else None,
    }
    if ticket is not None:
        _audit_view(session, request, user, [ticket])
    return masked_for(user.role, view)  # numbers in call events ("from": +86…) too
