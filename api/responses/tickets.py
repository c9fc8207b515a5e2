"""Tickets, cases and calls as the API answers them (`api/ticket_view.py` builds them)."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.responses.base import Answer, Number, UtcTime, code, label


class CodeLabels(Answer):
    """The words staff read for a ticket's codes, next to the codes (`api.ticket_view.code_labels`)."""

    status_label: str = Field(description=label("the state"))
    subject_label: str = Field(description=label("the subject; 未分类 when none"))
    handling_class_label: str = Field(description=label("the handling class"))
    kind_label: str = Field(description=label("consult (咨询) or help (求助)"))
    route_label: str = Field(description=label("where the ticket was routed"))
    urgency_flag_labels: list[str] = Field(description=label("the urgency flags, in the order of urgency_flags"))
    entity_labels: dict[str, str] = Field(description="entity name → its Chinese label, for each key of entities")
    satisfaction_label: str | None = Field(description=label("the latest survey's answer (null: none)"))


class TranscriptText(Answer):
    """One channel's transcript of a recording."""

    channel: int | None = Field(description="0 the caller, 1 the staff member; null for a mono recording")
    text: str
    model: str = Field(description="the recognizer that wrote it; `live:` models are the live call's")


class TicketRecording(Answer):
    """A recording of the ticket's call, with its transcripts."""

    recording_sid: str
    source: str = Field(description=code("problem (the caller's message) or call (the whole call)"))
    status: str = Field(description=code("pending, downloading, stored, transcribed, failed"))
    path: str | None = Field(description="where it is stored, relative to the recordings folder")
    sha256: str | None
    duration_s: Number | None
    channels: int | None
    error: str | None = Field(description="why downloading or transcribing failed")
    transcripts: list[TranscriptText]


class TicketEvent(Answer):
    """One step of the ticket's history (a consultation note only to its writer and NOTE_READERS)."""

    at: UtcTime
    actor: str = Field(description="a username, `system`, or `union:<id>`")
    actor_label: str = Field(description=label("who acted"))
    kind: str = Field(description=code("the event kind, e.g. dispatched, note"))
    kind_label: str = Field(description=label("the event kind"))
    note: str


class Correction(Answer):
    """A person's correction of what the machine understood."""

    at: UtcTime
    actor: str
    field: str = Field(description="subject, kind or urgency_flags")
    old: str | list[str] | None = Field(description="the value before (a list for urgency_flags)")
    new: str | list[str] | None = Field(description="the value after")


class TicketView(CodeLabels):
    """Everything about one ticket: its codes with their labels, the caller's words, recordings and history.
    Callers' numbers are masked for the roles that may not see them whole."""

    number: str = Field(description="12351-YYYYMMDD-NNNN")
    status: str = Field(description=code("the closed-loop state: accepted, dispatched, ... archived"))
    subject: str | None = Field(description=code("the taxonomy subject"))
    handling_class: str | None = Field(description=code("the handling class, which sets the deadlines"))
    route: str | None = Field(description=code("where routing sent it, e.g. local_union, lawyer_callback"))
    menu_choice: str | None = Field(description="the voice menu option the caller chose")
    needs_human: bool = Field(description="true: marked for a person (an operator completes it)")
    needs_human_reason: str | None = Field(description="why, in sentences for people")
    needs_human_codes: list[str] = Field(description="why, as stable codes")
    caller_number: str | None = Field(description="masked for the roles that may not see it whole")
    call_sid: str | None = Field(description="the Twilio CallSid of the call it came from (null: made by hand)")
    created_at: UtcTime
    summary: str | None = Field(description="what the caller said (来电人反映的问题)")
    kind: str | None = Field(description=code("consult (咨询) or help (求助)"))
    urgency_flags: list[str] = Field(description=code("the 1155 flags: danger, mass, repeat, large, hidden"))
    entities: dict[str, Any] = Field(description="what the classifier found in the words: employer, district, ...")
    evidence: dict[str, Any] = Field(description="why the classifier decided so, per decision")
    case_id: int | None = Field(description="the case it is handled in with other tickets (GET /api/cases/{id})")
    district: str | None
    union_id: str | None = Field(description="the local union it was dispatched to (an id in GET /api/unions)")
    assigned_to: str | None = Field(description="a union id, a lawyer's roster seat, or a username")
    callback_number: str | None
    satisfaction: str | None = Field(description=code("the latest satisfaction survey's answer"))
    dispatch_due_at: UtcTime | None
    reply_due_at: UtcTime | None
    extensions: int = Field(description="how many times the reply deadline was extended (延期)")
    closed_at: UtcTime | None
    recovered_amount: Number | None = Field(description="money recovered for the workers, in yuan")
    transcript: str = Field(description="the caller's recorded problem, transcribed ('' until then)")
    transcript_status: str = Field(description=code("that recording's status, or none"))
    transcript_status_label: str = Field(description=label("that recording's status"))
    recordings: list[TicketRecording]
    events: list[TicketEvent] = Field(description="the history, oldest first")
    needs_review: bool = Field(description="true: the classifier doubted, a person should confirm")
    review_reasons: list[str] = Field(description=code("why it doubted"))
    review_reason_labels: list[str] = Field(description=label("why it doubted"))
    confidence: dict[str, Number | None] = Field(description="the classifier's confidence in subject and kind")
    corrections: list[Correction]


class TicketDetail(TicketView):
    """One ticket as GET /api/tickets/{number} shows it: with the union's name."""

    union_name: str | None = Field(description="the union dispatched to, as staff read it (union_id stays)")


class NextState(Answer):
    """A state the ticket may move to now."""

    state: str = Field(description=code("the state"))
    label: str = Field(description=label("the state"))


class TicketOptions(Answer):
    """What may be done with a ticket now."""

    number: str
    status: str = Field(description=code("the state now"))
    next_states: list[NextState]
    can_dispatch: bool
    can_extend: bool = Field(description="open and with a reply deadline: it may be extended")
    named_places: list[str] = Field(description="the places the caller named, in their words")
    named_unions: list[str] = Field(description="unions of those places: ids in GET /api/unions, in directory order")


class CaseView(Answer):
    """A case: tickets about one employer or project, handled as one."""

    id: int
    employer: str | None
    project: str | None
    created_at: UtcTime
    tickets: list[TicketView]


class CallEvent(Answer):
    """One thing that happened during a call."""

    at: UtcTime
    kind: str = Field(description=code("the call event kind"))
    kind_label: str = Field(description=label("the call event kind"))
    detail: dict[str, Any] | None = Field(description="the event's data (numbers masked for masked roles)")


class CallView(Answer):
    """A call, its events and its ticket."""

    call_sid: str
    from_: str | None = Field(alias="from", description="the caller's number, masked for masked roles")
    status: str = Field(description="Twilio's call status, e.g. in-progress, completed")
    menu_choice: str | None
    started_at: UtcTime
    ended_at: UtcTime | None
    events: list[CallEvent]
    handler: str | None = Field(description="who handled the call: a username or a lawyer's roster seat")
    handler_role: str | None = Field(description=code("the handler's role: operator, lawyer, supervisor"))
    ticket: TicketView | None
