"""After the problem is recorded: route the ticket and take the caller where it goes, never to a dead end.

Lawyer seats (a queue with position and wait, or a callback when nobody can answer), a supervisor at once for
urgent cases, a local union, the dispatcher, or a knowledge-base answer. Each function maps one carrier request to
the call's next decisions (ivr.decisions); where a ticket goes is decided in `routing`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from pydantic import Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.data_files import DataFileError, DataModel, check, fillable, read_yaml
from hotline.db import utcnow
from ivr.call import CallDesk, call_ticket, known_call, play
from ivr.callback_number import MAX_KEYS, grouped_number, international, national_number
from ivr.decisions import (
    Decision,
    Decisions,
    Dial,
    Digits,
    Enqueue,
    Gather,
    Hangup,
    LeaveQueue,
    Next,
    Pause,
    PromptValue,
    Redirect,
    Say,
    StartStream,
    StopStream,
    To,
)
from ivr.prompt_list import ROUTE_PROMPTS
from ivr.steps import CALLER_KEY, CALLER_VOICE, URGENT_FLAG, hangup, urgent_redirect
from recordings.call_events import CallEventKind, Place
from recordings.calls import add_call_event
from recordings.tables import Call, CallEvent, Recording
from routing import decide
from routing.config import RoutingData
from routing.lifecycle import transition
from routing.seats import (
    available_lawyers,
    enter_queue,
    leave_queue,
    position_of,
    queue_state,
    set_on_call,
    signed_in_on_duty,
)
from routing.service import route_ticket
from routing.tables import QueueEntry, Ticket
from routing.tickets import WordsFrom, add_event, local_time, ticket_for_call

LAWYER_QUEUE_NAME = "lawyers"
# The district question after routing is a step of its own for live speech: its stream, its grammar.
DISTRICT_STEP = "route:district"
DISTRICT_STREAM = "route-district"
# The caller on the supervisor's line out of turn (their emergency, or an urgent flag found later): a step of
# its own in the call events, so that nothing moves the call again once it is there.
SUPERVISOR_STEP = Place.SUPERVISOR
QUEUE_STEP = Place.QUEUE  # waiting for a lawyer (the emergency key works there too)


VIA_LABELS = {"key": "按键", "voice": "语音"}
# Twilio's DialCallStatus as staff read it on the ticket.
DIAL_STATUS_LABELS = {"busy": "占线", "no-answer": "无人接听", "failed": "呼叫失败", "canceled": "已取消"}


def dial_status_label(status: str) -> str:
    """A dialled phone's outcome in words (the code itself when Twilio sends one we do not know)."""
    return DIAL_STATUS_LABELS.get(status, status)


def district_answer(attempt: int, said: str | None = None) -> Next:
    """Where the district answer goes: a key (`Digits`), or `said`, the key of the district heard aloud."""
    return Next.of(To.ROUTE_DISTRICT, attempt=attempt, **({"said": said} if said is not None else {}))


TRANSCRIPT_DONE = ("transcribed", "failed", "waiting_model")


class RoutePromptsError(DataFileError):
    """A route prompts file is not usable; the message names the file, the key and what to fix."""


# What a prompt may fill in (route_prompts.yaml's header); any other {name} would fail the call that says it.
PLACEHOLDERS = (
    "ticket_digits",
    "position",
    "minutes",
    "contact",
    "reply_days",
    "answer",
    "districts",
    "number_digits",
    "name",
    "when",
)


Prompt = Annotated[str, Field(min_length=1), fillable(*PLACEHOLDERS)]
Seconds = Annotated[int, Field(ge=1)]


class RoutePromptsFile(DataModel):
    """ivr/flows/route_prompts.yaml as written; a hotline's own file, laid over it, gives only what it changes."""

    max_wait_for_transcript_s: Annotated[float, Field(ge=0)]
    lawyer_connecting: Prompt
    lawyer_intro: Prompt
    queue_position: Prompt
    queue_next: Prompt
    queue_hold_s: Seconds
    callback_offer: Prompt
    callback_readback: Prompt
    callback_retype: Prompt
    callback_invalid: Prompt
    callback_ask_again: Prompt
    callback_caller_id: Prompt
    callback_max_tries: Annotated[int, Field(ge=1)]
    callback_confirmed: Prompt
    urgent_intro: Prompt
    urgent_no_answer: Prompt
    dispatched: Prompt
    district_timeout_s: Seconds
    district_question: Prompt
    to_dispatcher: Prompt
    knowledge_answer: Prompt
    knowledge_more: Prompt
    operator_callback: Prompt
    goodbye: Prompt
    cannot_continue: Prompt


