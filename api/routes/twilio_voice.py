"""Twilio's voice webhooks: each checks the signature, hands the form to `ivr.call`, answers TwiML."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ServicesDep, SessionDep, TwilioForm
from api.twilio_auth import public_base
from ivr import call as ivr_call
from ivr.call import CallDesk

router = APIRouter(prefix="/twilio", tags=["twilio"])


def _twiml(session: SessionDep, xml: str) -> Response:
    """Commit what the request changed, then answer: Twilio's next request must see it."""
    session.commit()
    return Response(content=xml, media_type="application/xml")


def _desk(request: Request, services: ServicesDep) -> CallDesk:
    settings = services.settings
    return CallDesk(services.flow, settings.timezone, public_base(request, settings.public_url))


@router.post("/voice", summary="A call comes in: the greeting and the menu")
def voice(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    response = _twiml(session, ivr_call.answer(session, _desk(request, services), form))
    services.runner.wake()
    return response


@router.post("/step/{step}", summary="Play a step of the flow")
def step(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    return _twiml(session, ivr_call.goto(session, _desk(request, services), form, step))


@router.post("/step/{step}/keys", summary="The caller's keys at a menu")
def keys(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep,
         attempt: int = 1) -> Response:
    return _twiml(session, ivr_call.menu_keys(session, _desk(request, services), form, step, attempt))


@router.post("/step/{step}/recorded", summary="The caller finished describing the problem")
def recorded(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    return _twiml(session, ivr_call.recorded(session, _desk(request, services), form, step))


@router.post("/step/{step}/dialled", summary="A connection to a person ended")
def dialled(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    return _twiml(session, ivr_call.dialled(session, _desk(request, services), form, step))


@router.post("/recording-status", summary="A recording is ready (or absent)", status_code=204)
def recording_status(form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    if ivr_call.recording_status(session, form):
        session.commit()
        services.runner.wake()
    return Response(status_code=204)


@router.post("/status", summary="The call's status changed (it ended)", status_code=204)
def call_status(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    ivr_call.call_status(session, _desk(request, services), form)
    session.commit()
    return Response(status_code=204)
