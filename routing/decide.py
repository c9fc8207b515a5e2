"""Where a ticket goes: lawyer seats, a supervisor at once, a local union, the dispatcher, or the knowledge base.

One function decides, from the caller's menu choice and what was understood of their words, and writes the
decision and its reasons on the ticket. Nothing is guessed: an unclear place goes to the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.orm import Session

from hotline.db import utcnow
from routing.cases import link_related
from routing.classify import default_taxonomy
from routing.config import RoutingData
from routing.corrections import mark_for_review, urgency_flag_labels
from routing.directory import Union
from routing.knowledge import KnowledgeMatch
from routing.lifecycle import event_label, start_clock, transition
from routing.tables import Alert, Ticket
from routing.tickets import add_event

LAWYER_QUEUE, SUPERVISOR, LOCAL_UNION, DISPATCHER, KNOWLEDGE_BASE, OPERATOR = (
    "lawyer_queue",
    "supervisor",
    "local_union",
    "dispatcher",
    "knowledge_base",
    "operator",
)
LAWYER_CALLBACK = "lawyer_callback"  # routing.callbacks: a lawyer calls the caller back
# Each route as staff read it (the ticket's `route` stays the code in the JSON).
ROUTE_LABELS = {
    LAWYER_QUEUE: "律师坐席",
    LAWYER_CALLBACK: "律师回电",
    SUPERVISOR: "班长/主管",
    LOCAL_UNION: "属地工会",
    DISPATCHER: "派单员",
    KNOWLEDGE_BASE: "知识库答复",
    OPERATOR: "话务员",
}


def write_route(session: Session, ticket: Ticket, route: str, why: str) -> None:
    """The one writer of a routing decision: the ticket's route, when it was first routed (`routed_at`, what
    "is it routed yet?" reads), and the `routed` event people read (the route's label, then why)."""
    ticket.route = route
    if ticket.routed_at is None:
        ticket.routed_at = utcnow()
    add_event(session, ticket, "routed", f"{route_label(route)}：{why}")


def route_label(route: str | None) -> str:
    """A route as staff read it: 律师回电 for lawyer_callback; no route yet reads 未分派."""
    return ROUTE_LABELS.get(route or "", f"其他去向（{route}）") if route else "未分派"


# Why a ticket went to the supervisor out of the usual order (ticket event kinds; stable codes).
CALLER_EMERGENCY = "caller_emergency"  # the caller pressed or said the emergency choice
URGENT_LATER = "urgent_later"  # an urgent flag found after the first route (the recording's transcript, say)


class Understanding(Protocol):
    """What the classifier made of the caller's words (routing.classify produces it)."""

    subject: str
    kind: str
    handling_class: str
    urgency_flags: list[str]
    entities: dict[str, Any]
    evidence: dict[str, Any]
    legal: bool


@dataclass
class RouteDecision:
    """The route, the union or answer it found, and why, in words a dispatcher reads."""

    route: str
    reasons: list[str] = field(default_factory=list)
    union: Union | None = None
    answer: KnowledgeMatch | None = None
    district_unknown: bool = False  # a local matter whose district nobody named: the caller may be asked for it


def decide_route(menu_choice: str | None, understood: Understanding, text: str, data: RoutingData) -> RouteDecision:
    """Urgent first; then what the caller asked for by key; then the subject's own path."""
    if understood.urgency_flags:
        return RouteDecision(SUPERVISOR, [f"紧急：{_flags(understood.urgency_flags)}"])
    if menu_choice == "operator":
        return RouteDecision(OPERATOR, ["来电人要求转人工"])
    if menu_choice == "legal" or (understood.kind == "consult" and understood.legal):
        why = "来电人按1选择法律咨询" if menu_choice == "legal" else f"法律问题（{_subject(understood.subject)}）"
        return RouteDecision(LAWYER_QUEUE, [why])
    if understood.kind == "consult" or menu_choice == "policy":
        answer = data.knowledge.best(text)
        if answer is not None:
            return RouteDecision(
                KNOWLEDGE_BASE,
                [f"知识库答复“{answer.entry.question}”（关键词：{'、'.join(answer.words)}）"],
                answer=answer,
            )
        if menu_choice == "policy":
            return RouteDecision(OPERATOR, ["政策咨询，知识库中没有答案"])
    place = data.directory.match(text, understood.entities.get("district"))
    if place.union is not None:
        return RouteDecision(
            LOCAL_UNION, [f"地点：{'、'.join(place.words)} → {place.union.contact}"], union=place.union
        )
    if place.ambiguous:
        names = "、".join(f"{u.district}{u.township or ''}" for u in place.candidates)
        return RouteDecision(DISPATCHER, [f"说到多个地点（{names}）：由派单员决定"])
    return RouteDecision(DISPATCHER, ["没有说出区县或乡镇街道：问来电人，或由派单员决定"], district_unknown=True)


def apply_decision(
    session: Session,
    ticket: Ticket,
    understood: Understanding,
    decision: RouteDecision,
    data: RoutingData,
    now: datetime,
) -> RouteDecision:
    """Write the understanding and the route on the ticket: deadlines, dispatch, alerts; returns the final route.

    Case links are made before deciding (routing.service.route_ticket), so a repeat (多) is decided as urgent; a
    flag already on the ticket (the caller's own emergency, say) still wins over a calmer decision.
    """
    ticket.subject, ticket.kind = understood.subject, understood.kind
    mark_for_review(ticket, getattr(understood, "doubts", ()))  # the classifier's doubts: a person confirms
    ticket.entities, ticket.evidence = dict(understood.entities), dict(understood.evidence)
    ticket.urgency_flags = _merged(ticket.urgency_flags, understood.urgency_flags)
    if ticket.urgency_flags and decision.route != SUPERVISOR:
        decision = RouteDecision(SUPERVISOR, [f"紧急：{_flags(ticket.urgency_flags)}"])
    ticket.handling_class = "urgent" if ticket.urgency_flags else understood.handling_class
    start_clock(ticket, data.sla)
    write_route(session, ticket, decision.route, "；".join(decision.reasons))
    if decision.route == SUPERVISOR:
        session.add(
            Alert(
                kind="urgent",
                ticket_id=ticket.id,
                message=f"{ticket.number} urgent ({', '.join(ticket.urgency_flags)}): {ticket.summary[:80]}",
            )
        )
    elif decision.route == LOCAL_UNION and decision.union is not None and ticket.status == "accepted":
        ticket.union_id, ticket.district, ticket.assigned_to = (
            decision.union.id,
            decision.union.district,
            decision.union.id,
        )
        transition(
            session,
            ticket,
            "dispatched",
            actor="system",
            note=f"派至{decision.union.contact}（{decision.union.district}{decision.union.township or ''}）",
        )
    elif decision.route == KNOWLEDGE_BASE and decision.answer is not None and ticket.status == "accepted":
        # Answered on the spot from the knowledge base: one-call resolution, still called back later.
        transition(session, ticket, "replied", actor="system", note=f"知识库答复：{decision.answer.entry.question}")
    return decision


def link_before_deciding(
    session: Session, ticket: Ticket, understood: Understanding, data: RoutingData, now: datetime
) -> None:
    """Join the ticket to its case first: a second call about the same matter (多, `repeat`) is urgent, and the
    route is decided knowing it."""
    ticket.entities = dict(understood.entities)  # the same project or employer links tickets too
    link_related(session, ticket, window_days=data.case_window_days, now=now)
    if "repeat" in (ticket.urgency_flags or []) and "repeat" not in understood.urgency_flags:
        understood.urgency_flags = [*understood.urgency_flags, "repeat"]


def _flags(codes: list[str]) -> str:
    """1155 flags as a note says them: 人数众多、重复来电."""
    labels = urgency_flag_labels(default_taxonomy())
    return "、".join(labels.get(code, code) for code in codes)


def _subject(code: str) -> str:
    return default_taxonomy().label(code)


def caller_emergency(session: Session, ticket: Ticket, data: RoutingData, note: str) -> bool:
    """The caller chose the emergency (by key, or by saying it at a menu or in the problem): danger, supervisor now."""
    return to_supervisor_now(session, ticket, data, reason=CALLER_EMERGENCY, flags=["danger"], note=note)


def _merged(kept: list[str] | None, found: list[str]) -> list[str]:
    return list(dict.fromkeys([*(kept or []), *found]))


def to_supervisor_now(
    session: Session, ticket: Ticket, data: RoutingData, *, reason: str, flags: list[str], note: str
) -> bool:
    """The caller must reach a supervisor now (their own emergency, or an urgent flag found after routing): the
    ticket is marked urgent with `flags`, routed to the supervisor, an alert raised; `reason` is a stable code
    (a ticket event of that kind, once). True when this took the ticket there; False when it was there already
    (then only a new reason and flags are noted: no second alert)."""
    if any(e.kind == reason for e in ticket.events) and ticket.route == SUPERVISOR:
        return False  # a retried webhook, or a second flag: once is enough
    routed = ticket.routed_at is not None
    ticket.urgency_flags = _merged(ticket.urgency_flags, flags)
    ticket.handling_class = "urgent"
    add_event(session, ticket, reason, note)
    if routed and ticket.route == SUPERVISOR:
        return False  # with the supervisor already, alerted then: the reason is noted, no second alert
    if not routed:
        start_clock(ticket, data.sla)
    write_route(session, ticket, SUPERVISOR, f"紧急：{_flags(ticket.urgency_flags)}（{event_label(reason)}）")
    session.add(
        Alert(
            kind="urgent",
            ticket_id=ticket.id,
            message=f"{ticket.number} urgent ({', '.join(ticket.urgency_flags)}; {reason}): "
            f"{(ticket.summary or '')[:80]}",
        )
    )
    return True
