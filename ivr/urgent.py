"""A caller still on the line goes where the ticket's final route says: to the supervisor, once an urgent flag
is found after the call was routed (the recording's batch transcript, say), or when the words show the caller's
own emergency phrase.

The recording pipeline calls `after_words` when the caller's words change what is understood; a job
(`move_to_supervisor`, one per call by its key) redirects the live call with Twilio's REST `calls(sid).update`,
as live voice navigation does. A caller who hung up meanwhile keeps the alert only; a caller already talking to
a person (a lawyer, an operator, the supervisor) is not cut off.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline.db import transaction
from hotline.jobs import URGENT, Handler, RetryLater, enqueue
from hotline.twilio_client import is_twilio_call
from ivr.flow import Flow
from ivr.route_calls import DISTRICT_STEP, QUEUE_STEP, SUPERVISOR_STEP
from ivr.steps import URGENT_FLAG
from ivr.twiml import urgent_url
from recordings.call_events import CallEventKind, Place
from recordings.calls import add_call_event, find_call
from recordings.tables import Call, CallEvent
from routing import decide
from routing.config import RoutingData
from routing.tables import Ticket
from routing.tickets import add_event, ticket_for_call

log = logging.getLogger(__name__)

MOVE_TO_SUPERVISOR = "move_to_supervisor"
WITH_A_PERSON = Place.WITH_A_PERSON
# The steps a caller may be moved from: they only listen to us (a prompt, a question, the queue's music).
_MOVABLE = ("route", DISTRICT_STEP, QUEUE_STEP, "route:knowledge", "route:callback")


def after_words(flow: Flow, data: RoutingData) -> Callable[[Session, Call, Ticket, str], None]:
    """The pipeline's hook once the caller's words were understood anew, the call perhaps still going on."""

    def hook(session: Session, call: Call, ticket: Ticket, text: str) -> None:
        emergency = flow.emergency
        said = emergency.said_in(text) if emergency is not None and text else None
        if said is not None:
            decide.caller_emergency(session, ticket, data, f"来电人说了“{said}”（录音转写）")
        request_move(session, call, ticket)

    return hook


def request_move(session: Session, call: Call, ticket: Ticket) -> bool:
    """Queue the move of the call to the supervisor when its ticket's route says so and the caller is still on
    the line; at most once a call (a second flag, a retried job or webhook finds the job there). True if queued."""
    if ticket.route != decide.SUPERVISOR or reached_supervisor(session, call):
        return False
    if call.ended_at is not None:
        add_call_event(session, call, CallEventKind.SUPERVISOR_MOVE_SKIPPED, reason="hung_up", ticket=ticket.number)
        return False
    return enqueue(
        session, MOVE_TO_SUPERVISOR, f"to-supervisor:{call.call_sid}", {"call_sid": call.call_sid}, priority=URGENT
    )


def reached_supervisor(session: Session, call: Call) -> bool:
    """True once the call rang the supervisor (it is there, or was: nothing to move)."""
    dialled = session.scalars(
        select(CallEvent.detail).where(CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.DIALLING)
    ).all()
    return any((d or {}).get("step") == SUPERVISOR_STEP for d in dialled)


def _base_url(session: Session, call: Call, public_url: str | None) -> str | None:
    """Our public base URL for Twilio: the setting, else the one the call was answered on."""
    if public_url:
        return public_url.rstrip("/")
    answered = session.scalar(
        select(CallEvent)
        .where(CallEvent.call_id == call.id, CallEvent.kind == CallEventKind.ANSWERED)
        .order_by(CallEvent.id)
        .limit(1)
    )
    return (answered.detail or {}).get("base_url") if answered is not None else None


class SupervisorMover:
    """The job that redirects a live call to the supervisor (`/twilio/urgent?why=urgent_flag`)."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        twilio_rest: Client,  # Twilio's, or the emulator's
        public_url: str | None,
        attempts: int = 3,
        backoff_s: float = 1.0,
    ) -> None:
        self._factory = factory
        self._twilio = twilio_rest
        self._public_url = public_url
        self._attempts = attempts
        self._backoff_s = backoff_s

    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler, for the JobRunner."""
        return {MOVE_TO_SUPERVISOR: self.move}

    def move(self, payload: dict[str, Any], attempt: int) -> None:
        """Redirect the call, unless it ended, is with a person, or is at the supervisor already."""
        call_sid = payload["call_sid"]
        with transaction(self._factory) as session:
            call = find_call(session, call_sid)
            if call is None:
                return
            place = call.place  # where the caller stands (recordings.calls.add_call_event keeps it)
            skip = (
                "hung_up"
                if call.ended_at is not None
                else "not_on_twilio"  # an Asterisk call: moving it mid-menu is Twilio's only (README)
                if not is_twilio_call(call_sid)
                else "at_supervisor"
                if place == SUPERVISOR_STEP
                else None
                if place in _MOVABLE
                else WITH_A_PERSON
                if place == WITH_A_PERSON
                else "not_movable"
            )
            base = _base_url(session, call, self._public_url)
            if skip is not None or base is None:
                add_call_event(
                    session, call, CallEventKind.SUPERVISOR_MOVE_SKIPPED, reason=skip or "no_public_url", at=place
                )
                return
        url = base + urgent_url(URGENT_FLAG, place)
        try:
            self._twilio.calls(call_sid).update(url=url, method="POST")
        except TwilioRestException as exc:
            with transaction(self._factory) as session:
                call = _call_again(session, call_sid)
                # Twilio refuses to redirect a call that is over (21220): the caller hung up meanwhile.
                reason = "hung_up" if exc.code == 21220 else "twilio_refused"
                add_call_event(
                    session, call, CallEventKind.SUPERVISOR_MOVE_SKIPPED, reason=reason, at=place, error=str(exc)
                )
            return
        except (httpx.HTTPError, OSError) as exc:
            if attempt < self._attempts:
                raise RetryLater(
                    f"moving call {call_sid} to the supervisor: {exc}", self._backoff_s * 2 ** (attempt - 1)
                ) from exc
            log.error("could not move call %s to the supervisor: %s", call_sid, exc)
            return
        with transaction(self._factory) as session:
            call = _call_again(session, call_sid)
            add_call_event(session, call, CallEventKind.MOVED_TO_SUPERVISOR, at=place, why=URGENT_FLAG)
            ticket = ticket_for_call(session, call.id)
            if ticket is not None:
                add_event(session, ticket, "moved_to_supervisor", f"来电人在 {place} 步：已转至班长/主管电话")


def _call_again(session: Session, call_sid: str) -> Call:
    """The call the job found in its first transaction, read again in a later one (calls are never deleted)."""
    return session.execute(select(Call).where(Call.call_sid == call_sid)).scalar_one()
