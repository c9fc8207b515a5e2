"""Where a ticket goes: lawyer seats, a supervisor at once, a local union, the dispatcher, or the knowledge base.

One function decides, from the caller's menu choice and what was understood of their words, and writes the
decision and its reasons on the ticket. Nothing is guessed: an unclear place goes to the dispatcher.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from sqlalchemy.orm import Session

from routing.cases import link_related
from routing.config import RoutingData
from routing.corrections import mark_for_review
from routing.directory import Union
from routing.knowledge import KnowledgeMatch
from routing.lifecycle import start_clock, transition
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
# Why a ticket went to the supervisor out of the usual order (ticket event kinds; stable codes).
CALLER_EMERGENCY = "caller_emergency"  # the caller pressed or said the emergency choice
URGENT_LATER = "urgent_later"  # an urgent flag found after the first route (the recording's transcript, say)


class Understanding(Protocol):
    """What the classifier made of the caller's words (routing.classify produces it)."""

    subject: str
    kind: str
    handling_class: str
    urgency_flags: list[str]
    entities: dict
    evidence: dict
    legal: bool


@dataclass
class RouteDecision:
    """The route, the union or answer it found, and why, in words a dispatcher reads."""

    route: str
    reasons: list[str] = field(default_factory=list)
    union: Union | None = None
    answer: KnowledgeMatch | None = None


def decide_route(menu_choice: str | None, understood: Understanding, text: str, data: RoutingData) -> RouteDecision:
    """Urgent first; then what the caller asked for by key; then the subject's own path."""
    if understood.urgency_flags:
        return RouteDecision(SUPERVISOR, [f"urgent: {', '.join(understood.urgency_flags)}"])
    if menu_choice == "operator":
        return RouteDecision(OPERATOR, ["the caller asked for a person"])
    if menu_choice == "legal" or (understood.kind == "consult" and understood.legal):
        why = "pressed 1 for legal consultation" if menu_choice == "legal" else f"legal question ({understood.subject})"
        return RouteDecision(LAWYER_QUEUE, [why])
    if understood.kind == "consult" or menu_choice == "policy":
        answer = data.knowledge.best(text)
        if answer is not None:
            return RouteDecision(
                KNOWLEDGE_BASE, [f"answered by {answer.entry.id} (words: {', '.join(answer.words)})"], answer=answer
            )
        if menu_choice == "policy":
            return RouteDecision(OPERATOR, ["policy question without an answer in the knowledge base"])
    place = data.directory.match(text, understood.entities.get("district"))
    if place.union is not None:
        return RouteDecision(
            LOCAL_UNION, [f"place: {', '.join(place.words)} → {place.union.contact}"], union=place.union
        )
    if place.ambiguous:
        names = "、".join(f"{u.district}{u.township or ''}" for u in place.candidates)
        return RouteDecision(DISPATCHER, [f"several places named ({names}): a dispatcher decides"])
    return RouteDecision(DISPATCHER, ["no district or township named: ask the caller, or a dispatcher decides"])


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
        decision = RouteDecision(SUPERVISOR, [f"urgent: {', '.join(ticket.urgency_flags)}"])
    ticket.handling_class = "urgent" if ticket.urgency_flags else understood.handling_class
    ticket.route = decision.route
    start_clock(ticket, data.sla)
    add_event(session, ticket, "routed", f"{decision.route}: {'; '.join(decision.reasons)}")
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
            note=f"to {decision.union.contact} ({decision.union.district}{decision.union.township or ''})",
        )
    elif decision.route == KNOWLEDGE_BASE and decision.answer is not None and ticket.status == "accepted":
        # Answered on the spot from the knowledge base: one-call resolution, still called back later.
        transition(session, ticket, "replied", actor="system", note=f"answered from {decision.answer.entry.id}")
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
    routed = any(e.kind == "routed" for e in ticket.events)
    ticket.urgency_flags = _merged(ticket.urgency_flags, flags)
    ticket.handling_class = "urgent"
    add_event(session, ticket, reason, note)
    if routed and ticket.route == SUPERVISOR:
        return False  # with the supervisor already, alerted then: the reason is noted, no second alert
    ticket.route = SUPERVISOR
    if not routed:
        start_clock(ticket, data.sla)
    add_event(session, ticket, "routed", f"{SUPERVISOR}: urgent: {', '.join(ticket.urgency_flags)} ({reason})")
    session.add(
        Alert(
            kind="urgent",
            ticket_id=ticket.id,
            message=f"{ticket.number} urgent ({', '.join(ticket.urgency_flags)}; {reason}): "
            f"{(ticket.summary or '')[:80]}",
        )
    )
    return True