SHIPPED_ROUTE_PROMPTS = ("ivr.flows", "route_prompts.yaml")


@lru_cache(maxsize=4)
def load_route_prompts(path: Path | None = None) -> dict[str, Any]:
    """The prompts of the routing steps (ivr/flows/route_prompts.yaml unless another file is given).

    A hotline's own file is laid over the shipped one: a prompt it lacks (one added since it was written) is
    said as shipped rather than failing the call. What it gives is checked, and named by its file and key.
    """
    file, data = read_yaml(None, SHIPPED_ROUTE_PROMPTS, RoutePromptsError)
    if path:
        file, own = read_yaml(path, SHIPPED_ROUTE_PROMPTS, RoutePromptsError)
        if isinstance(own, dict) and isinstance(data, dict):  # `key:` with nothing after it: as shipped
            data = {**data, **{key: value for key, value in own.items() if value is not None}}
        elif own is not None:  # an empty file changes nothing; one that is no mapping is refused as it is
            data = own
    return check(RoutePromptsFile, data, file, RoutePromptsError).model_dump()


@dataclass(frozen=True)
class RouteDesk:
    """What routing a live call needs: the call desk, the routing data, the prompts."""

    desk: CallDesk
    data: RoutingData
    prompts: dict[str, Any]  # route_prompts.yaml as loaded: prompt key -> text

    def say(self, key: str, **values: PromptValue) -> Say:
        """Say the prompt `key`, filled with `values` (its recording, when it has one)."""
        return Say.of(f"{ROUTE_PROMPTS}.{key}", str(self.prompts[key]), values)


def _problem_words(session: Session, call: Call) -> tuple[str, WordsFrom] | None:
    """The caller's words once the problem recording is done with, and where they come from (None while it is
    still being worked on)."""
    recording = session.scalar(
        select(Recording)
        .where(Recording.call_id == call.id, Recording.source == "problem")
        .order_by(Recording.id.desc())
    )
    if recording is None:
        return "", WordsFrom.RECORDING
    if recording.status not in TRANSCRIPT_DONE:
        # What the live stream heard while the caller spoke is there the moment they press #.
        live = [t.text for t in recording.transcripts if t.model.startswith("live:") and t.text]
        return (" ".join(live), WordsFrom.LIVE) if live else None
    return " ".join(t.text for t in recording.transcripts if t.text), WordsFrom.RECORDING


def _still_worth_waiting(session: Session, rd: RouteDesk, call: Call, polls: int) -> bool:
    """Wait for the transcript up to a limit in real seconds since the recording ended (at most 300 polls)."""
    # One small query per poll, not the call's whole history: this runs once a second while the caller holds.
    recorded = session.scalar(
        select(CallEvent.at)
        .where(CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.PROBLEM_RECORDED)
        .order_by(CallEvent.id.desc())
        .limit(1)
    )
    limit = float(rd.prompts.get("max_wait_for_transcript_s", 10))
    return recorded is not None and polls < 300 and (utcnow() - recorded).total_seconds() < limit


def route(session: Session, rd: RouteDesk, form: dict[str, str], wait: int) -> Decisions:
    """Hold the caller briefly for the transcript, then route the ticket and play where it goes."""
    call = known_call(session, form)
    ticket = ticket_for_call(session, call.id)
    if ticket is None:  # cannot happen in the flow; a stray request ends politely
        out: list[Decision] = []
        out.append(rd.say("goodbye"))
        out.append(Hangup())
        return tuple(out)
    heard = _problem_words(session, call)
    if heard is None and _still_worth_waiting(session, rd, call, wait):
        return (Pause(1), Redirect(Next.of(To.ROUTE, wait=wait + 1)))
    text, words_from = heard or ("", WordsFrom.RECORDING)  # no words in time: routed by the keys alone
    decision = route_ticket(session, ticket, text, rd.data, utcnow(), words_from)
    emergency = rd.desk.flow.emergency
    said = emergency.said_in(text) if emergency is not None and text else None
    if said is not None:  # the caller said the emergency while describing the problem
        decide.caller_emergency(session, ticket, rd.data, f"来电人陈述问题时说了“{said}”")
        decision = decide.RouteDecision(decide.SUPERVISOR, [f"{decide.CALLER_EMERGENCY}: {said}"])
    add_call_event(
        session, call, CallEventKind.ROUTED, route=decision.route, ticket=ticket.number, emergency_phrase=said
    )
    return _play_route(session, rd, call, ticket, decision)


