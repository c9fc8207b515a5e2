"""The satisfaction callback call (回访): what the caller hears, and what each of the call's webhooks does.

The words and keys come from the survey file (`ivr/flows/survey.yaml`); the survey's state lives in
`routing.survey`. Webhooks may be retried: an answer is recorded once, an attempt's end is counted once.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from sqlalchemy.orm import Session
from twilio.twiml.voice_response import Gather, VoiceResponse

from hotline import twilio_paths as paths
from ivr.flow import Voice
from ivr.twiml import SayParent, say_in_voice, spoken_digits
from routing.calendar import WorkingCalendar
from routing.survey import (
    RESULT_LABELS,
    SurveyPolicy,
    call_placed,
    find_survey,
    record_answer,
    record_no_answer,
)
from routing.survey_calls import Clock
from routing.survey_request import ANSWERED, CALLING
from routing.tables import SatisfactionSurvey, Ticket

TERMINAL_STATUSES = ("completed", "busy", "no-answer", "failed", "canceled")


@dataclass(frozen=True)
class SurveyDesk:
    """What the survey webhooks need: the policy, the working calendar and the clock."""

    policy: SurveyPolicy
    calendar: WorkingCalendar
    clock: Clock


def keys_path(survey_id: int, attempt: int, tries: int) -> str:
    return (
        paths.path_for(paths.SURVEY_KEYS, survey_id=survey_id) + "?" + urlencode({"attempt": attempt, "tries": tries})
    )


# ----- TwiML ----------------------------------------------------------------------------------------------


def _say(policy: SurveyPolicy, parent: SayParent, text: str) -> None:
    if text:
        say_in_voice(parent, Voice(policy.language, policy.voice), text)


def render_question(policy: SurveyPolicy, survey_id: int, attempt: int, tries: int, *, lead: str = "") -> str:
    """The question inside a one-key <Gather>; `lead` is said first (the intro, or why we ask again)."""
    response = VoiceResponse()
    action = keys_path(survey_id, attempt, tries)
    gather = Gather(
        input="dtmf",
        num_digits=1,
        timeout=policy.answer_timeout_s,
        action=action,
        method="POST",
        action_on_empty_result=True,
    )
    _say(policy, gather, lead)
    _say(policy, gather, policy.prompts["question"])
    response.append(gather)
    response.redirect(action, method="POST")  # should Twilio fall through the Gather, the same handler decides
    return str(response)


def render_goodbye(policy: SurveyPolicy, text: str) -> str:
    response = VoiceResponse()
    _say(policy, response, text)
    response.hangup()
    return str(response)


def _thanks(policy: SurveyPolicy, result: str) -> str:
    template = policy.prompts["thanks_reopened" if result in policy.reopen else "thanks"]
    return render_goodbye(policy, template.format(label=RESULT_LABELS[result]))


# ----- webhooks -------------------------------------------------------------------------------------------


def _survey_for(session: Session, survey_id: int, attempt: int) -> SatisfactionSurvey | None:
    """The survey this attempt's call belongs to, if it is still that attempt's turn."""
    survey = find_survey(session, survey_id)
    if survey is None or survey.attempts != attempt:
        return None
    return survey


def answer_call(session: Session, desk: SurveyDesk, form: dict[str, str], survey_id: int, attempt: int) -> str:
    """The caller picked up: introduce the call and ask."""
    survey = _survey_for(session, survey_id, attempt)
    if survey is None or survey.status not in (CALLING, ANSWERED):
        return render_goodbye(desk.policy, "")
    if survey.result is not None:  # a retried webhook after the answer (ANSWERED comes with its result)
        return _thanks(desk.policy, survey.result)
    call_placed(session, survey, attempt, form.get("CallSid", ""))
    ticket = session.get_one(Ticket, survey.ticket_id)  # the survey goes with its ticket (ON DELETE CASCADE)
    intro = desk.policy.prompts["intro"].format(ticket_digits=spoken_digits(ticket.number))
    return render_question(desk.policy, survey_id, attempt, 1, lead=intro)


def pressed(session: Session, desk: SurveyDesk, form: dict[str, str], survey_id: int, attempt: int, tries: int) -> str:
    """The caller's key: record the answer and thank them; a key that means nothing is asked again
    (`reasks` times), then the call ends politely and counts as no answer (see `call_status`)."""
    survey = _survey_for(session, survey_id, attempt)
    if survey is None or survey.status not in (CALLING, ANSWERED):
        return render_goodbye(desk.policy, "")
    if survey.result is not None:  # answered: Twilio retried this webhook, the same thanks, nothing recorded twice
        return _thanks(desk.policy, survey.result)
    digits = form.get("Digits", "")
    result = desk.policy.result_for(digits)
    if result is not None:
        record_answer(session, survey, result, desk.clock(), policy=desk.policy, call_sid=form.get("CallSid"))
        return _thanks(desk.policy, result)
    if tries <= desk.policy.reasks:
        why = desk.policy.prompts["invalid" if digits else "no_key"]
        return render_question(desk.policy, survey_id, attempt, tries + 1, lead=why)
    return render_goodbye(desk.policy, desk.policy.prompts["goodbye_unanswered"])


def call_status(session: Session, desk: SurveyDesk, form: dict[str, str], survey_id: int, attempt: int) -> bool:
    """The call's status changed; once it is over without an answer the attempt counts as no answer.
    True when something was recorded (False for progress events and retried callbacks)."""
    status = form.get("CallStatus", "")
    survey = _survey_for(session, survey_id, attempt)
    if survey is None:
        return False
    if form.get("CallSid"):
        call_placed(session, survey, attempt, form["CallSid"])
    if status not in TERMINAL_STATUSES or survey.status != CALLING:
        return False
    return record_no_answer(session, survey, attempt, status, desk.clock(), desk.policy, desk.calendar)
