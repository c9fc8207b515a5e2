"""Asking a replied ticket's caller for a satisfaction survey (回访): the request only.

Kept apart from routing/survey.py, which places the calls and moves tickets on through routing/lifecycle.py: a
reply (lifecycle) requests a survey, and the survey's outcome moves the ticket (survey → lifecycle), so the
request is the one piece both need.
"""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing.tables import SatisfactionSurvey, Ticket
from routing.tickets import add_event

PENDING, CALLING, ANSWERED, UNREACHABLE, CANCELLED = "pending", "calling", "answered", "unreachable", "cancelled"
ACTOR = "survey"


def schedule_survey(session: Session, ticket: Ticket) -> SatisfactionSurvey | None:
    """A ticket was replied to: ask its caller. The round (`due_calls`) decides when; None without a number.

    A survey still open for the ticket is kept rather than doubled.
    """
    open_one = session.scalar(
        select(SatisfactionSurvey).where(
            SatisfactionSurvey.ticket_id == ticket.id, SatisfactionSurvey.status.in_((PENDING, CALLING))
        )
    )
    if open_one is not None:
        return open_one
    number = (ticket.callback_number or ticket.caller_number or "").strip()
    if not number:
        add_event(session, ticket, "survey_skipped", "不回访：没有可回拨的号码", actor=ACTOR)
        return None
    asked = (
        session.scalar(
            select(func.count()).select_from(SatisfactionSurvey).where(SatisfactionSurvey.ticket_id == ticket.id)
        )
        or 0
    )
    survey = SatisfactionSurvey(
        ticket_id=ticket.id,
        round=asked + 1,
        channel="voice",
        to_number=number,
        status=PENDING,
        attempts=0,
        next_attempt_at=None,
    )
    session.add(survey)
    session.flush()
    return survey