def _play_route(
    session: Session, rd: RouteDesk, call: Call, ticket: Ticket, decision: decide.RouteDecision
) -> Decisions:
    digits = Digits(ticket.number)
    out: list[Decision] = []
    if decision.route == decide.LAWYER_QUEUE:
        return _to_lawyers(session, rd, call, ticket)
    if decision.route == decide.SUPERVISOR:
        return _dial_supervisor(session, rd, call, ticket)
    elif decision.route == decide.LOCAL_UNION and decision.union is not None:
        rule = rd.data.sla.rule(ticket.handling_class)
        out.append(
            rd.say("dispatched", contact=decision.union.contact, reply_days=rule.reply_days, ticket_digits=digits)
        )
    elif decision.route == decide.DISPATCHER:
        if decision.district_unknown:
            return _district_question(session, rd, call, ticket, attempt=1)
        out.append(_to_dispatcher(rd, ticket))
    elif decision.route == decide.KNOWLEDGE_BASE and decision.answer is not None:
        out.append(rd.say("knowledge_answer", answer=decision.answer.entry.answer))
        more = (rd.say("knowledge_more", ticket_digits=digits),)
        out.append(Gather(more, Next.of(To.ROUTE_MORE), timeout_s=5, num_digits=1, on_empty=False))
        out.append(rd.say("goodbye"))
    elif decision.route == decide.OPERATOR:
        if not _operator_missed(call):
            return play(session, rd.desk, call, rd.desk.flow.step_of_kind("dial"))
        # The operators' line was busy and the caller left their problem: an operator calls back.
        ticket.callback_number = call.from_number
        add_event(session, ticket, "callback_requested", f"话务员忙：请回电 {call.from_number}")
        out.append(rd.say("operator_callback", ticket_digits=digits))
    else:
        out.append(_to_dispatcher(rd, ticket))
    out.append(Hangup())
    return tuple(out)


def _to_dispatcher(rd: RouteDesk, ticket: Ticket) -> Say:
    """Tell the caller a dispatcher sends the ticket on: within how many working days, and its number."""
    reply_days = rd.data.sla.rule(ticket.handling_class).reply_days
    return rd.say("to_dispatcher", reply_days=reply_days, ticket_digits=Digits(ticket.number))


def _operator_missed(call: Call) -> bool:
    """True when this call already rang the operators and nobody answered."""
    return any(e.kind == CallEventKind.DIAL_ENDED and e.detail.get("status") != "completed" for e in call.events)


# --- lawyer seats ----------------------------------------------------------------------------------------


def _to_lawyers(session: Session, rd: RouteDesk, call: Call, ticket: Ticket) -> Decisions:
    """Queue the caller for a lawyer, unless nobody could ever answer: then offer a callback straight away."""
    now = utcnow()
    tz, limits = rd.data.timezone, rd.data.roster.queue
    staffed = signed_in_on_duty(session, rd.data.roster, now, tz)
    waiting = len(queue_state(session).waiting)
    if not staffed or waiting >= limits.max_waiting:
        code = "no_lawyer_on_duty" if not staffed else "queue_full"
        add_call_event(session, call, CallEventKind.QUEUE_SKIPPED, reason=code, waiting=waiting)
        add_event(
            session, ticket, "queue_skipped", "无值班律师在线" if not staffed else f"排队已满（{waiting} 人等待）"
        )
        return _callback_offer(rd)
    enter_queue(session, call.call_sid, ticket.id)
    add_call_event(session, call, CallEventKind.ENQUEUED, queue=LAWYER_QUEUE_NAME)
    return (
        rd.say("lawyer_intro", ticket_digits=Digits(ticket.number)),
        Enqueue(LAWYER_QUEUE_NAME, Next.of(To.QUEUE_DONE), wait=Next.of(To.QUEUE_WAIT)),
    )


