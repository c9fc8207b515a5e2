"""Routing a ticket from the caller's words: understand, decide, write it down — once per ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from routing.classifier_model import LinearTextModel
from routing.classify import Classification, classify
from routing.config import RoutingData
from routing.corrections import checked_by_person, mark_for_review
from routing.decide import (
    SUPERVISOR,
    URGENT_LATER,
    RouteDecision,
    apply_decision,
    decide_route,
    link_before_deciding,
    to_supervisor_now,
)
from routing.tables import Ticket
from routing.tickets import add_event


@dataclass
class _Understood:
    subject: str
    kind: str
    handling_class: str
    urgency_flags: list[str] = field(default_factory=list)
    entities: dict = field(default_factory=dict)
    evidence: dict = field(default_factory=dict)
    legal: bool = False
    doubts: tuple[str, ...] = ()  # the classifier's doubt codes: the ticket is marked for a person to confirm


def understand(menu_choice: str | None, text: str, model: LinearTextModel | None = None) -> _Understood:
    """What the classifier makes of the words, in the shape routing decisions read."""
    return understood_from(classify(menu_choice, text, model=model))


def understood_from(result: Classification) -> _Understood:
    """A classification in the shape routing decisions read (also for `hotline classify`, which shows both)."""
    data = result.to_dict()
    return _Understood(
        subject=result.subject,
        kind=result.kind,
        handling_class=result.handling_class,
        urgency_flags=list(result.flags),
        entities={k: v for k, v in data["entities"].items() if v not in (None, "", [])},
        evidence=data["evidence"],
        legal=result.legal,
        doubts=tuple(getattr(result, "doubts", ())),
    )


def is_routed(ticket: Ticket) -> bool:
    """True once a routing decision was written on the ticket."""
    return any(e.kind == "routed" for e in ticket.events)


def route_ticket(session: Session, ticket: Ticket, text: str, data: RoutingData, now: datetime) -> RouteDecision:
    """Decide where the ticket goes and write it down; a ticket already routed keeps its route."""
    understood = understand(ticket.menu_choice, text, data.classifier)
    ticket.summary = text
    if is_routed(ticket):
        return _update_routed(session, ticket, understood, data)
    why = "; ".join(
        f"{name}: {d['value']}" + (f" ({'、'.join(d['words'])})" if d.get("words") else "")
        for name, d in understood.evidence.items()
    )
    add_event(session, ticket, "classified", why or f"subject {understood.subject}, kind {understood.kind}")
    link_before_deciding(session, ticket, understood, data, now)
    decision = decide_route(ticket.menu_choice, understood, text, data)
    return apply_decision(session, ticket, understood, decision, data, now)


def _update_routed(session: Session, ticket: Ticket, understood: _Understood, data: RoutingData) -> RouteDecision:
    """Words that arrive after routing (the archive transcript) refine the ticket; new urgency alerts at once.
    A person's correction or confirmation stands: the machine's new reading does not undo it."""
    if not checked_by_person(ticket):
        ticket.subject, ticket.kind = understood.subject, understood.kind
        mark_for_review(ticket, understood.doubts)
    ticket.entities, ticket.evidence = dict(understood.entities), dict(understood.evidence)
    new_flags = [f for f in understood.urgency_flags if f not in (ticket.urgency_flags or [])]
    add_event(session, ticket, "reclassified", f"subject {understood.subject}, kind {understood.kind}")
    if new_flags and ticket.route == SUPERVISOR:
        ticket.urgency_flags = [*(ticket.urgency_flags or []), *new_flags]  # already with the supervisor
    elif new_flags:
        # The final route is the supervisor's: the ticket says so, and a caller still on the line is moved there
        # (recordings.pipeline asks the IVR to).
        to_supervisor_now(
            session,
            ticket,
            data,
            reason=URGENT_LATER,
            flags=new_flags,
            note=f"the caller's words show {', '.join(new_flags)}: a supervisor takes it",
        )
    decision = RouteDecision(ticket.route, ["already routed"])
    if ticket.union_id:
        decision.union = data.directory.get(ticket.union_id)
    return decision
