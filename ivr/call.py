"""The state of each call and what each Twilio request does to it; every function returns the TwiML to play.

These run inside webhooks, so they only touch the database and queue jobs: nothing slow. Each is safe
when Twilio retries the same request: the call, its recordings and its ticket exist once.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db import utcnow
from hotline.jobs import enqueue
from ivr.flow import Flow, Step
from ivr.twiml import (
    RECORDING_STATUS_PATH,
    menu_outcome,
    render_hangup,
    render_step,
    spoken_digits,
)
from recordings.calls import add_call_event, find_call, record_call
from recordings.pipeline import FETCH_RECORDING, FAILED, PENDING, START_CALL_RECORDING
from recordings.tables import Call, Recording
from routing.tickets import flag_for_person, open_ticket_for_call, ticket_for_call

ENDED_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}


@dataclass(frozen=True)
class CallDesk:
    """What the call handlers need besides the database: the flow, the local timezone, our public base URL."""

    flow: Flow
    timezone: str
    base_url: str


def answer(session: Session, desk: CallDesk, form: dict[str, str]) -> str:
    """A call comes in: note it once, start the full-call recording, play the first step."""
    call, is_new = record_call(session, form["CallSid"], form.get("From", ""), form.get("To", ""))
    if is_new:
        add_call_event(session, call, "answered", caller=form.get("From", ""))
        enqueue(
            session,
            START_CALL_RECORDING,
            f"call-recording:{call.call_sid}",
            {"call_sid": call.call_sid, "callback_url": desk.base_url + RECORDING_STATUS_PATH},
        )
    return play(session, desk, call, desk.flow.step(desk.flow.start))


def play(session: Session, desk: CallDesk, call: Call, step: Step, attempt: int = 1) -> str:
    """The TwiML of a step, with the call's ticket number at hand for prompts that read it out."""
    context = {"ticket_digits": ""}
    ticket = ticket_for_call(session, call.id)
    if ticket is not None:
        context["ticket_digits"] = spoken_digits(ticket.number)
    add_call_event(session, call, "step", step=step.name, attempt=attempt)
    return render_step(desk.flow, step, attempt=attempt, context=context)


def goto(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> str:
    """Play a named step (a `<Redirect>` or a REST redirect of the live call lands here)."""
    call = _known_call(session, form)
    return play(session, desk, call, desk.flow.step(step_name))


def menu_keys(session: Session, desk: CallDesk, form: dict[str, str], step_name: str, attempt: int) -> str:
    """The caller pressed a key (or nothing): go on, ask again, or hand over to `on_fail`."""
    call = _known_call(session, form)
    step = desk.flow.step(step_name)
    digits = form.get("Digits", "")
    outcome = menu_outcome(step, digits, attempt)
    add_call_event(session, call, "menu_input", step=step.name, digits=digits, attempt=attempt,
                   choice=outcome.choice)
    if outcome.retry:
        return play(session, desk, call, step, attempt + 1)
    if outcome.choice is not None:
        call.menu_choice = outcome.choice
    elif call.menu_choice is None:
        # No valid key after every try: the caller goes to a person, which counts as choosing one.
        call.menu_choice = "operator"
        add_call_event(session, call, "menu_failed", step=step.name)
    return play(session, desk, call, desk.flow.step(outcome.next_step))


def recorded(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> str:
    """The caller finished describing the problem (or hung up): open the ticket, read its number."""
    call = _known_call(session, form)
    step = desk.flow.step(step_name)
    recording_sid = form.get("RecordingSid")
    reason = None if recording_sid else "the caller left no recording: call them back"
    ticket = open_ticket_for_call(session, call_id=call.id, caller_number=call.from_number,
                                  menu_choice=call.menu_choice, timezone=desk.timezone,
                                  needs_human_reason=reason)
    if recording_sid:
        _note_recording(session, call, recording_sid, "problem", form.get("RecordingUrl", ""))
    hung_up = form.get("Digits") == "hangup"
    add_call_event(session, call, "problem_recorded", recording_sid=recording_sid, ticket=ticket.number,
                   duration=form.get("RecordingDuration"), hung_up=hung_up)
    if hung_up or step.next is None:
        return render_hangup()  # Twilio ignores TwiML after a hang-up; the ticket is made all the same
    return play(session, desk, call, desk.flow.step(step.next))


def dialled(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> str:
    """A `<Dial>` ended: a conversation took place, or nobody answered and the flow goes on."""
    call = _known_call(session, form)
    step = desk.flow.step(step_name)
    status = form.get("DialCallStatus", "")
    add_call_event(session, call, "dial_ended", step=step.name, status=status,
                   duration=form.get("DialCallDuration"))
    if status == "completed" or step.next is None:
        return render_hangup()
    return play(session, desk, call, desk.flow.step(step.next))


def recording_status(session: Session, form: dict[str, str]) -> bool:
    """A recording is finished (or absent): queue its download once. True when a job was queued."""
    call = find_call(session, form.get("CallSid", ""))
    sid = form.get("RecordingSid", "")
    if call is None or not sid:
        return False
    source = "problem" if form.get("RecordingSource", "RecordVerb") == "RecordVerb" else "call"
    recording = _note_recording(session, call, sid, source, form.get("RecordingUrl", ""))
    status = form.get("RecordingStatus", "completed")
    if status != "completed":
        if recording.status == PENDING:
            recording.status, recording.error = FAILED, f"Twilio reports the recording {status}"
            add_call_event(session, call, "recording_failed", recording_sid=sid, error=recording.error)
            ticket = ticket_for_call(session, call.id)
            if ticket is not None and source == "problem":
                flag_for_person(session, ticket, f"recording {sid}: Twilio reports it {status}")
        return False
    return enqueue(session, FETCH_RECORDING, f"fetch:{sid}", {"recording_sid": sid})


def call_status(session: Session, desk: CallDesk, form: dict[str, str]) -> None:
    """The call ended: note how, and make sure a caller who chose a service has a ticket."""
    call = find_call(session, form.get("CallSid", ""))
    status = form.get("CallStatus", "")
    if call is None or status not in ENDED_STATUSES or call.ended_at is not None:
        return
    call.status, call.ended_at = status, utcnow()
    if form.get("CallDuration", "").isdigit():
        call.duration_s = int(form["CallDuration"])
    add_call_event(session, call, "ended", status=status, duration=call.duration_s)
    if call.menu_choice is None or ticket_for_call(session, call.id) is not None:
        return
    if call.menu_choice == "operator":
        reason = "the caller was put through to an operator: complete this ticket from the conversation"
    else:
        reason = "the caller hung up before describing the problem: call them back"
    open_ticket_for_call(session, call_id=call.id, caller_number=call.from_number, menu_choice=call.menu_choice,
                         timezone=desk.timezone, needs_human_reason=reason)


def _known_call(session: Session, form: dict[str, str]) -> Call:
    """The call of a mid-call request; one we never saw answered (a lost first webhook) is recorded now."""
    call, is_new = record_call(session, form.get("CallSid", ""), form.get("From", ""), form.get("To", ""))
    if is_new:
        add_call_event(session, call, "answered", caller=form.get("From", ""), late=True)
    return call


def _note_recording(session: Session, call: Call, sid: str, source: str, url: str) -> Recording:
    recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
    if recording is None:
        recording = Recording(recording_sid=sid, call_id=call.id, source=source, source_url=url)
        try:
            with session.begin_nested():
                session.add(recording)
                session.flush()
        except IntegrityError:  # the record action and the status callback arrived together
            recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
    elif url and not recording.source_url:
        recording.source_url = url
    return recording