def queue_wait(session: Session, rd: RouteDesk, form: dict[str, str]) -> Decisions:
    """Played to a waiting caller (Twilio asks again when it ends): position and expected wait, or leave."""
    call_sid = form.get("CallSid", "")
    limits = rd.data.roster.queue
    now = utcnow()
    state = queue_state(session)
    position = int(form.get("QueuePosition") or position_of(state, call_sid) or 1)
    waited = int(form.get("QueueTime") or 0)
    staffed = signed_in_on_duty(session, rd.data.roster, now, rd.data.timezone)
    if waited >= limits.max_wait_s or not staffed:
        return (LeaveQueue(),)  # the queue's `next` then offers the callback
    # Twilio's QueuePosition counts the caller (1 = first in line): the caller hears how many are ahead.
    ahead = max(position - 1, 0)
    announced = rd.say(
        "queue_position" if ahead else "queue_next",
        position=ahead,
        minutes=_expected_minutes(
            position, form.get("AvgQueueTime"), state.avg_wait_s, len(staffed), limits.assumed_talk_s
        ),
    )
    # The announcement, then the hold, as a question: the emergency key is heard while the caller waits.
    hold_s = int(rd.prompts.get("queue_hold_s", 20))
    return (Gather((announced,), Next.of(To.QUEUE_KEY), timeout_s=hold_s, num_digits=1, on_empty=False),)


def queue_key(session: Session, rd: RouteDesk, form: dict[str, str]) -> Decisions:
    """A key pressed while waiting for a lawyer: the emergency key leaves the queue for the supervisor (the
    Enqueue action then takes the caller there); any other key changes nothing."""
    call = known_call(session, form)
    digits = form.get("Digits", "")
    if _emergency_key(rd, digits):
        add_call_event(session, call, CallEventKind.EMERGENCY, step=QUEUE_STEP, why=CALLER_KEY, digits=digits)
        return (LeaveQueue(),)
    add_call_event(session, call, CallEventKind.MENU_INPUT, step=QUEUE_STEP, digits=digits, choice=None)
    return ()


def _expected_minutes(
    position: int, twilio_avg: str | None, our_avg: float | None, lawyers: int, assumed_talk_s: int
) -> int:
    """Minutes to announce: Twilio's average wait, else ours, else the queue ahead shared by the lawyers."""
    seconds: float
    if twilio_avg and twilio_avg.isdigit() and int(twilio_avg) > 0:
        seconds = int(twilio_avg)
    elif our_avg:
        seconds = our_avg
    else:
        seconds = position * assumed_talk_s / max(lawyers, 1)
    return max(1, math.ceil(seconds / 60))


def queue_done(session: Session, rd: RouteDesk, form: dict[str, str]) -> Decisions:
    """The caller left the queue: after a lawyer took them, the call ends; otherwise offer a callback."""
    call = known_call(session, form)
    result = form.get("QueueResult", "")
    ticket = ticket_for_call(session, call.id)
    emergency_key = call.place == SUPERVISOR_STEP  # the caller's emergency key in the queue (queue_key) left it
    add_call_event(session, call, CallEventKind.QUEUE_LEFT, result=result, waited=form.get("QueueTime"))
    if result == "bridged":
        entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call.call_sid))
        lawyer_id = entry.lawyer_id if entry is not None and entry.lawyer_id else None
        if lawyer_id is None:  # dequeued by a lawyer's own <Dial><Queue>: whoever is free took it
            lawyers = available_lawyers(session, rd.data.roster, utcnow(), rd.data.timezone)
            lawyer_id = lawyers[0].id if lawyers else None
        leave_queue(session, call.call_sid, "bridged", lawyer_id)
        if ticket is not None and lawyer_id:
            ticket.assigned_to = lawyer_id
            add_event(session, ticket, "lawyer_answered", f"律师 {lawyer_id} 接听咨询", actor=lawyer_id)
        return hangup()
    if result == "hangup":
        leave_queue(session, call.call_sid, "hangup")
        if ticket is not None:
            _assign_callback(session, rd, ticket, call.from_number, "the caller hung up while waiting for a lawyer")
        return hangup()
    if result == "leave" and emergency_key:
        leave_queue(session, call.call_sid, "supervisor")
        return urgent_redirect(CALLER_KEY, QUEUE_STEP)
    leave_queue(session, call.call_sid, "callback")
    return _callback_offer(rd)


CALLBACK_STEP = Place.CALLBACK_OFFER


def callback_typed(tries: int, refused: int) -> Next:
    """Where a typed callback number goes: `tries` numbers typed so far with this one, `refused` of them refused."""
    return Next.of(To.CALLBACK_CONFIRM, tries=tries, refused=refused)


