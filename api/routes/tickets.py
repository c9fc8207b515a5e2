"""Reading tickets and calls over HTTP (the staff consoles and `hotline call` use these)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from sqlalchemy import select

from api.deps import SessionDep
from api.ticket_view import find_ticket, ticket_of_call, ticket_view
from recordings.calls import find_call
from routing.tables import Ticket

router = APIRouter(prefix="/api", tags=["tickets"])


@router.get("/tickets", summary="Recent tickets, newest first")
def list_tickets(session: SessionDep, limit: int = 50, needs_human: bool | None = None) -> list[dict]:
    query = select(Ticket).order_by(Ticket.id.desc()).limit(min(max(limit, 1), 500))
    if needs_human is not None:
        query = query.where(Ticket.needs_human == needs_human)
    return [ticket_view(session, t) for t in session.scalars(query)]


@router.get("/tickets/{number}", summary="One ticket with its transcript and history")
def get_ticket(number: str, session: SessionDep) -> dict:
    ticket = find_ticket(session, number)
    if ticket is None:
        raise HTTPException(404, f"no ticket {number}: ticket numbers look like 12351-20261124-0001")
    return ticket_view(session, ticket)


@router.get("/calls/{call_sid}", summary="A call, its events and its ticket")
def get_call(call_sid: str, session: SessionDep) -> dict:
    call = find_call(session, call_sid)
    if call is None:
        raise HTTPException(404, f"no call {call_sid}")
    ticket = ticket_of_call(session, call_sid)
    return {
        "call_sid": call.call_sid,
        "from": call.from_number,
        "status": call.status,
        "menu_choice": call.menu_choice,
        "started_at": call.started_at.isoformat(),
        "ended_at": call.ended_at.isoformat() if call.ended_at else None,
        "events": [{"at": e.at.isoformat(), "kind": e.kind, "detail": e.detail} for e in call.events],
        "ticket": ticket_view(session, ticket) if ticket else None,
    }
