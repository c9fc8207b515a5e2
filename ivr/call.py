"""The state of each call and what each carrier request does to it; every handler returns the decisions
(ivr.decisions) that the carrier's edge carries out: TwiML for Twilio, ARI commands for Asterisk.

These run inside webhooks (or the Asterisk edge's call threads), so they only touch the database and queue
jobs: nothing slow. Each is safe when the carrier retries the same request: the call, its recordings and its
ticket exist once.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db import utcnow
from hotline.jobs import BACKGROUND, URGENT, enqueue
from ivr.decisions import Decisions
from ivr.flow import EMERGENCY, Flow, Step
from ivr.prompt_list import RecordedPrompts
from ivr.steps import (
    CALLER_KEY,
    CALLER_VOICE,
    confirm_decisions,
    hangup,
    listens,
    menu_outcome,
    step_decisions,
    ticket_digits,
    urgent_redirect,
)
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event, find_call, record_call
from recordings.live_transcripts import keep_live_transcript
from recordings.pipeline import FAILED, FETCH_RECORDING, PENDING, StoredAudio, keep_stored
from recordings.store import StoredFile
from recordings.tables import Call, Recording
from routing.person_reasons import PersonReason
from routing.tables import Ticket
from routing.tickets import flag_for_person, open_ticket_for_call, ticket_for_call
from staff.accounts import DESK_PREFIX
from staff.roles import OPERATOR
from staff.seats import OPERATOR_SEATS, claim_free_operator, release, sign_out

ENDED_STATUSES = {"completed", "busy", "failed", "no-answer", "canceled"}
# Why the ticket of a call put through to a person asks for one: nobody but the operator heard the problem.


class LiveText(Protocol):
    """What was heard live on a call's stream for a step (speech.streaming.LiveTranscripts)."""

    def snapshot(self, call_sid: str, step: str) -> tuple[str, list[dict[str, Any]]] | None: ...


@dataclass(frozen=True)
class CallDesk:
    """What the call handlers need besides the database: the flow, the local timezone, our public base URL.

    `media_url` is the Media Streams WebSocket that listening steps fork the caller's audio to (None: no live
    speech, e.g. without a model, or a carrier that cannot stream yet); `live` holds what those streams heard,
    `live_model` names the model.
    `prompts_dir` holds the hotline's recorded prompts, played instead of `<Say>` (None: always said).
    """

    flow: Flow
    timezone: str
    base_url: str
    media_url: str | None = None
    live: LiveText | None = None
    live_model: str = ""
    prompts_dir: Path | None = None

    @property
    def recorded(self) -> RecordedPrompts | None:
        """The recorded prompts as Twilio fetches them from us (None: none)."""
        return RecordedPrompts(self.prompts_dir, self.base_url) if self.prompts_dir and self.base_url else None


def answer(session: Session, desk: CallDesk, form: dict[str, str]) -> Decisions:
    """A call comes in: note it once, play the first step, which starts the whole-call recording.

    Every answer to this request starts the recording: Twilio asks again only when it never got the first answer,
    so it never started one."""
    call, is_new = record_call(session, form["CallSid"], form.get("From", ""), form.get("To", ""))
    if is_new:
        # The base URL is kept for moving the live call later from a job (ivr.urgent), which has no request.
        add_call_event(session, call, CallEventKind.ANSWERED, caller=form.get("From", ""), base_url=desk.base_url)
        add_call_event(session, call, CallEventKind.CALL_RECORDING_STARTED)
    return play(session, desk, call, desk.flow.step(desk.flow.start), record_call=True)


def play(
    session: Session,
    desk: CallDesk,
    call: Call,
    step: Step,
    attempt: int = 1,
    *,
    leaving: Step | None = None,
    listen: bool | None = None,
    wrong_key: bool = False,
    record_call: bool = False,
) -> Decisions:
    """The decisions of a step, with the call's ticket number at hand for prompts that read it out.

    A listening step starts its stream on its first attempt (or when `listen` says so); `leaving` is the step
    the call comes from, whose stream is stopped when the call moves to another step. A dial step makes the
    call's ticket first if it has none: the caller is told its number before being put through. `wrong_key`:
    a menu played again after a key that is no option.
    """
    ticket = ticket_for_call(session, call.id)
    if ticket is None and step.kind == "dial":
        ticket = call_ticket(session, call, desk.timezone, PersonReason.PUT_THROUGH)
    context = {"ticket_digits": ticket_digits(ticket.number if ticket is not None else None)}
    add_call_event(session, call, CallEventKind.STEP, step=step.name, attempt=attempt)
    if step.kind == "dial":
        step = _whom_to_ring(session, call, step)
    return step_decisions(
        desk.flow,
        step,
        attempt=attempt,
        context=context,
        listen=bool(desk.media_url) and (attempt == 1 if listen is None else listen),
        stop_stream=_stream_to_stop(desk, leaving, step),
        wrong_key=wrong_key,
        record_call=record_call,
    )