def callback_check_answer(number: str, tries: int, refused: int, asked: int) -> Next:
    """Where the answer to the read-back goes: the number read back, and how often it was (`asked`)."""
    return Next.of(To.CALLBACK_CHECK, number=number, tries=tries, refused=refused, asked=asked)


def _number_question(rd: RouteDesk, keys: list[str], tries: int, refused: int) -> Decisions:
    """Ask for a number (the prompts `keys`, then the keys up to #); silence comes to the same handler."""
    typed = callback_typed(tries, refused)
    prompts = tuple(rd.say(key) for key in keys)
    return (Gather(prompts, typed, timeout_s=8, num_digits=None, finish_on_key="#"), Redirect(typed))


def _callback_offer(rd: RouteDesk) -> Decisions:
    """Offer a lawyer's callback: 1 for this phone, or a number typed then #."""
    return _number_question(rd, ["callback_offer"], tries=1, refused=0)


@dataclass(frozen=True)
class _Answered:
    """The call, the keys pressed and its ticket at a callback question."""

    call: Call
    keys: str
    ticket: Ticket


def _callback_answer(session: Session, rd: RouteDesk, form: dict[str, str]) -> _Answered | Decisions:
    """The call, the keys pressed and its ticket at a callback question; or the decisions that answer at once:
    the emergency key (to the supervisor), or no ticket (the webhook checks first; nothing to call back about)."""
    call = known_call(session, form)
    keys = form.get("Digits", "")
    if _emergency_key(rd, keys):
        return _emergency_at(session, rd, call, CALLBACK_STEP, keys)
    ticket = ticket_for_call(session, call.id)
    if ticket is None:
        return _goodbye(rd)
    return _Answered(call, keys, ticket)


def callback_confirm(
    session: Session, rd: RouteDesk, form: dict[str, str], tries: int = 1, refused: int = 0
) -> Decisions:
    """The caller answered the callback offer (or typed a number again): 1 at the offer is this phone; a valid
    number is read back to confirm; a refused one is asked for once more; silence, or a second refusal, and the
    caller ID is used, which the caller is told."""
    answered = _callback_answer(session, rd, form)
    if not isinstance(answered, _Answered):
        return answered
    call, keys, ticket = answered.call, answered.keys.rstrip("#"), answered.ticket
    tries, refused = max(tries, 1), max(refused, 0)  # counts from our own URLs; an odd one cannot loop
    if tries <= 1 and keys == "1":
        add_call_event(session, call, CallEventKind.CALLBACK_NUMBER, chosen="caller_id", tries=tries)
        return _callback_booked(session, rd, ticket, call.from_number, [], "律师均无法接听")
    if not keys:
        add_call_event(session, call, CallEventKind.CALLBACK_NUMBER, chosen="caller_id", why="no_input", tries=tries)
        return _callback_booked(
            session,
            rd,
            ticket,
            call.from_number,
            ["callback_caller_id"],
            "律师均无法接听；来电人没有输入号码，回拨来电号码",
        )
    national = national_number(keys)
    add_call_event(
        session,
        call,
        CallEventKind.CALLBACK_NUMBER,
        typed=keys[:MAX_KEYS],
        chars=len(keys),
        valid=national is not None,
        tries=tries,
    )
    if national is None:
        if refused < 1 and tries < _max_tries(rd):
            return _number_question(
                rd, ["callback_invalid", "callback_ask_again"], tries=tries + 1, refused=refused + 1
            )
        return _callback_booked(
            session,
            rd,
            ticket,
            call.from_number,
            ["callback_invalid", "callback_caller_id"],
            "律师均无法接听；输入的号码无效，回拨来电号码",
        )
    return _read_back(rd, national, tries, refused, asked=1)


def _read_back(rd: RouteDesk, national: str, tries: int, refused: int, asked: int) -> Decisions:
    """Read the typed number back digit by digit: 1 confirms it, 2 types it again."""
    answer = callback_check_answer(national, tries, refused, asked)
    read = (rd.say("callback_readback", number_digits=Digits(grouped_number(national))),)
    return (Gather(read, answer, timeout_s=6, num_digits=1), Redirect(answer))


