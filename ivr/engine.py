"""The flow engine for a carrier edge that drives a call itself (Asterisk): the call's first decisions, what a
`Next` leads to given what the caller did (ivr.caller_input), the recordings the edge stored, the call's end.
The Twilio edge reaches the same handlers through its webhook paths (api/routes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import call as ivr_call
from ivr import route_calls, stray
from ivr.caller_input import CallerDid, CallerLine, as_form
from ivr.decisions import STEP_ACTIONS, Decisions, Next, To
from ivr.reconcile import finish_call
from ivr.route_calls import RouteDesk
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event
from recordings.pipeline import StoredAudio
from recordings.store import StoredFile

# A step's handlers take calls only at steps of their kind (a stale continuation gets the apology, as on Twilio).
_STEP_KINDS = {
    To.STEP: None,
    To.KEYS: "menu",
    To.SPOKEN: "menu",
    To.CONFIRM: "menu",
    To.CONFIRMED: "menu",
    To.RECORDED: "record",
    To.DIALLED: "dial",
}


def cannot_continue(rd: RouteDesk) -> Decisions:
    """An apology and goodbye: the call cannot be taken further (ivr.stray)."""
    return stray.apology(rd.prompts)


def answer(session: Session, rd: RouteDesk, line: CallerLine) -> Decisions:
    """A call comes in: its first decisions (the whole-call recording, the greeting)."""
    return ivr_call.answer(session, rd.desk, as_form(line))


def ask(session: Session, rd: RouteDesk, then: Next, line: CallerLine, did: CallerDid | None = None) -> Decisions:
    """The decisions of the handler `then` names, given what the caller `did`."""
    return ask_form(session, rd, then, as_form(line, did))


def recording_stored(
    session: Session, line: CallerLine, sid: str, source: str, stored: StoredFile, audio: StoredAudio
) -> None:
    """A recording the edge stored itself (`source`: problem or call), registered and then transcribed."""
    ivr_call.stored_recording(session, as_form(line), sid, source, stored, audio)


def not_carried(session: Session, rd: RouteDesk, line: CallerLine, what: str, carrier: str) -> Decisions:
    """The carrier cannot do `what` the flow asked: noted on the call, and an apology and goodbye to say."""
    call = ivr_call.known_call(session, as_form(line))
    add_call_event(session, call, CallEventKind.NOT_CARRIED, what=what, carrier=carrier)
    return cannot_continue(rd)


def not_recorded(session: Session, line: CallerLine, sid: str, error: str) -> None:
    """A recording the flow asked for could not be made: noted on the call (the inspectors see it has none)."""
    call = ivr_call.known_call(session, as_form(line))
    add_call_event(session, call, CallEventKind.RECORDING_FAILED, recording_sid=sid, error=error)


def ended(session: Session, rd: RouteDesk, line: CallerLine, duration_s: int | None = None) -> None:
    """The call is over (`duration_s` long, if known): noted as Twilio's status callback notes it (its end, the
    ticket a caller is owed)."""
    form = {**as_form(line), "CallStatus": "completed"}
    if duration_s is not None:
        form["CallDuration"] = str(duration_s)
    finish_call(session, rd.desk, form)


def ask_form(session: Session, rd: RouteDesk, then: Next, form: dict[str, str]) -> Decisions:
    """The decisions of the handler `then` names, given the caller's `form` (Twilio's field names)."""
    desk, values = rd.desk, then.values

    def number(name: str, default: int) -> int:
        value = str(values.get(name, default))
        return int(value) if value.isdigit() else default

    if then.to in STEP_ACTIONS:
        step = then.step or ""
        if not stray.step_takes(desk.flow, step, _STEP_KINDS[then.to]):
            return cannot_continue(rd)
        choice = str(values.get("choice", ""))
        match then.to:
            case To.STEP:
                return ivr_call.goto(session, desk, form, step)
            case To.KEYS:
                return ivr_call.menu_keys(session, desk, form, step, number("attempt", 1))
            case To.SPOKEN:
                confidence = str(values.get("confidence", ""))
                sure = float(confidence) if _is_number(confidence) else None
                return ivr_call.menu_spoken(session, desk, form, step, choice, sure)
            case To.CONFIRM:
                return ivr_call.menu_confirm(session, desk, form, step, choice, number("attempt", 1))
            case To.CONFIRMED:
                return ivr_call.menu_confirmed(session, desk, form, step, choice, number("attempt", 1))
            case To.RECORDED:
                return ivr_call.recorded(session, desk, form, step)
            case _:
                return ivr_call.dialled(session, desk, form, step)
    if then.to in (To.CALLBACK_CONFIRM, To.CALLBACK_CHECK, To.ROUTE_DISTRICT) and not stray.has_ticket(
        session, form.get("CallSid", "")
    ):
        return cannot_continue(rd)  # nothing to call back about or dispatch
    match then.to:
        case To.ROUTE:
            return route_calls.route(session, rd, form, number("wait", 0))
        case To.ROUTE_DISTRICT:
            said = values.get("said")
            return route_calls.district_choice(
                session, rd, form, number("attempt", 1), str(said) if said is not None else None
            )
        case To.ROUTE_MORE:
            return route_calls.knowledge_more(session, rd, form)
        case To.ROUTE_DIALLED:
            return route_calls.route_dialled(session, rd, form)
        case To.URGENT:
            return route_calls.to_supervisor(
                session, rd, form, str(values.get("why", "")), str(values.get("at", ""))[:64]
            )
        case To.QUEUE_WAIT:
            return route_calls.queue_wait(session, rd, form)
        case To.QUEUE_KEY:
            return route_calls.queue_key(session, rd, form)
        case To.QUEUE_DONE:
            return route_calls.queue_done(session, rd, form)
        case To.CALLBACK_CONFIRM:
            return route_calls.callback_confirm(session, rd, form, number("tries", 1), number("refused", 0))
        case To.CALLBACK_CHECK:
            return route_calls.callback_check(
                session,
                rd,
                form,
                str(values.get("number", "")),
                number("tries", 1),
                number("refused", 0),
                number("asked", 1),
            )
        case _:  # SEAT_DONE
            lawyer = str(values.get("lawyer", ""))
            if lawyer not in rd.data.roster.lawyers:
                return cannot_continue(rd)
            return route_calls.seat_done(session, rd, form, lawyer)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
