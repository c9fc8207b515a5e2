"""Seats, the queue, the duty roster, the union directory and the lawyer seat console, as the API answers them."""

from __future__ import annotations

from typing import Any

from pydantic import Field

from api.responses.base import Answer, Number, UtcTime, code, label
from api.responses.tickets import CodeLabels


class DutyHours(Answer):
    """The lawyers' duty hours, local time."""

    start: str = Field(description="HH:MM, the hotline's local time")
    end: str = Field(description="HH:MM, the hotline's local time")


class RosterPerson(Answer):
    """A lawyer on the duty roster."""

    id: str = Field(description="the roster seat, e.g. L01")
    name: str
    phone: str


class Roster(Answer):
    """Who is on duty on a day, and the week's rotation."""

    date: str = Field(description="the local day asked for, YYYY-MM-DD")
    hours: DutyHours
    on_duty: list[RosterPerson] = Field(description="the lawyers on duty that day")
    weekly: dict[str, list[str]] = Field(description="weekday (mon … sun) → the roster seats on duty")
    lawyers: list[RosterPerson]


class LawyerNow(RosterPerson):
    """A lawyer on duty now, and their seat."""

    signed_in: bool
    on_call_sid: str | None = Field(description="the call they are on (null: none)")
    free: bool = Field(description="signed in, on duty and not on a call: may take the next caller")


class SeatSignedIn(Answer):
    """A lawyer's seat after signing in or out."""

    lawyer_id: str
    signed_in: bool


class Waiting(Answer):
    """A caller waiting for a lawyer."""

    position: int = Field(description="1: the next to be taken")
    call_sid: str
    waited_s: int = Field(description="seconds waited so far")


class Queue(Answer):
    """Callers waiting for a lawyer, in order."""

    waiting: list[Waiting]
    avg_wait_s: Number | None = Field(description="the average wait of callers taken lately, in seconds")


class Taken(Answer):
    """The caller a lawyer took from the queue (their call is now put through to the lawyer's phone)."""

    call_sid: str
    lawyer_id: str
    waited_s: Number | None = Field(description="how long the caller waited, in seconds")


class OperatorSeat(Answer):
    """An operator's seat: taking calls or not, on a call or free."""

    username: str
    name: str
    phone: str | None = Field(description="the phone their calls ring (null: none registered)")
    signed_in: bool
    on_call_sid: str | None
    free: bool = Field(description="signed in, with a phone, not on a call")
    since: UtcTime | None = Field(description="when they signed in or were last freed (idle since, when free)")


class UnionEntry(Answer):
    """A local union that receives tickets."""

    id: str
    district: str
    township: str | None = Field(description="the township (street) within the district; null: the district's")
    contact: str = Field(description="the union's name as staff read it")
    phone: str
    aliases: list[str] = Field(description="other names callers use for its place")


class Unions(Answer):
    """The union directory used for territorial dispatch."""

    city: str
    unions: list[UnionEntry]


class SeatState(Answer):
    """My lawyer seat: on duty now, signed in, on a call."""

    lawyer_id: str
    name: str
    on_duty: bool
    signed_in: bool
    on_call_sid: str | None
    hours: DutyHours


class CallTranscript(Answer):
    """A transcript of the caller's call: live ones while the caller speaks, then the batch transcript."""

    recording_sid: str
    source: str = Field(description=code("problem or call"))
    channel: int | None
    text: str
    live: bool = Field(description="true: written live (a `live:` model), replaced by the batch one later")
    model: str
    words: int = Field(description="how many words the recognizer timed")


class LiveSpeech(Answer):
    """What the live recognizer heard while the caller spoke."""

    at: UtcTime
    kind: str = Field(description="speech_partial or speech_final")
    text: str


class TicketBrief(CodeLabels):
    """A ticket in a few fields, with the words the console shows for its codes."""

    number: str
    created_at: UtcTime
    status: str = Field(description=code("the state"))
    subject: str | None = Field(description=code("the taxonomy subject"))
    kind: str | None = Field(description=code("consult or help"))
    route: str | None = Field(description=code("the route"))
    summary: str | None
    assigned_to: str | None


class Classification(Answer):
    """What the classifier made of the caller's words."""

    subject_label: str = Field(description=label("the subject"))
    kind_label: str = Field(description=label("consult or help"))
    handling_class_label: str = Field(description=label("the handling class"))
    urgency_flag_labels: list[str]
    entity_labels: dict[str, str]
    subject: str | None
    kind: str | None
    handling_class: str | None
    urgency_flags: list[str]
    entities: dict[str, Any]
    evidence: dict[str, Any]


class ClassifiedTicket(TicketBrief):
    """The caller's ticket, with its classification."""

    classification: Classification


class SeatTicket(ClassifiedTicket):
    """The ticket of my caller's call, made now or found."""

    created: bool = Field(description="false: the call already had this ticket (nothing changed)")


class Note(Answer):
    """A consultation note (each lawyer reads their own; supervisors and admins all)."""

    at: UtcTime
    actor: str
    text: str


class Caller(Answer):
    """My current (or last) caller."""

    call_sid: str
    live: bool = Field(description="true: on the call now; false: the last call, within two hours")
    caller: str | None = Field(description="the caller's number: whole for lawyers (they call back)")
    started_at: UtcTime
    ended_at: UtcTime | None
    menu_choice: str | None
    transcripts: list[CallTranscript]
    live_speech: list[LiveSpeech]
    ticket: ClassifiedTicket | None
    notes: list[Note]
    history: list[TicketBrief] = Field(description="the caller's earlier tickets, newest first")


class CurrentCaller(Answer):
    """My current (or last) caller, or none."""

    call: Caller | None


class NoteAdded(Answer):
    """The ticket's notes after adding one."""

    ticket: str = Field(description="the ticket's number")
    notes: list[Note]


class CallbackAttempt(Answer):
    """One call back to the caller."""

    at: UtcTime
    actor: str
    reached: bool
    note: str


class Callback(TicketBrief):
    """A lawyer-callback ticket: whom to call, by when, and each call back so far."""

    callback_number: str | None
    reply_due_at: UtcTime | None
    attempts: list[CallbackAttempt]
    reached: bool = Field(description="true: some call back reached the caller")