def callback_check(
    session: Session, rd: RouteDesk, form: dict[str, str], number: str, tries: int, refused: int, asked: int
) -> Decisions:
    """The caller's answer to the number read back: 1 books the callback to it, 2 types it again (up to
    `callback_max_tries` numbers in all, then the caller ID); silence or another key reads it back once more,
    then the number the caller typed and did not reject is used."""
    answered = _callback_answer(session, rd, form)
    if not isinstance(answered, _Answered):
        return answered
    call, keys, ticket = answered.call, answered.keys, answered.ticket
    tries, refused, asked = max(tries, 1), max(refused, 0), max(asked, 1)
    national = national_number(number)  # the URL is checked again: a forged one gets the caller ID
    add_call_event(session, call, CallEventKind.CALLBACK_READBACK, digits=keys[:1], tries=tries, asked=asked)
    if national is None:
        return _callback_booked(session, rd, ticket, call.from_number, ["callback_caller_id"], "律师均无法接听")
    if keys[:1] == "2":
        if tries < _max_tries(rd):
            return _number_question(rd, ["callback_retype"], tries=tries + 1, refused=refused)
        return _callback_booked(
            session,
            rd,
            ticket,
            call.from_number,
            ["callback_caller_id"],
            "律师均无法接听；来电人没有确认输入的号码，回拨来电号码",
        )
    if keys[:1] != "1" and asked < 2:
        return _read_back(rd, national, tries, refused, asked + 1)
    return _callback_booked(session, rd, ticket, international(national), [], "律师均无法接听；回拨来电人输入的号码")


def _goodbye(rd: RouteDesk) -> Decisions:
    """Thank the caller and end the call."""
    return (rd.say("goodbye"), Hangup())


def _max_tries(rd: RouteDesk) -> int:
    return int(rd.prompts.get("callback_max_tries", 3))


def _callback_booked(
    session: Session, rd: RouteDesk, ticket: Ticket, number: str, before: list[str], why: str
) -> Decisions:
    """Give the callback to the next lawyer on duty and tell the caller when (after the prompts `before`)."""
    when = _assign_callback(session, rd, ticket, number, why)
    out: list[Decision] = []
    for key in before:
        out.append(rd.say(key))
    out.append(rd.say("callback_confirmed", when=when, ticket_digits=Digits(ticket.number)))
    out.append(Hangup())
    return tuple(out)


def _assign_callback(session: Session, rd: RouteDesk, ticket: Ticket, number: str, why: str) -> str:
    """Give the ticket to the next lawyer on duty as a callback; returns when, in words for the caller."""
    start, lawyers = rd.data.roster.next_on_duty(utcnow(), rd.data.timezone)
    ticket.route, ticket.callback_number, ticket.assigned_to = "lawyer_callback", number, lawyers[0].id
    add_event(
        session,
        ticket,
        "callback_requested",
        f"{why}：请回电 {number}；交给 {lawyers[0].name}（{lawyers[0].id}），{local_time(start, rd.data.timezone)} 起",
    )
    local = start.astimezone(ZoneInfo(rd.data.timezone))
    today = utcnow().astimezone(ZoneInfo(rd.data.timezone)).date()
    return "今天" if local.date() == today else f"{local.month}月{local.day}日{local.hour}点以后"


# --- supervisor, dispatcher, knowledge base -----------------------------------------------------------------


def _dial_supervisor(session: Session, rd: RouteDesk, call: Call, ticket: Ticket, before: Decisions = ()) -> Decisions:
    """Ring the supervisor on duty (after `before`); with none on the roster the caller is told they will be
    called back."""
    out = list(before)
    digits = Digits(ticket.number)
    out.append(rd.say("urgent_intro", ticket_digits=digits))
    supervisor = rd.data.roster.supervisors[0] if rd.data.roster.supervisors else None
    if supervisor is not None:
        add_call_event(
            session,
            call,
            CallEventKind.DIALLING,
            step=SUPERVISOR_STEP,
            supervisor=supervisor.id,
            number=supervisor.phone,
        )
        out.append(Dial(supervisor.phone, Next.of(To.ROUTE_DIALLED), timeout_s=30))
        return tuple(out)
    out.append(rd.say("urgent_no_answer", ticket_digits=digits))
    out.append(Hangup())
    return tuple(out)


