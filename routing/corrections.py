"""People check the machine: a ticket marked for review when the classifier doubts, and a person's correction of
its subject, kind and urgency flags (old, new, who, when), which `hotline classifier train --from-tickets` learns from.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from routing.classify import KINDS, Taxonomy
from routing.lifecycle import start_clock
from routing.sla import SlaPolicy
from routing.sla_watch import OPEN_STATES
from routing.tables import Alert, Ticket, TicketCorrection
from routing.tickets import add_event

CORRECTED_FIELDS = ("subject", "kind", "urgency_flags")

# The classifier's doubt codes (routing.classify: Classification.doubts) as a dispatcher reads them.
DOUBT_LABELS = {
    "no_words": "没有听到来电人的话，按菜单选择推定",
    "subject_unsure": "事项把握不大",
    "subject_close": "两个事项难以区分",
    "kind_unsure": "咨询还是求助把握不大",
    "urgency_by_sound": "紧急标记只凭读音相近的词（可能听错）",
    "urgency_unsure": "可能紧急，但没有标记",
    "urgency_by_model": "紧急标记来自模型判断，话里没有紧急词",
}
KIND_LABELS = {"consult": "咨询", "help": "求助"}
FIELD_LABELS = {"subject": "事项", "kind": "性质", "urgency_flags": "紧急标记"}


class CorrectionError(ValueError):
    """A correction that names a subject, kind or flag the taxonomy does not know, or changes nothing."""


@dataclass(frozen=True)
class Change:
    """One field a person changed: from what, to what."""

    field: str
    old: str | list[str] | None  # a list for urgency_flags, else a code
    new: str | list[str] | None


def urgency_flag_labels(taxonomy: Taxonomy) -> dict[str, str]:
    """The 1155 flags a person may set, code → label, in the taxonomy's order (the `urgency` entries that are
    flags; the section also holds settings such as `everyday_words`)."""
    return {
        code: spec.get("label", code)
        for code, spec in taxonomy.urgency.items()
        if isinstance(spec, dict) and "label" in spec
    }


def doubt_label(code: str) -> str:
    """The words for a doubt code; an unknown code still says that a person should look."""
    return DOUBT_LABELS.get(code, f"需人工确认（{code}）")


def mark_for_review(ticket: Ticket, doubts: Iterable[str]) -> None:
    """The one place a classification's doubts land on a ticket: marked for a person to confirm, or not."""
    codes = list(dict.fromkeys(doubts or ()))
    ticket.needs_review = bool(codes)
    ticket.review_reasons = codes or None


def checked_by_person(ticket: Ticket) -> bool:
    """Whether a person corrected, confirmed or completed what the machine understood of this ticket."""
    return any(e.kind in ("corrected", "review_confirmed", "completed") for e in ticket.events)


def handling_class_after(ticket: Ticket, taxonomy: Taxonomy) -> str:
    """The handling class the corrected fields imply: urgent with any flag, consult for a question, else the
    non-urgent class the ticket had (assist or complex)."""
    if ticket.urgency_flags:
        return "urgent"
    if ticket.kind == "consult":
        return "consult"
    if ticket.handling_class in ("urgent", "consult"):
        complex_subjects = taxonomy.complex_rules.get("subjects", [])
        return "complex" if ticket.subject in complex_subjects else "assist"
    return ticket.handling_class


def _codes(value: str | list[str] | None) -> list[str]:
    """The urgency flag codes of a changed value (a field other than urgency_flags has none)."""
    return value if isinstance(value, list) else []


def _say(field: str, value: str | list[str] | None, taxonomy: Taxonomy) -> str:
    if field == "subject":
        return taxonomy.label(value) if isinstance(value, str) and value else "无"
    if field == "kind":
        code = value if isinstance(value, str) else None
        return KIND_LABELS.get(code or "", code or "无")
    known = urgency_flag_labels(taxonomy)
    labels = [known.get(f, f) for f in (value or [])]
    return "、".join(labels) or "无"


