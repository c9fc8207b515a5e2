"""The engine's handlers by what comes next: a carrier edge that drives a call itself (Asterisk) asks the engine
here what a `Next` leads to, with what the caller did in Twilio's field names (Digits, RecordingSid,
DialCallStatus ...). The Twilio edge reaches the same handlers through its webhook paths (api/routes)."""

from __future__ import annotations

from sqlalchemy.orm import Session

from ivr import call as ivr_call
from ivr import route_calls, stray
from ivr.decisions import STEP_ACTIONS, Decisions, Hangup, Next, Say, To
from ivr.prompt_list import ROUTE_PROMPTS
from ivr.route_calls import RouteDesk

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
    """An apology and goodbye: the call cannot be taken further (ivr.stray's words)."""
    key = stray.APOLOGY_PROMPT if rd.prompts.get(stray.APOLOGY_PROMPT) else "goodbye"
    return (Say.of(f"{ROUTE_PROMPTS}.{key}", str(rd.prompts[key])), Hangup())


def ask(session: Session, rd: RouteDesk, then: Next, form: dict[str, str]) -> Decisions:
    """The decisions of the handler `then` names, given the caller's `form`."""
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
                return ivr_call.menu_spoken(session, desk, form, step, choice)
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