def to_supervisor(session: Session, rd: RouteDesk, form: dict[str, str], why: str, at: str) -> Decisions:
    """Take the caller to the supervisor now, wherever they were (`at`): they pressed or said the emergency
    (`why` caller_key / caller_voice: the ticket, made now if there is none, is marked urgent with the reason
    `caller_emergency`), or an urgent flag was found after routing (`urgent_flag`: the ticket says so already).
    A retried request rings the supervisor again but marks and alerts only once."""
    call = known_call(session, form)
    ticket = call_ticket(session, call, rd.desk.timezone)
    if why in (CALLER_KEY, CALLER_VOICE):
        how = "按了" if why == CALLER_KEY else "说了"
        decide.caller_emergency(session, ticket, rd.data, f"来电人在 {at} 步{how}紧急选项")
    elif why != URGENT_FLAG:
        why = URGENT_FLAG  # an unknown code from a forged or stale URL: the ticket's own route decides
        if ticket.route != decide.SUPERVISOR:
            return _play_route(session, rd, call, ticket, decide.RouteDecision(ticket.route, ["as routed"]))
    entry = leave_queue(session, call.call_sid, "supervisor")  # moved out of the lawyer queue, if there
    add_call_event(
        session,
        call,
        CallEventKind.STEP,
        step=SUPERVISOR_STEP,
        why=why,
        at=at,
        left_queue=entry is not None and entry.outcome == "supervisor",
    )
    stop: Decisions = ()
    if at == DISTRICT_STEP and why != CALLER_KEY and rd.desk.media_url:
        stop = (StopStream(DISTRICT_STREAM),)  # the key's handler stopped it already
    return _dial_supervisor(session, rd, call, ticket, stop)


def route_dialled(session: Session, rd: RouteDesk, form: dict[str, str]) -> Decisions:
    """The supervisor's line ended: if nobody answered, the caller is told they will be called back."""
    call = known_call(session, form)
    ticket = ticket_for_call(session, call.id)
    status = form.get("DialCallStatus", "")
    add_call_event(session, call, CallEventKind.SUPERVISOR_DIAL_ENDED, status=status)
    supervisors = rd.data.roster.supervisors
    if status == "completed" and supervisors:  # the supervisor on the line handled the call (QA samples per handler)
        call.handler, call.handler_role = supervisors[0].id, "supervisor"
    out: list[Decision] = []
    if status != "completed" and ticket is not None:
        add_event(
            session, ticket, "supervisor_unreached", f"班长/主管电话未接通（{dial_status_label(status)}）：请回电"
        )
        out.append(rd.say("urgent_no_answer", ticket_digits=Digits(ticket.number)))
    out.append(Hangup())
    return tuple(out)


def _district_question(session: Session, rd: RouteDesk, call: Call, ticket: Ticket, attempt: int) -> Decisions:
    """Ask where the workplace is: a key per district, or its name said aloud (heard on a live stream)."""
    options = rd.data.directory.district_menu()
    menu = "".join(f"{u.district}请按{n}；" for n, u in enumerate(options, 1))
    add_call_event(session, call, CallEventKind.STEP, step=DISTRICT_STEP, attempt=attempt)
    out: list[Decision] = []
    if rd.desk.media_url and attempt == 1:
        out.append(StartStream(DISTRICT_STREAM, DISTRICT_STEP, "menu"))
    answer = district_answer(attempt)
    timeout_s = int(rd.prompts.get("district_timeout_s", 6))
    out.append(Gather((rd.say("district_question", districts=menu),), answer, timeout_s=timeout_s, num_digits=1))
    out.append(Redirect(answer))
    return tuple(out)


