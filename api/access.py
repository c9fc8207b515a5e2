"""The one access check: every route is looked up in the access table (`staff/access.py`) before it runs.

`enforce_access` is an app-wide dependency, so a route cannot let in more roles than its table entry, and a
route missing from the table is refused to everyone. Handlers that take the signed-in user declare `user:
Allowed` (the same dependency, run once per request) and narrow `own`/`sampled` reaches with the helpers below.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request, WebSocketException, status
from sqlalchemy import exists, select
from sqlalchemy.orm import Session
from starlette.requests import HTTPConnection

from api.deps import ServicesDep, SessionDep
from api.errors import Refusal
from api.staff_auth import current_staff, require_page_roles, wrong_role
from recordings.qa_tables import QaSample
from recordings.tables import Call
from routing.tables import QueueEntry, Ticket
from staff.access import ALL, NOTE_READERS, OWN, PAGE, PUBLIC, SAMPLED, TWILIO, Access, access_for
from staff.accounts import handles
from staff.roles import ADMIN, LAWYER
from staff.tables import StaffUser


def route_access(connection: HTTPConnection) -> tuple[str, Access | None]:
    """The table key of the route this request matched, and its entry (None: not in the table)."""
    route = connection.scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None) or connection.url.path
    method = "WEBSOCKET" if connection.scope["type"] == "websocket" else connection.scope["method"]
    return f"{method} {path}", access_for(method, path)


def enforce_access(connection: HTTPConnection, session: SessionDep, services: ServicesDep) -> StaffUser | None:
    """Let the request through only as the access table says: 401 signed out (a page: to /login), 403 refused."""
    key, rule = route_access(connection)
    if rule is not None and rule.kind in (PUBLIC, TWILIO):
        return None  # Twilio's webhooks check their signature themselves
    if not isinstance(connection, Request):  # a WebSocket that is not a Twilio stream in the table
        raise WebSocketException(status.WS_1008_POLICY_VIOLATION, f"{key} is not in the access table")
    if rule is None:
        raise Refusal(
            403,
            f"这个地址不在权限表中，任何人都不能使用（{key}：请在 staff/access.py 的 ACCESS 中登记）",
            "not_in_table",
        )
    roles = tuple(rule.roles)
    if rule.kind == PAGE:
        user = require_page_roles(*roles)(connection, session, services)
    else:
        user = current_staff(connection, session, services)
        if rule.scope_for(user.role) is None:
            raise wrong_role(roles, user)
    connection.state.reach = rule.scope_for(user.role)
    # These reads began a transaction, which on SQLite holds the process's one-transaction lock (hotline.db). End it
    # here: the endpoint runs on another request thread, and while this request waited for a free one, a burst of
    # requests whose threads all waited for the lock starved it (30 sign-ins made every request wait ~10 s).
    session.commit()
    return user


Allowed = Annotated[StaffUser, Depends(enforce_access)]
"""The signed-in staff member, let through by the access table."""


def reach(request: Request) -> str | None:
    """How far the signed-in role reaches on this route: all, own or sampled (None: not checked, nothing)."""
    return getattr(request.state, "reach", None)


def is_sampled(session: Session, call_id: int | None) -> bool:
    """Whether a call is in the quality-inspection sample (on any day)."""
    return call_id is not None and bool(session.scalar(select(exists().where(QaSample.call_id == call_id))))


def lawyer_took(session: Session, seat: str | None, call: Call | None) -> bool:
    """Whether this lawyer seat took or handled the call."""
    if seat is None or call is None:
        return False
    return call.handler == seat or bool(
        session.scalar(select(exists().where(QueueEntry.call_sid == call.call_sid, QueueEntry.lawyer_id == seat)))
    )


def may_read_call(session: Session, user: StaffUser, scope: str | None, call: Call) -> bool:
    """Within the role's reach: all calls; own (calls they took or handled); sampled (QA sample only)."""
    if scope not in (ALL, OWN, SAMPLED):
        return False
    if scope == ALL:
        return True
    if scope == SAMPLED:
        return is_sampled(session, call.id)
    if user.role == LAWYER:
        return lawyer_took(session, user.roster_id, call)
    return handles(user, call.handler)


def may_read_ticket(session: Session, user: StaffUser, scope: str | None, ticket: Ticket) -> bool:
    """Within the role's reach: all tickets; sampled (the ticket of a sampled call); own (a lawyer's: assigned
    to their seat, a lawyer callback nobody has taken, or the ticket of a call they took)."""
    if scope not in (ALL, OWN, SAMPLED):
        return False
    if scope == ALL:
        return True
    call = session.get(Call, ticket.call_id) if ticket.call_id else None
    if scope == SAMPLED:
        return is_sampled(session, ticket.call_id)
    seat = user.roster_id
    if seat and ticket.assigned_to == seat:
        return True
    if ticket.route == "lawyer_callback" and ticket.assigned_to is None and user.role == LAWYER:
        return True
    return may_read_call(session, user, OWN, call) if call is not None else False


def may_read_note(user: StaffUser, author: str) -> bool:
    """A consultation note is read by the lawyer who wrote it, and by supervisors and admins."""
    return user.username == author or user.role in NOTE_READERS or user.role == ADMIN
