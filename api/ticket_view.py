"""A ticket as people and scripts see it: its fields, the caller's words, its recordings and history.

The keys are a contract (`hotline tickets show --json`, `GET /api/tickets/{number}`): add, never rename.
`api.responses.tickets.TicketView` declares them for the API's description: a key added here is added there too.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from recordings.pipeline import STATUS_LABELS as RECORDING_STATUS_LABELS
from recordings.tables import Call, Recording, Transcript
from routing.classify import default_taxonomy
from routing.corrections import KIND_LABELS, corrections_of, doubt_label, urgency_flag_labels
from routing.decide import route_label
from routing.entities import ENTITY_LABELS
from routing.lifecycle import STATE_LABELS, actor_label, event_label
from routing.survey import RESULT_LABELS
from routing.tables import Ticket
from staff.access import NOTE_READERS
from staff.roles import masked_for, phone_for


def ticket_view(session: Session, ticket: Ticket, *, viewer_role: str | None = None, viewer: str | None = None) -> dict:
    """Everything about one ticket, as plain JSON-ready data; callers' numbers as `viewer_role` may see them,
    in every field and every note (None: the command line, run by whoever runs the service, sees them whole).

    A consultation note (event kind `note`) is shown only to the staff member `viewer` who wrote it and to the
    roles in NOTE_READERS."""

    def phone(number: str | None) -> str | None:
        return phone_for(viewer_role, number) if viewer_role else number

    call = session.get(Call, ticket.call_id) if ticket.call_id else None
    recordings = []
    problem_text = ""
    transcript_status = "none"
    if call is not None:
        for rec in session.scalars(select(Recording).where(Recording.call_id == call.id).order_by(Recording.id)):
            texts = session.scalars(
                select(Transcript).where(Transcript.recording_id == rec.id).order_by(Transcript.channel)
            ).all()
            recordings.append(
                {
                    "recording_sid": rec.recording_sid,
                    "source": rec.source,
                    "status": rec.status,
                    "path": rec.path,
                    "sha256": rec.sha256,
                    "duration_s": rec.duration_s,
                    "channels": rec.channels,
                    "error": rec.error,
                    "transcripts": [{"channel": t.channel, "text": t.text, "model": t.model} for t in texts],
                }
            )
            if rec.source == "problem":
                transcript_status = rec.status
                problem_text = " ".join(t.text for t in texts if t.text)
    view = {
        "number": ticket.number,
        "status": ticket.status,
        "subject": ticket.subject,
        "handling_class": ticket.handling_class,
        "route": ticket.route,
        "menu_choice": ticket.menu_choice,
        "needs_human": ticket.needs_human,
        "needs_human_reason": ticket.needs_human_reason,
        "needs_human_codes": list(ticket.needs_human_codes or []),
        "caller_number": phone(ticket.caller_number),
        "call_sid": call.call_sid if call else None,
        "created_at": ticket.created_at.isoformat(),
        "summary": ticket.summary,
        "kind": ticket.kind,
        "urgency_flags": list(ticket.urgency_flags or []),
        "entities": ticket.entities or {},
        "evidence": ticket.evidence or {},
        "case_id": ticket.case_id,
        "district": ticket.district,
        "union_id": ticket.union_id,
        "assigned_to": ticket.assigned_to,
        "callback_number": phone(ticket.callback_number),
        "satisfaction": ticket.satisfaction,
        "dispatch_due_at": _iso(ticket.dispatch_due_at),
        "reply_due_at": _iso(ticket.reply_due_at),
        "extensions": ticket.extensions,
        "closed_at": _iso(ticket.closed_at),
        "recovered_amount": ticket.recovered_amount,
        "transcript": problem_text,
        "transcript_status": transcript_status,
        "recordings": recordings,
        "events": [
            {
                "at": e.at.isoformat(),
                "actor": e.actor,
                "actor_label": actor_label(e.actor),
                "kind": e.kind,
                "kind_label": event_label(e.kind),
                "note": e.note,
            }
            for e in ticket.events
            if e.kind != "note" or viewer_role is None or viewer_role in NOTE_READERS or e.actor == viewer
        ],
        # Marked for a person to confirm when the classifier doubted (codes, and the words a dispatcher reads).
        "needs_review": bool(ticket.needs_review),
        "review_reasons": list(ticket.review_reasons or []),
        "review_reason_labels": [doubt_label(c) for c in ticket.review_reasons or []],
        "confidence": {name: (ticket.evidence or {}).get(name, {}).get("confidence") for name in ("subject", "kind")},
        "corrections": [
            {"at": c.at.isoformat(), "actor": c.actor, "field": c.field, "old": c.old_value, "new": c.new_value}
            for c in corrections_of(session, ticket)
        ],
    }
    view.update(code_labels(ticket))
    view["transcript_status_label"] = RECORDING_STATUS_LABELS.get(transcript_status, transcript_status)
    # Numbers anywhere else (an event note "同一来电人 +86…", the caller's words) as the role may see them.
    return masked_for(viewer_role, view) if viewer_role else view


def code_labels(ticket: Ticket) -> dict:
    """The words staff read for a ticket's codes, as `*_label` fields next to them (the codes stay)."""
    taxonomy = default_taxonomy()
    flags = urgency_flag_labels(taxonomy)
    return {
        "status_label": STATE_LABELS.get(ticket.status, ticket.status),
        "subject_label": taxonomy.label(ticket.subject) if ticket.subject else "未分类",
        "handling_class_label": taxonomy.handling_classes.get(
            ticket.handling_class or "", ticket.handling_class or "未分类"
        ),
        "kind_label": KIND_LABELS.get(ticket.kind or "", ticket.kind or "未分类"),
        "route_label": route_label(ticket.route),
        "urgency_flag_labels": [flags.get(f, f) for f in ticket.urgency_flags or []],
        "entity_labels": {name: ENTITY_LABELS.get(name, name) for name in ticket.entities or {}},
        "satisfaction_label": RESULT_LABELS.get(ticket.satisfaction or "", ticket.satisfaction),
    }


def _iso(moment) -> str | None:
    return moment.isoformat() if moment else None


def find_ticket(session: Session, number: str) -> Ticket | None:
    """A ticket by its number."""
    return session.scalar(select(Ticket).where(Ticket.number == number))


def ticket_of_call(session: Session, call_sid: str) -> Ticket | None:
    """The ticket opened from a call, by the call's CallSid."""
    return session.scalar(select(Ticket).join(Call, Ticket.call_id == Call.id).where(Call.call_sid == call_sid))