def district_choice(
    session: Session, rd: RouteDesk, form: dict[str, str], attempt: int, said: str | None = None
) -> Decisions:
    """The caller named the district by key (or aloud: `said` is the key the live stream heard): dispatch there;
    no answer twice or 0: the dispatcher decides."""
    call = known_call(session, form)
    ticket = ticket_for_call(session, call.id)
    digits = said if said is not None else form.get("Digits", "")
    via = "voice" if said is not None else "key"
    if said is None and _emergency_key(rd, digits):
        return _emergency_at(
            session, rd, call, DISTRICT_STEP, digits, stop_stream=DISTRICT_STREAM if rd.desk.media_url else None
        )
    if ticket is None:  # the webhook checks first; a call without a ticket has nothing to dispatch
        return _goodbye(rd)
    options = rd.data.directory.district_menu()
    out: list[Decision] = []
    if rd.desk.media_url:
        out.append(StopStream(DISTRICT_STREAM))
    add_call_event(session, call, CallEventKind.MENU_INPUT, step=DISTRICT_STEP, digits=digits, via=via, attempt=attempt)
    if digits.isdigit() and 1 <= int(digits) <= len(options) and ticket.status == "accepted":
        union = options[int(digits) - 1]
        ticket.union_id, ticket.district, ticket.assigned_to, ticket.route = (
            union.id,
            union.district,
            union.id,
            decide.LOCAL_UNION,
        )
        transition(
            session,
            ticket,
            "dispatched",
            actor="caller-ivr",
            note=f"来电人{VIA_LABELS.get(via, via)}选择了{union.district}",
        )
        out.append(
            rd.say(
                "dispatched",
                contact=union.contact,
                reply_days=rd.data.sla.rule(ticket.handling_class).reply_days,
                ticket_digits=Digits(ticket.number),
            )
        )
    elif digits in ("", "*") and attempt < 2:
        return _district_question(session, rd, call, ticket, attempt + 1)
    else:
        add_event(session, ticket, "dispatcher_queue", "来电人未能说出区县：由派单员决定")
        out.append(_to_dispatcher(rd, ticket))
    out.append(Hangup())
    return tuple(out)


def knowledge_more(session: Session, rd: RouteDesk, form: dict[str, str]) -> Decisions:
    """After the knowledge-base answer: 0 for a person, the emergency key for the supervisor, else goodbye."""
    call = known_call(session, form)
    if _emergency_key(rd, form.get("Digits", "")):
        return _emergency_at(session, rd, call, "route:knowledge", form.get("Digits", ""))
    if form.get("Digits") == "0":
        ticket = ticket_for_call(session, call.id)
        if ticket is not None:
            add_event(session, ticket, "asked_for_person", "来电人听完答复后要求人工服务")
        return play(session, rd.desk, call, rd.desk.flow.step_of_kind("dial"))
    return _goodbye(rd)


def seat_bridge(session: Session, rd: RouteDesk, form: dict[str, str], lawyer_id: str) -> Decisions:
    """A lawyer took this caller from the queue (the call was redirected here): ring the lawyer's phone."""
    call = known_call(session, form)
    lawyer = rd.data.roster.lawyer(lawyer_id)
    add_call_event(session, call, CallEventKind.LAWYER_RINGING, lawyer=lawyer_id)
    done = Next.of(To.SEAT_DONE, lawyer=lawyer_id)
    return (rd.say("lawyer_connecting", name=lawyer.name), Dial(lawyer.phone, done, timeout_s=20))


def seat_done(session: Session, rd: RouteDesk, form: dict[str, str], lawyer_id: str) -> Decisions:
    """The lawyer's line ended: the lawyer is free again; if they never answered, the caller gets a callback."""
    call = known_call(session, form)
    set_on_call(session, lawyer_id, None)
    status = form.get("DialCallStatus", "")
    add_call_event(
        session,
        call,
        CallEventKind.LAWYER_CALL_ENDED,
        lawyer=lawyer_id,
        status=status,
        duration=form.get("DialCallDuration"),
    )
    if status != "completed":
        ticket = ticket_for_call(session, call.id)
        if ticket is not None:
            add_event(
                session, ticket, "lawyer_unreached", f"律师 {lawyer_id} 电话未接通（{dial_status_label(status)}）"
            )
        return _callback_offer(rd)
    return hangup()


def free_lawyer_after_call(session: Session, call_sid: str) -> None:
    """The call ended: a lawyer who was on it is free again; a caller still queued has left."""
    entry = session.scalar(select(QueueEntry).where(QueueEntry.call_sid == call_sid))
    if entry is None:
        return
    if entry.lawyer_id:
        set_on_call(session, entry.lawyer_id, None)
    if entry.left_at is None:
        leave_queue(session, call_sid, "hangup")


def _emergency_key(rd: RouteDesk, digits: str) -> bool:
    return rd.desk.flow.emergency is not None and rd.desk.flow.emergency.pressed(digits)


def _emergency_at(
    session: Session, rd: RouteDesk, call: Call, at: str, digits: str, *, stop_stream: str | None = None
) -> Decisions:
    """The caller pressed the emergency key at a question after routing: noted, then on to the supervisor."""
    add_call_event(session, call, CallEventKind.EMERGENCY, step=at, why=CALLER_KEY, digits=digits)
    return urgent_redirect(CALLER_KEY, at, stop_stream=stop_stream)
