"""Routing a ticket from the caller's words: understand, decide, write it down — once per ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.orm import Session

from routing.classifier_model import LinearTextModel
from routing.classify import Classification, classify
from routing.config import RoutingData
from routing.decide import RouteDecision, apply_decision, decide_route
from routing.tables import Alert, Ticket
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
    why = "; ".join(f"{name}: {d['value']}" + (f" ({'、'.join(d['words'])})" if d.get("words") else "")
                    for name, d in understood.evidence.items())
    add_event(session, ticket, "classified", why or f"subject {understood.subject}, kind {understood.kind}")
    decision = decide_route(ticket.menu_choice, understood, text, data)
    apply_decision(session, ticket, understood, decision, data, now)
    return decision


def _update_routed(session: Session, ticket: Ticket, understood: _Understood, data: RoutingData) -> RouteDecision:
    """Words that arrive after routing (the archive transcript) refine the ticket; new urgency alerts at once."""
    ticket.subject, ticket.kind = understood.subject, understood.kind
    ticket.entities, ticket.evidence = dict(understood.entities), dict(understood.evidence)
    new_flags = [f for f in understood.urgency_flags if f not in (ticket.urgency_flags or [])]
    add_event(session, ticket, "reclassified", f"subject {understood.subject}, kind {understood.kind}")
    if new_flags:
        ticket.urgency_flags = [*(ticket.urgency_flags or []), *new_flags]
        ticket.handling_class = "urgent"
        add_event(session, ticket, "urgent", f"the caller's words show {', '.join(new_flags)}: a supervisor takes it")
        session.add(Alert(kind="urgent", ticket_id=ticket.id,
                          message=f"{ticket.number} urgent ({', '.join(ticket.urgency_flags)}): {ticket.summary[:80]}"))
    decision = RouteDecision(ticket.route, ["already routed"])
    if ticket.union_id:
        decision.union = data.directory.get(ticket.union_id)
    return decision