def _stream_to_stop(desk: CallDesk, leaving: Step | None, going_to: Step | None) -> str | None:
    """The stream of the step the call leaves, if it had one and the call really moves on."""
    if not desk.media_url or leaving is None or not listens(leaving, desk.flow):
        return None
    if going_to is not None and going_to.name == leaving.name:
        return None
    return leaving.name


def goto(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> Decisions:
    """Play a named step (a `<Redirect>` or a REST redirect of the live call lands here)."""
    call = known_call(session, form)
    return play(session, desk, call, desk.flow.step(step_name))


def menu_keys(session: Session, desk: CallDesk, form: dict[str, str], step_name: str, attempt: int) -> Decisions:
    """The caller pressed a key (or nothing): go on, ask again, or hand over to `on_fail`."""
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    digits = form.get("Digits", "")
    if _emergency_pressed(desk, digits):
        return emergency(session, desk, call, step, CALLER_KEY, digits=digits, attempt=attempt)
    outcome = menu_outcome(step, digits, attempt)
    add_call_event(
        session, call, CallEventKind.MENU_INPUT, step=step.name, digits=digits, attempt=attempt, choice=outcome.choice
    )
    if outcome.retry:
        return play(session, desk, call, step, attempt + 1, wrong_key=bool(digits))
    if outcome.choice is not None:
        call.menu_choice = outcome.choice
    elif call.menu_choice is None:
        # No valid key after every try: the caller goes to a person, which counts as choosing one.
        call.menu_choice = "operator"
        add_call_event(session, call, CallEventKind.MENU_FAILED, step=step.name)
    return play(session, desk, call, desk.flow.step(outcome.next_step), leaving=step)


def menu_spoken(
    session: Session,
    desk: CallDesk,
    form: dict[str, str],
    step_name: str,
    choice: str,
    confidence: float | None = None,
    via: str = "voice",
) -> Decisions:
    """The caller said a menu choice (the live stream redirected the call here): go where its key goes."""
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    if choice == EMERGENCY and desk.flow.emergency is not None:
        return emergency(session, desk, call, step, CALLER_VOICE, via=via, confidence=confidence)
    option = step.option_for(choice)
    if option is None:  # not a choice of this menu (a stale or forged redirect): ask again
        add_call_event(session, call, CallEventKind.MENU_INPUT, step=step.name, via=via, choice=None, heard=choice)
        return play(session, desk, call, step, 2, listen=False)
    call.menu_choice = option.choice
    add_call_event(
        session,
        call,
        CallEventKind.MENU_INPUT,
        step=step.name,
        via=via,
        choice=option.choice,
        digits=None,
        confidence=confidence,
    )
    return play(session, desk, call, desk.flow.step(option.next), leaving=step)


def menu_confirm(
    session: Session, desk: CallDesk, form: dict[str, str], step_name: str, choice: str, attempt: int = 1
) -> Decisions:
    """A choice heard with little confidence: ask the caller to confirm it by key."""
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    add_call_event(session, call, CallEventKind.MENU_CONFIRM, step=step.name, choice=choice, attempt=attempt)
    return confirm_decisions(desk.flow, step, choice, attempt, stop_stream=_stream_to_stop(desk, step, None))


def menu_confirmed(
    session: Session, desk: CallDesk, form: dict[str, str], step_name: str, choice: str, attempt: int = 1
) -> Decisions:
    """The answer to the confirmation: 1 takes the choice, anything else plays the menu again (listening)."""
    if _emergency_pressed(desk, form.get("Digits", "")):
        call = known_call(session, form)
        return emergency(
            session, desk, call, desk.flow.step(step_name), CALLER_KEY, digits=form.get("Digits", ""), stop=False
        )
    if form.get("Digits", "")[:1] == "1":
        return menu_spoken(session, desk, form, step_name, choice, via="voice-confirmed")
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    add_call_event(
        session,
        call,
        CallEventKind.MENU_INPUT,
        step=step.name,
        via="voice-rejected",
        choice=None,
        heard=choice,
        digits=form.get("Digits", ""),
    )
    return play(session, desk, call, step, attempt + 1, listen=True)


def _emergency_pressed(desk: CallDesk, digits: str) -> bool:
    return desk.flow.emergency is not None and desk.flow.emergency.pressed(digits)


def emergency(
    session: Session, desk: CallDesk, call: Call, step: Step, why: str, *, stop: bool = True, **detail: object
) -> Decisions:
    """The caller pressed or said the emergency at `step`: noted, then on to the supervisor (the urgent handler).

    `stop`: end the step's live stream (False when the call is no longer at the step, e.g. at its confirmation).
    """
    add_call_event(session, call, CallEventKind.EMERGENCY, step=step.name, why=why, **detail)
    stream = _stream_to_stop(desk, step, None) if stop else None
    return urgent_redirect(why, step.name, stop_stream=stream)


def at_step(session: Session, call_sid: str, step_name: str) -> bool:
    """True while the call is at `step_name` with nothing chosen there yet (a voice choice may still redirect it)."""
    call = find_call(session, call_sid)
    return call is not None and call.ended_at is None and call.choosing_at == step_name


def recorded(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> Decisions:
    """The caller finished describing the problem (or hung up): open the ticket, read its number."""
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    recording_sid = form.get("RecordingSid")
    ticket = call_ticket(session, call, desk.timezone, None if recording_sid else PersonReason.NO_MESSAGE)
    if recording_sid:
        recording = _note_recording(session, call, recording_sid, "problem", form.get("RecordingUrl", ""))
        _use_live_transcript(session, desk, call, step, recording)
    hung_up = form.get("Digits") == "hangup"
    pressed = _emergency_pressed(desk, form.get("Digits", ""))
    add_call_event(
        session,
        call,
        CallEventKind.PROBLEM_RECORDED,
        recording_sid=recording_sid,
        ticket=ticket.number,
        duration=form.get("RecordingDuration"),
        hung_up=hung_up,
        emergency=pressed,
    )
    if pressed:  # the caller ended the recording with the emergency key
        return emergency(session, desk, call, step, CALLER_KEY, digits=form.get("Digits", ""))
    if hung_up or step.next is None:
        return hangup()  # a carrier ignores decisions after a hang-up; the ticket is made all the same
    return play(session, desk, call, desk.flow.step(step.next), leaving=step)


def _use_live_transcript(session: Session, desk: CallDesk, call: Call, step: Step, recording: Recording) -> None:
    """What the live stream heard while the caller spoke becomes the recording's transcript now, for the route step
    to read (the ticket's text); the batch transcript replaces it later (the pipeline rewrites the transcripts)."""
    if desk.live is None:
        return
    heard = desk.live.snapshot(call.call_sid, step.name)
    if not heard or not heard[0]:
        return
    text, words = heard
    if not keep_live_transcript(session, recording, text, words, desk.live_model):
        return  # the recording has its transcript already (the batch one, or the stream's final text)
    add_call_event(session, call, CallEventKind.LIVE_TRANSCRIPT_USED, step=step.name, chars=len(text))


def _whom_to_ring(session: Session, call: Call, step: Step) -> Step:
    """The dial step as it rings now: a free operator's own phone for `seats: operators`, else its number."""
    if step.seats != OPERATOR_SEATS:
        return step
    operator = claim_free_operator(session, call.call_sid)
    if operator is None:
        add_call_event(session, call, CallEventKind.DIALLING, step=step.name, operator=None, number=step.number)
        return step
    add_call_event(session, call, CallEventKind.DIALLING, step=step.name, operator=operator.username)
    return replace(step, number=operator.phone)


def dialled(session: Session, desk: CallDesk, form: dict[str, str], step_name: str) -> Decisions:
    """A `<Dial>` ended: a conversation took place, or nobody answered and the flow goes on."""
    call = known_call(session, form)
    step = desk.flow.step(step_name)
    status = form.get("DialCallStatus", "")
    operator = release(session, call.call_sid)  # answered or not, the operator takes calls again
    add_call_event(
        session,
        call,
        CallEventKind.DIAL_ENDED,
        step=step.name,
        status=status,
        duration=form.get("DialCallDuration"),
        operator=operator,
    )
    if operator is not None and status in ("no-answer", "busy", "failed"):
        # Not at their phone: they stop being offered callers until they say they are back, and this caller
        # gets the desk instead of a message box.
        sign_out(session, operator)
        add_call_event(session, call, CallEventKind.OPERATOR_MISSED, operator=operator, status=status)
        return play(session, desk, call, replace(step, seats=None))
    if status == "completed" and call.handler is None:
        # An operator's own phone names them; the shared desk number names only the desk (QA samples it so).
        call.handler, call.handler_role = operator or f"{DESK_PREFIX}{step.number}", OPERATOR
    if status == "completed" or step.next is None:
        return hangup()
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
            add_call_event(session, call, CallEventKind.RECORDING_FAILED, recording_sid=sid, error=recording.error)
            ticket = ticket_for_call(session, call.id)
            if ticket is not None and source == "problem":
                flag_for_person(session, ticket, PersonReason.RECORDING_NOT_MADE, recording_sid=sid)
        return False
    # The caller's problem is wanted while they are still on the line; the full-call recording is for the archive.
    priority = URGENT if source == "problem" else BACKGROUND
    return enqueue(session, FETCH_RECORDING, f"fetch:{sid}", {"recording_sid": sid}, priority=priority)


def stored_recording(
    session: Session, form: dict[str, str], sid: str, source: str, stored: StoredFile, audio: StoredAudio
) -> None:
    """A recording the carrier edge stored itself (Asterisk's, fetched over ARI): noted like a Twilio recording,
    then transcribed like one (`source`: problem or call). Safe to repeat: the recording exists once."""
    call = known_call(session, form)
    recording = _note_recording(session, call, sid, source, "")
    if recording.path is not None:
        return  # a repeat: kept already
    keep_stored(session, recording, stored, audio)
    if audio.problem is not None:
        recording.status, recording.error = FAILED, f"the recording cannot be played: {audio.problem}"
        add_call_event(session, call, CallEventKind.RECORDING_FAILED, recording_sid=sid, error=recording.error)
        ticket = ticket_for_call(session, call.id)
        if ticket is not None and source == "problem":
            flag_for_person(session, ticket, PersonReason.RECORDING_UNUSABLE, recording_sid=sid)


def call_status(session: Session, desk: CallDesk, form: dict[str, str]) -> None:
    """The call ended: note how, and make sure a caller who chose a service has a ticket."""
    call = find_call(session, form.get("CallSid", ""))
    status = form.get("CallStatus", "")
    if call is None or status not in ENDED_STATUSES or call.ended_at is not None:
        return
    call.status, call.ended_at = status, utcnow()
    freed = release(session, call.call_sid)
    if freed is not None:  # the caller hung up before the Dial's action came
        add_call_event(session, call, CallEventKind.OPERATOR_FREED, operator=freed)
    if form.get("CallDuration", "").isdigit():
        call.duration_s = int(form["CallDuration"])
    add_call_event(session, call, CallEventKind.ENDED, status=status, duration=call.duration_s)
    if call.menu_choice is None or ticket_for_call(session, call.id) is not None:
        return
    # An operator's caller hung up before the dial step made the ticket; anyone else before saying the problem.
    reason = PersonReason.PUT_THROUGH if call.menu_choice == "operator" else PersonReason.HUNG_UP_EARLY
    call_ticket(session, call, desk.timezone, reason)


def call_ticket(session: Session, call: Call, timezone: str, needs_person: PersonReason | None = None) -> Ticket:
    """The call's ticket, opened now from what the call knows if it has none (a retried webhook finds the same)."""
    return open_ticket_for_call(
        session,
        call_id=call.id,
        caller_number=call.from_number,
        menu_choice=call.menu_choice,
        timezone=timezone,
        needs_person=needs_person,
    )


def known_call(session: Session, form: dict[str, str]) -> Call:
    """The call of a mid-call request; one we never saw answered (a lost first webhook) is recorded now."""
    call, is_new = record_call(session, form.get("CallSid", ""), form.get("From", ""), form.get("To", ""))
    if is_new:
        add_call_event(session, call, CallEventKind.ANSWERED, caller=form.get("From", ""), late=True)
    return call


def _note_recording(session: Session, call: Call, sid: str, source: str, url: str) -> Recording:
    recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
    if recording is None:
        recording = Recording(recording_sid=sid, call_id=call.id, source=source, source_url=url)
        try:
            with session.begin_nested():
                session.add(recording)
                session.flush()
        except IntegrityError:  # the record action and the status callback arrived together: theirs is there
            recording = session.execute(select(Recording).where(Recording.recording_sid == sid)).scalar_one()
    elif url and not recording.source_url:
        recording.source_url = url
    return recording
