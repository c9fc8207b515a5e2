"""A person completes a ticket marked for a person (an operator's call, a caller who hung up before speaking):
what the caller said, the subject, consult or help, the 1155 flags; the ticket is then routed as a classified
ticket is (routing.decide), with who and when written down, and the "needs a person" mark cleared.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.orm import Session

from routing.classify import KINDS, Taxonomy
from routing.config import RoutingData
from routing.corrections import KIND_LABELS, urgency_flag_labels
from routing.decide import (
    LAWYER_QUEUE,
    RouteDecision,
    apply_decision,
    decide_route,
    link_before_deciding,
    write_route,
)
from routing.service import understand
from routing.sla_watch import OPEN_STATES
from routing.tables import Ticket
from routing.tickets import WordsFrom, add_event, local_time, write_caller_words

COMPLETED = "completed"  # the ticket event a person's completion writes (routing.corrections counts it as checked)
LAWYER_CALLBACK = "lawyer_callback"
SUMMARY_LIMIT = 4000


class CompletionError(ValueError):
    """A completion the ticket cannot take: the message is for the person who filled the form (Chinese), `code`
    for scripts; `conflict` when the ticket's state refuses it (not marked for a person, closed), not the input."""

    def __init__(self, message: str, code: str, *, conflict: bool = False) -> None:
        super().__init__(message)
        self.code, self.conflict = code, conflict


def complete_ticket(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    summary: str,
    subject: str,
    kind: str,
    urgency_flags: Sequence[str],
    taxonomy: Taxonomy,
    data: RoutingData,
    now: datetime,
    note: str = "",
) -> RouteDecision:
    """Write what a person made of the call on the ticket and route it on; returns the route it took.

    The person's subject, kind and flags stand; the classifier reads the words only for what a person does not
    set (the places, amounts and employer named, whether a question is a legal one). A caller who asked for a
    person has had one, so the ticket is routed by what it is, not back to the operators; a legal question whose
    caller is no longer on the line becomes a callback for the next lawyer on duty."""
    words = " ".join(summary.split())
    flags = _checked(ticket, words, subject, kind, urgency_flags, taxonomy)
    menu = None if ticket.menu_choice == "operator" else ticket.menu_choice
    understood = understand(menu, words, data.classifier)
    understood.subject, understood.kind, understood.urgency_flags = subject, kind, flags
    understood.handling_class = _handling_class(subject, kind, flags, understood.handling_class, taxonomy)
    understood.doubts = ()  # a person decided: nothing left for review
    by_person = {"source": "person", "words": [], "confidence": 1.0}
    understood.evidence = {
        **{k: v for k, v in understood.evidence.items() if not k.startswith("flag:")},
        "subject": {"value": subject, **by_person},
        "kind": {"value": kind, **by_person},
        "handling_class": {"value": understood.handling_class, **by_person},
    }
    write_caller_words(ticket, words, WordsFrom.PERSON)
    known = urgency_flag_labels(taxonomy)
    said = (
        f"人工补全：事项 {taxonomy.label(subject)}；性质 {KIND_LABELS[kind]}；"
        f"紧急标记 {'、'.join(known[f] for f in flags) or '无'}"
    )
    add_event(session, ticket, COMPLETED, said + (f"。{note.strip()}" if note.strip() else ""), actor=actor)
    link_before_deciding(session, ticket, understood, data, now)
    decision = apply_decision(session, ticket, understood, decide_route(menu, understood, words, data), data, now)
    if decision.route == LAWYER_QUEUE:
        decision = _to_lawyer_callback(session, ticket, data, now, actor)
    ticket.needs_human = False
    return decision


def _checked(
    ticket: Ticket, words: str, subject: str, kind: str, urgency_flags: Sequence[str], taxonomy: Taxonomy
) -> list[str]:
    """Refuse what cannot be completed; the flags in the taxonomy's order, each once."""
    if not ticket.needs_human:
        raise CompletionError(
            f"工单 {ticket.number} 没有标记为需人工处理：要改事项、性质或紧急标记，请用“更正”",
            "not_marked",
            conflict=True,
        )
    if ticket.status not in OPEN_STATES:
        raise CompletionError(f"工单 {ticket.number} 已办结，不能再补全", "closed", conflict=True)
    if not words:
        raise CompletionError("请填写来电人反映的问题", "empty_summary")
    if len(words) > SUMMARY_LIMIT:
        raise CompletionError(f"来电人反映的问题最多 {SUMMARY_LIMIT} 字", "too_long")
    if subject not in taxonomy.subjects:
        raise CompletionError(f"没有这个事项：{subject}，请从列表中选择", "unknown_subject")
    if kind not in KINDS:
        raise CompletionError("性质请选择“咨询”或“求助”", "unknown_kind")
    known = urgency_flag_labels(taxonomy)
    unknown = [f for f in urgency_flags if f not in known]
    if unknown:
        raise CompletionError(
            f"没有这个紧急标记：{'、'.join(unknown)}；可选：{'、'.join(known.values())}", "unknown_flag"
        )
    return [f for f in known if f in urgency_flags]


def _handling_class(subject: str, kind: str, flags: list[str], machine: str, taxonomy: Taxonomy) -> str:
    """Urgent with any flag, consult for a question; for help the machine's complex reading of the words stands,
    or the subject's own (the taxonomy's complex subjects)."""
    if flags:
        return "urgent"
    if kind == "consult":
        return "consult"
    if machine == "complex" or subject in taxonomy.complex_rules.get("subjects", []):
        return "complex"
    return "assist"


def _to_lawyer_callback(
    session: Session, ticket: Ticket, data: RoutingData, now: datetime, actor: str
) -> RouteDecision:
    """A legal question after the call: the next lawyer on duty calls the caller back (the lawyer's 待回电)."""
    start, lawyers = data.roster.next_on_duty(now, data.timezone)
    number = ticket.callback_number or ticket.caller_number
    ticket.callback_number, ticket.assigned_to = number, lawyers[0].id
    add_event(
        session,
        ticket,
        "callback_requested",
        f"法律咨询，来电人已挂断：由{lawyers[0].name}（{lawyers[0].id}）回电 {number}，"
        f"{local_time(start, data.timezone)} 起",
        actor=actor,
    )
    write_route(session, ticket, LAWYER_CALLBACK, "法律问题，来电人已不在线上")
    return RouteDecision(LAWYER_CALLBACK, [f"通话后确认为法律问题：由 {lawyers[0].id} 回电"])
