"""Twilio webhooks after the problem is recorded: routing, the lawyer queue, callbacks, districts."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ServicesDep, SessionDep, TwilioForm
from api.routes.twilio_voice import apology, call_desk, decided
from hotline import twilio_paths as paths
from ivr import route_calls, stray
from ivr.route_calls import RouteDesk

router = APIRouter(tags=["twilio"])  # the paths: hotline/twilio_paths.py


def _route_desk(request: Request, services: ServicesDep) -> RouteDesk:
    return RouteDesk(call_desk(request, services), services.routing, services.route_prompts)


@router.post(paths.ROUTE, summary="Route the ticket and take the caller where it goes")
def route(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep, wait: int = 0) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.route(session, rd, form, wait))


@router.post(paths.QUEUE_WAIT, summary="What a caller waiting for a lawyer hears")
def queue_wait(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    form = stray.plain_numbers(form, "QueuePosition", "QueueTime", "AvgQueueTime")
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.queue_wait(session, rd, form))


@router.post(paths.QUEUE_KEY, summary="A key pressed while waiting for a lawyer (the emergency key leaves the queue)")
def queue_key(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.queue_key(session, rd, form))


@router.post(
    paths.URGENT,
    summary="Take the caller to the supervisor now: their emergency, or an urgent flag found after routing",
)
def urgent(
    request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep, why: str = "", at: str = ""
) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.to_supervisor(session, rd, form, why, at[:64]))


@router.post(paths.QUEUE_DONE, summary="The caller left the lawyer queue")
def queue_done(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.queue_done(session, rd, form))


@router.post(paths.CALLBACK_CONFIRM, summary="The caller's answer to the callback offer, or a number typed again")
def callback_confirm(
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    tries: int = 1,
    refused: int = 0,
) -> Response:
    if not stray.has_ticket(session, form["CallSid"]):  # no ticket to call back about
        return apology(services)
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.callback_confirm(session, rd, form, tries, refused))


@router.post(paths.CALLBACK_CHECK, summary="The caller's answer to the callback number read back")
def callback_check(
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    number: str = "",
    tries: int = 1,
    refused: int = 0,
    asked: int = 1,
) -> Response:
    if not stray.has_ticket(session, form["CallSid"]):  # no ticket to call back about
        return apology(services)
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.callback_check(session, rd, form, number, tries, refused, asked))


@router.post(paths.ROUTE_DIALLED, summary="The supervisor's line ended")
def route_dialled(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.route_dialled(session, rd, form))


@router.post(paths.ROUTE_DISTRICT, summary="The caller chose the district by key, or said it (`said`: the key)")
def district(
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    attempt: int = 1,
    said: str | None = None,
) -> Response:
    if not stray.has_ticket(session, form["CallSid"]):  # no ticket to dispatch
        return apology(services)
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.district_choice(session, rd, form, attempt, said))


@router.post(paths.ROUTE_MORE, summary="After a knowledge-base answer: a person, or goodbye")
def more(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.knowledge_more(session, rd, form))


@router.post(paths.SEAT_BRIDGE, summary="A lawyer took the caller from the queue: ring the lawyer")
def seat_bridge(
    request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep, lawyer: str
) -> Response:
    if lawyer not in services.routing.roster.lawyers:  # not on the roster: nobody to ring or free
        return apology(services)
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.seat_bridge(session, rd, form, lawyer))


@router.post(paths.SEAT_DONE, summary="The lawyer's line ended")
def seat_done(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep, lawyer: str) -> Response:
    if lawyer not in services.routing.roster.lawyers:  # not on the roster: nobody to ring or free
        return apology(services)
    rd = _route_desk(request, services)
    return decided(session, rd.desk, route_calls.seat_done(session, rd, form, lawyer))