def correct_ticket(
    session: Session,
    ticket: Ticket,
    *,
    actor: str,
    taxonomy: Taxonomy,
    now: datetime,
    subject: str | None = None,
    kind: str | None = None,
    urgency_flags: Sequence[str] | None = None,
    note: str = "",
    sla: SlaPolicy | None = None,
) -> list[Change]:
    """Write a person's correction: each changed field as a correction row and on the ticket, one ticket event,
    the review mark cleared; a newly added urgency flag alerts supervisors at once. Refuses unknown values and
    a correction that changes nothing (CorrectionError)."""
    if subject is not None and subject not in taxonomy.subjects:
        raise CorrectionError(f"没有这个事项：{subject}，请从列表中选择")
    if kind is not None and kind not in KINDS:
        raise CorrectionError(f"没有这个性质：{kind}，请选择“咨询”或“求助”")
    flags = None
    if urgency_flags is not None:
        known = urgency_flag_labels(taxonomy)
        unknown = [f for f in urgency_flags if f not in known]
        if unknown:
            raise CorrectionError(f"没有这个紧急标记：{'、'.join(unknown)}；可选：{'、'.join(known.values())}")
        flags = [f for f in known if f in urgency_flags]  # the taxonomy's order, each once
    wanted = {"subject": subject, "kind": kind, "urgency_flags": flags}
    changes = []
    for field in CORRECTED_FIELDS:
        new, old = wanted[field], getattr(ticket, field)
        if field == "urgency_flags" and new is not None:
            old = list(old or [])
            if set(new) == set(old):
                continue
        elif new is None or new == old:
            continue
        changes.append(Change(field, old, new))
    if not changes:
        raise CorrectionError(
            "没有要更正的：事项、性质和紧急标记都和现在一样（机器理解正确请点“确认无误”，"
            "即 POST .../review-confirmation）"
        )
    for change in changes:
        session.add(
            TicketCorrection(
                ticket_id=ticket.id, at=now, actor=actor, field=change.field, old_value=change.old, new_value=change.new
            )
        )
        setattr(ticket, change.field, change.new)
    was_class = ticket.handling_class
    ticket.handling_class = handling_class_after(ticket, taxonomy)
    if sla is not None and ticket.handling_class != was_class and ticket.status in OPEN_STATES:
        start_clock(ticket, sla)  # the deadlines of the class it really is
    said = "；".join(
        f"{FIELD_LABELS[c.field]}：{_say(c.field, c.old, taxonomy)} → {_say(c.field, c.new, taxonomy)}" for c in changes
    )
    add_event(session, ticket, "corrected", said + (f"。{note}" if note else ""), actor=actor)
    mark_for_review(ticket, ())
    added = [f for c in changes if c.field == "urgency_flags" for f in _codes(c.new) if f not in _codes(c.old)]
    if added:
        labels = "、".join(urgency_flag_labels(taxonomy).get(f, f) for f in added)
        words = (ticket.summary or "")[:80]
        session.add(
            Alert(
                kind="urgent",
                ticket_id=ticket.id,
                at=now,
                message=f"{ticket.number} urgent ({', '.join(added)}, marked by {actor}): {words}",
            )
        )
        add_event(session, ticket, "urgent", f"{actor} 标记为紧急（{labels}）：班长/主管处理", actor=actor)
    return changes


def confirm_ticket(session: Session, ticket: Ticket, *, actor: str, note: str = "") -> None:
    """A person looked at a ticket marked for review and found the machine right: the mark is cleared."""
    if not ticket.needs_review:
        raise CorrectionError(f"工单 {ticket.number} 没有标记为待人工确认")
    reasons = "、".join(doubt_label(c) for c in ticket.review_reasons or [])
    add_event(
        session, ticket, "review_confirmed", f"人工确认无误（{reasons}）" + (f"。{note}" if note else ""), actor=actor
    )
    mark_for_review(ticket, ())


def corrections_of(session: Session, ticket: Ticket) -> list[TicketCorrection]:
    """The ticket's corrections, oldest first."""
    return list(
        session.scalars(
            select(TicketCorrection).where(TicketCorrection.ticket_id == ticket.id).order_by(TicketCorrection.id)
        )
    )
