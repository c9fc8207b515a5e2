"""Related tickets become one case: the same caller, or the same employer or project, within a window.

Four herders under different subcontractors on one repair project are one case, and a second call about the
same employer raises 多 (repeated) — which makes the ticket urgent under the 1155 mechanism.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.names import same_name
from routing.tables import Case, Ticket
from routing.tickets import add_event


def related_reason(ticket: Ticket, other: Ticket) -> str | None:
    """Why two tickets belong together, or None."""
    if ticket.caller_number and ticket.caller_number == other.caller_number:
        return f"同一来电人 {ticket.caller_number}"
    mine, theirs = ticket.entities or {}, other.entities or {}
    if same_name(mine.get("project"), theirs.get("project")):
        return f"同一项目 {theirs.get('project')}"
    if same_name(mine.get("employer"), theirs.get("employer")):
        return f"同一单位 {theirs.get('employer')}"
    return None


def link_related(session: Session, ticket: Ticket, *, window_days: int, now: datetime) -> Case | None:
    """Put the ticket in the case of related recent tickets (making one if needed); None when it stands alone."""
    since = now - timedelta(days=window_days)
    recent = session.scalars(
        select(Ticket).where(Ticket.id != ticket.id, Ticket.created_at >= since).order_by(Ticket.id.desc())
    ).all()
    matches = [(other, reason) for other in recent if (reason := related_reason(ticket, other))]
    if not matches:
        return None
    case_id = next((other.case_id for other, _ in matches if other.case_id), None)
    case = session.get(Case, case_id) if case_id else None
    if case is None:
        first = matches[0][0]
        case = Case(employer=(first.entities or {}).get("employer"), project=(first.entities or {}).get("project"))
        session.add(case)
        session.flush()
    for other, reason in matches:
        if other.case_id is None:
            other.case_id = case.id
            add_event(session, other, "linked", f"案件 {case.id}：{reason}（工单 {ticket.number}）")
    ticket.case_id = case.id
    add_event(
        session,
        ticket,
        "linked",
        f"案件 {case.id}：" + "；".join(f"{reason}（工单 {other.number}）" for other, reason in matches),
    )
    if "repeat" not in (ticket.urgency_flags or []):
        ticket.urgency_flags = [*(ticket.urgency_flags or []), "repeat"]
    return case


def merge_tickets(session: Session, ticket: Ticket, other: Ticket, *, actor: str, note: str = "") -> Case:
    """A person decides two tickets are one matter: both join one case, recorded on both."""
    case = session.get(Case, other.case_id or ticket.case_id) if (other.case_id or ticket.case_id) else None
    if case is None:
        case = Case(employer=(other.entities or {}).get("employer"), project=(other.entities or {}).get("project"))
        session.add(case)
        session.flush()
    for t in (ticket, other):
        if t.case_id != case.id:
            t.case_id = case.id
    why = f"：{note}" if note else ""
    add_event(session, ticket, "merged", f"与 {other.number} 并入案件 {case.id}{why}", actor=actor)
    add_event(session, other, "merged", f"与 {ticket.number} 并入案件 {case.id}{why}", actor=actor)
    return case
