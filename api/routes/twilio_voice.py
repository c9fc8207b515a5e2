"""Twilio's voice webhooks: each checks the signature, hands the form to `ivr.call`, answers its decisions as TwiML."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from api.deps import ServicesDep, SessionDep, TwilioForm
from api.twilio_auth import public_base
from hotline import twilio_paths as paths
from ivr import call as ivr_call
from ivr import stray
from ivr.call import CallDesk
from ivr.decisions import Decisions
from ivr.reconcile import finish_call
from ivr.twiml import media_stream_url, render

router = APIRouter(tags=["twilio"])  # the paths: hotline/twilio_paths.py


def twiml_response(session: SessionDep, xml: str) -> Response:
    """Commit what the request changed, then answer: Twilio's next request must see it."""
    session.commit()
    return Response(content=xml, media_type="application/xml")


def decided(session: SessionDep, desk: CallDesk, decisions: Decisions) -> Response:
    """Commit what the request changed, then answer the engine's decisions as TwiML."""
    return twiml_response(session, render(decisions, desk.flow.voice, desk.recorded, desk.media_url))


def apology(services: ServicesDep) -> Response:
    """A request the call cannot go on from (ivr.stray): an apology and goodbye; nothing is written."""
    xml = render(stray.apology(services.route_prompts), services.flow.voice)  # said, as the call is not known
    return Response(content=xml, media_type="application/xml")


def call_desk(request: Request, services: ServicesDep) -> CallDesk:
    settings = services.settings
    base = public_base(request, settings.public_url)
    live = getattr(request.app.state, "live_speech", None)  # set up by api.routes.media_stream
    prompts = settings.prompts_root
    if live is None or not live.listening():
        return CallDesk(services.flow, settings.timezone, base, prompts_dir=prompts)
    return CallDesk(
        services.flow,
        settings.timezone,
        base,
        media_stream_url(base),
        live.transcripts,
        services.model.name,
        prompts_dir=prompts,
    )


@router.post(paths.VOICE, summary="A call comes in: the greeting and the menu")
def voice(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    desk = call_desk(request, services)
    response = decided(session, desk, ivr_call.answer(session, desk, form))
    services.runner.wake()
    return response


@router.post(paths.STEP, summary="Play a step of the flow")
def step(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    if not stray.step_takes(services.flow, step):  # a stale URL (the flow file changed) or an odd request
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.goto(session, desk, form, step))


@router.post(paths.STEP_KEYS, summary="The caller's keys at a menu")
def keys(
    step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep, attempt: int = 1
) -> Response:
    if not stray.step_takes(services.flow, step, "menu"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.menu_keys(session, desk, form, step, attempt))


@router.post(paths.STEP_SPOKEN, summary="The caller said a menu choice (a live redirect)")
def spoken(
    step: str,
    choice: str,
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    confidence: float | None = None,
) -> Response:
    if not stray.step_takes(services.flow, step, "menu"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.menu_spoken(session, desk, form, step, choice, confidence))


@router.post(paths.STEP_CONFIRM, summary="Ask the caller to confirm a choice heard with little confidence")
def confirm(
    step: str,
    choice: str,
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    attempt: int = 1,
) -> Response:
    if not stray.step_takes(services.flow, step, "menu"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.menu_confirm(session, desk, form, step, choice, attempt))


@router.post(paths.STEP_CONFIRMED, summary="The caller's answer to the confirmation")
def confirmed(
    step: str,
    choice: str,
    request: Request,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    attempt: int = 1,
) -> Response:
    if not stray.step_takes(services.flow, step, "menu"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.menu_confirmed(session, desk, form, step, choice, attempt))


@router.post(paths.STEP_RECORDED, summary="The caller finished describing the problem")
def recorded(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    if not stray.step_takes(services.flow, step, "record"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.recorded(session, desk, form, step))


@router.post(paths.STEP_DIALLED, summary="A connection to a person ended")
def dialled(step: str, request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    if not stray.step_takes(services.flow, step, "dial"):  # a stale or odd URL
        return apology(services)
    desk = call_desk(request, services)
    return decided(session, desk, ivr_call.dialled(session, desk, form, step))


@router.post(paths.RECORDING_STATUS, summary="A recording is ready (or absent)", status_code=204)
def recording_status(form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    if ivr_call.recording_status(session, form):
        session.commit()
        services.runner.wake()
    return Response(status_code=204)


@router.post(paths.STATUS, summary="The call's status changed (it ended)", status_code=204)
def call_status(request: Request, form: TwilioForm, session: SessionDep, services: ServicesDep) -> Response:
    form = stray.plain_numbers(form, "CallDuration")
    finish_call(session, call_desk(request, services), form)  # the one writer, with reconciliation (ivr.reconcile)
    session.commit()
    return Response(status_code=204)
