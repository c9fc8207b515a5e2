"""Webhooks of the satisfaction callback (回访) call: each checks Twilio's signature, then `ivr.survey` acts."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Response

from api.deps import RowId, ServicesDep, SessionDep, TwilioForm
from api.routes.twilio_voice import twiml_response
from hotline import twilio_paths as paths
from ivr import survey as ivr_survey
from ivr.survey import SurveyDesk

router = APIRouter(tags=["twilio"])  # the paths: hotline/twilio_paths.py

Attempt = Annotated[int, Query(ge=1, description="which attempt of the survey this call is")]


def _desk(services: ServicesDep) -> SurveyDesk:
    caller = getattr(services, "surveys", None)
    if caller is None:
        raise HTTPException(503, "satisfaction callbacks are not set up in this service")
    return SurveyDesk(caller.policy, caller.calendar, caller.clock)


@router.post(paths.SURVEY_CALL, summary="The caller picked up the survey call: the question")
def survey_call(
    survey_id: RowId, attempt: Attempt, form: TwilioForm, session: SessionDep, services: ServicesDep
) -> Response:
    return twiml_response(session, ivr_survey.answer_call(session, _desk(services), form, survey_id, attempt))


@router.post(paths.SURVEY_KEYS, summary="The key the caller pressed: the answer")
def survey_keys(
    survey_id: RowId,
    attempt: Attempt,
    form: TwilioForm,
    session: SessionDep,
    services: ServicesDep,
    tries: Annotated[int, Query(ge=1)] = 1,
) -> Response:
    return twiml_response(session, ivr_survey.pressed(session, _desk(services), form, survey_id, attempt, tries))


@router.post(paths.SURVEY_STATUS, summary="The survey call's status changed", status_code=204)
def survey_status(
    survey_id: RowId, attempt: Attempt, form: TwilioForm, session: SessionDep, services: ServicesDep
) -> Response:
    ivr_survey.call_status(session, _desk(services), form, survey_id, attempt)
    session.commit()
    return Response(status_code=204)
