"""Routing a ticket from the caller's words: understand, decide, write it down — once per ticket."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from routing.classifier_model import LinearTextModel
from routing.classify import Classification, classify, default_taxonomy
from routing.config import RoutingData
from routing.corrections import KIND_LABELS, checked_by_person, mark_for_review, urgency_flag_labels
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
from routing.tickets import WordsFrom, add_event, write_caller_words


@dataclass
class _Understood:
    subject: str
    kind: str
    handling_class: str
    urgency_flags: list[str] = field(default_factory=list)
    entities: dict[str, Any] = field(default_factory=dict)
    evidence: dict[str, Any] = field(default_factory=dict)
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


def _understood(understood: _Understood) -> str:
    """What the machine understood, as a ticket event's note says it: 事项：欠薪（拖欠、工资）；性质：求助；…"""
    taxonomy = default_taxonomy()

    def words(name: str) -> str:
        found = (understood.evidence.get(name) or {}).get("words") or []
        return f"（{'、'.join(found)}）" if found else ""

    parts = [
        f"事项：{taxonomy.label(understood.subject)}{words('subject')}",
        f"性质：{KIND_LABELS.get(understood.kind, understood.kind)}{words('kind')}",
        f"类别：{taxonomy.handling_classes.get(understood.handling_class, understood.handling_class)}",
    ]
    if understood.urgency_flags:
        labels = urgency_flag_labels(taxonomy)
        parts.append("紧急：" + "、".join(labels.get(f, f) + words(f"flag:{f}") for f in understood.urgency_flags))
    return "；".join(parts)


def is_routed(ticket: Ticket) -> bool:
    """True once a routing decision was written on the ticket (routing.decide.write_route)."""
    return ticket.routed_at is not None


def route_ticket(
    session: Session, ticket: Ticket, text: str, data: RoutingData, now: datetime, words_from: WordsFrom
) -> RouteDecision:
    """Decide where the ticket goes and write it down; a ticket already routed keeps its route. `text` becomes
    the ticket's text (unless a person wrote it already: theirs stands)."""
    understood = understand(ticket.menu_choice, text, data.classifier)
    write_caller_words(ticket, text, words_from)
    if is_routed(ticket):
        return _update_routed(session, ticket, understood, data)
    add_event(session, ticket, "classified", _understood(understood))
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
    add_event(session, ticket, "reclassified", _understood(understood))
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
            note=f"来电人的话显示{'、'.join(urgency_flag_labels(default_taxonomy()).get(f, f) for f in new_flags)}："
            "转班长/主管处理",
        )
    decision = RouteDecision(ticket.route, ["already routed"])
    if ticket.union_id:
        decision.union = data.directory.get(ticket.union_id)
    return decision
