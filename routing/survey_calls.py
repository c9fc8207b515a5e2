"""Placing the satisfaction callbacks: the periodic round that finds calls due, and the job that dials them.

The round runs every few seconds (a `hotline.jobs.PeriodicTask`); what it decides is in the database
(`next_attempt_at`), so a restart loses nothing. Each call is a persistent job that asks Twilio's REST API
to ring the caller; the call's own webhooks (`api.routes.twilio_survey`) take it from there.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from sqlalchemy.orm import Session, sessionmaker
from twilio.base.exceptions import TwilioRestException
from twilio.rest import Client

from hotline import twilio_paths as paths
from hotline.db import transaction, utcnow
from hotline.jobs import NORMAL, Handler, RetryLater, enqueue
from hotline.settings import Settings
from routing.calendar import WorkingCalendar
from routing.survey import (
    SurveyPolicy,
    call_placed,
    due_calls,
    find_survey,
    load_survey_policy,
    record_no_answer,
)

log = logging.getLogger(__name__)

PLACE_SURVEY_CALL = "place_survey_call"
STATUS_EVENTS = ["initiated", "ringing", "answered", "completed"]

Clock = Callable[[], datetime]


def survey_url(base_url: str, survey_id: int, action: str, attempt: int, **query: object) -> str:
    """An absolute webhook URL of one attempt's call (`call`, `keys` or `status`); the survey and attempt are
    in the URL, so a webhook that arrives before the REST answer still finds its survey."""
    params = urlencode({"attempt": attempt, **query})
    path = {"call": paths.SURVEY_CALL, "keys": paths.SURVEY_KEYS, "status": paths.SURVEY_STATUS}[action]
    return f"{base_url.rstrip('/')}{paths.path_for(path, survey_id=survey_id)}?{params}"


@dataclass
class FileClock:
    """TESTS ONLY: the time written in a file (ISO 8601 with offset), else the real time.

    The survey's schedule spans hours and days; end-to-end tests move this clock instead of waiting.
    """

    path: Path

    def __call__(self) -> datetime:
        try:
            text = self.path.read_text(encoding="utf-8").strip()
        except OSError:
            return utcnow()
        if not text:
            return utcnow()
        moment = datetime.fromisoformat(text)
        if moment.tzinfo is None:
            raise ValueError(f"{self.path}: the test clock needs a UTC offset, not {text!r}")
        return moment


class SurveyCaller:
    """The round and the job handler, with what they need: policy, calendar, REST client, numbers, clock."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        policy: SurveyPolicy,
        calendar: WorkingCalendar,
        twilio_rest: Client,
        *,
        from_number: str,
        base_url: str,
        clock: Clock = utcnow,
        attempts: int = 4,
        backoff_s: float = 5.0,
        wake: Callable[[], None] | None = None,
    ) -> None:
        self.factory = factory
        self.policy = policy
        self.calendar = calendar
        self.clock = clock
        self._twilio = twilio_rest
        self._from = from_number
        self._base = base_url
        self._attempts = attempts
        self._backoff_s = backoff_s
        self._wake = wake

    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler, for the JobRunner."""
        return {PLACE_SURVEY_CALL: self.place_call}

    def round(self) -> None:
        """Claim the calls due now and queue a job for each (in the same transaction: none is lost or doubled)."""
        now = self.clock()
        with transaction(self.factory) as session:
            result = due_calls(session, self.policy, self.calendar, now)
            for due in result.calls:
                enqueue(
                    session,
                    PLACE_SURVEY_CALL,
                    f"survey-call:{due.survey_id}:{due.attempt}",
                    {"survey_id": due.survey_id, "attempt": due.attempt, "to": due.to_number},
                    priority=NORMAL,
                )
        if result.calls:
            log.info("satisfaction callbacks due: %s", [(c.ticket_number, c.attempt) for c in result.calls])
            if self._wake is not None:
                self._wake()

    def place_call(self, payload: dict[str, Any], attempt: int) -> None:
        """Ring the caller (Twilio REST Calls create); safe to run twice: a placed call is not placed again."""
        survey_id, call_attempt = int(payload["survey_id"]), int(payload["attempt"])
        with self.factory() as session:
            survey = find_survey(session, survey_id)
            if survey is None or survey.attempts != call_attempt or survey.call_sid is not None:
                return
            if survey.status != "calling":
                return
        try:
            call = self._twilio.calls.create(
                to=payload["to"],
                from_=self._from,
                url=survey_url(self._base, survey_id, "call", call_attempt),
                method="POST",
                status_callback=survey_url(self._base, survey_id, "status", call_attempt),
                status_callback_event=STATUS_EVENTS,
                status_callback_method="POST",
                timeout=self.policy.ring_timeout_s,
            )
        except TwilioRestException as exc:
            if exc.status < 500:  # Twilio refused the call (a bad number): this attempt failed
                self._attempt_failed(survey_id, call_attempt, f"Twilio refused the call: {exc.msg}")
                return
            self._retry_or_fail(survey_id, call_attempt, attempt, exc)
            return
        except OSError as exc:  # the network (requests' errors are OSErrors)
            self._retry_or_fail(survey_id, call_attempt, attempt, exc)
            return
        with transaction(self.factory) as session:
            survey = find_survey(session, survey_id)
            if survey is not None:
                call_placed(session, survey, call_attempt, call.sid)

    def _retry_or_fail(self, survey_id: int, call_attempt: int, job_attempt: int, exc: Exception) -> None:
        if job_attempt < self._attempts:
            raise RetryLater(f"placing survey call: {exc}", self._backoff_s * 2 ** (job_attempt - 1)) from exc
        self._attempt_failed(survey_id, call_attempt, f"{type(exc).__name__}: {exc}")

    def _attempt_failed(self, survey_id: int, call_attempt: int, why: str) -> None:
        log.warning("survey %s attempt %s could not be placed: %s", survey_id, call_attempt, why)
        with transaction(self.factory) as session:
            survey = find_survey(session, survey_id)
            if survey is not None:
                record_no_answer(session, survey, call_attempt, "failed", self.clock(), self.policy, self.calendar)


DEV_BASE_URL = "http://127.0.0.1:8000"  # `hotline serve`'s default address, when it did not say where it listens


def build_survey_caller(
    settings: Settings, factory: sessionmaker[Session], calendar: WorkingCalendar, twilio_rest: Client
) -> SurveyCaller:
    """The survey caller for these settings; fails fast on a bad survey file or a test clock in production."""
    clock: Clock = utcnow
    if settings.test_clock_file is not None:
        if settings.is_production:
            raise ValueError("HOTLINE_TEST_CLOCK_FILE is for tests: unset it in production")
        log.warning("TEST CLOCK ON: the satisfaction callbacks read the time from %s", settings.test_clock_file)
        clock = FileClock(Path(settings.test_clock_file))
    base = settings.public_url
    if not base:
        base = settings.listen_url or DEV_BASE_URL  # the port actually served, not the default one
        log.warning(
            "HOTLINE_PUBLIC_URL is not set: satisfaction callbacks give Twilio %s as the service's address", base
        )
    return SurveyCaller(
        factory,
        load_survey_policy(settings.survey_file),
        calendar,
        twilio_rest,
        from_number=settings.survey_from_number,
        base_url=base,
        clock=clock,
    )
