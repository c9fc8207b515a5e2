"""The satisfaction callback (回访): when it is due, how often it is tried, and what the answer does to the ticket.

Every function takes the time as an argument, so tests drive the clock. The outbound calls themselves are
placed by a job (`routing.survey_calls`); the webhooks of the call (`api.routes.twilio_survey`) call
`record_answer` and `record_no_answer` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator, model_validator
from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.data_files import Clock, DataFileError, DataModel, Wrong, load_yaml
from routing import lifecycle
from routing.calendar import WorkingCalendar
from routing.survey_request import ACTOR, ANSWERED, CALLING, CANCELLED, PENDING, UNREACHABLE
from routing.tables import Alert, SatisfactionSurvey, Ticket
from routing.tickets import add_event

RESULTS = ("satisfied", "basic", "dissatisfied")
RESULT_LABELS = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}

# Call outcomes that end an attempt without an answer, in the caller's words on the ticket.
OUTCOME_LABELS = {
    "no-answer": "无人接听",
    "busy": "占线",
    "failed": "呼叫失败",
    "canceled": "呼叫取消",
    "completed": "接听后未按键挂机",
    "no-status": "没有收到呼叫结果",
}


class SurveyConfigError(DataFileError):
    """The survey file is not usable; the message names the key and what to fix."""


@dataclass(frozen=True)
class RetryRule:
    """One more attempt: `after` a while, or on the next working day at `at`."""

    after: timedelta | None = None
    at: time | None = None


@dataclass(frozen=True)
class SurveyPolicy:
    """What the survey file says: keys, prompts, calling hours and the retry schedule."""

    keys: dict[str, str]
    prompts: dict[str, str]
    language: str = "zh-CN"
    voice: str | None = None
    reopen: frozenset[str] = frozenset({"dissatisfied"})
    hours_start: time = time(9, 0)
    hours_end: time = time(20, 0)
    working_days_only: bool = True
    first_after: timedelta = timedelta(minutes=30)
    retries: tuple[RetryRule, ...] = ()
    ring_timeout_s: int = 30
    answer_timeout_s: int = 8
    status_wait: timedelta = timedelta(minutes=30)
    reasks: int = 2
    channel: str = "voice"

    @property
    def max_attempts(self) -> int:
        """The first call and one per retry rule."""
        return 1 + len(self.retries)

    def result_for(self, digits: str) -> str | None:
        """The answer a key means, or None for a key that means nothing."""
        return self.keys.get(digits[:1]) if digits else None


PROMPTS = ("intro", "question", "invalid", "no_key", "thanks", "thanks_reopened", "goodbye_unanswered")
Result = Literal["satisfied", "basic", "dissatisfied"]
Minutes = Annotated[float, Field(ge=0)]


class _Voice(DataModel):
    language: str = "zh-CN"
    voice: str | None = None


class _CallingHours(DataModel):
    start: Clock = time(9, 0)
    end: Clock = time(20, 0)

    @model_validator(mode="after")
    def _in_order(self) -> _CallingHours:
        if self.start >= self.end:
            raise Wrong(f"{self.end:%H:%M} must be after start {self.start:%H:%M}", "end")
        return self


class _FirstCall(DataModel):
    after_minutes: Minutes = 0


class _Retry(DataModel):
    after_minutes: Minutes | None = None
    next_working_day_at: Clock | None = None

    @model_validator(mode="after")
    def _one_of(self) -> _Retry:
        if (self.after_minutes is None) == (self.next_working_day_at is None):
            raise Wrong('a retry is {after_minutes: N} or {next_working_day_at: "10:00"}, one of the two')
        return self


class SurveyFile(DataModel):
    """The survey file (ivr/flows/survey.yaml) as written."""

    voice: _Voice = _Voice()
    channel: Literal["voice"] = "voice"  # only voice callbacks are supported
    keys: dict[str, Result]
    reopen: tuple[Result, ...] = ()
    calling_hours: _CallingHours = _CallingHours()
    working_days_only: bool = True
    first_call: _FirstCall = _FirstCall()
    retries: tuple[_Retry, ...] = ()
    ring_timeout_s: Annotated[int, Field(ge=0)] = 30
    answer_timeout_s: Annotated[int, Field(ge=0)] = 8
    status_wait_minutes: Minutes = 30
    reasks: Annotated[int, Field(ge=0)] = 2
    prompts: dict[str, str]

    @field_validator("keys")
    @classmethod
    def _single_keys(cls, keys: dict[str, str]) -> dict[str, str]:
        if not keys:
            raise Wrong(f'give at least one key, e.g. "1": satisfied; the answers are {", ".join(RESULTS)}')
        for key in keys:
            if len(key) != 1 or key not in "0123456789*#":
                raise Wrong("a key is one of 0-9, * or # (in quotes)", key)
        return keys

    @field_validator("prompts")
    @classmethod
    def _every_prompt(cls, prompts: dict[str, str]) -> dict[str, str]:
        for name in PROMPTS:
            if not prompts.get(name):
                raise Wrong("missing: write what the caller hears here", name)
        return prompts

    def policy(self) -> SurveyPolicy:
        """The policy this file describes."""
        return SurveyPolicy(
            keys=dict(self.keys),
            prompts=dict(self.prompts),
            language=self.voice.language,
            voice=self.voice.voice,
            reopen=frozenset(self.reopen),
            hours_start=self.calling_hours.start,
            hours_end=self.calling_hours.end,
            working_days_only=self.working_days_only,
            first_after=timedelta(minutes=self.first_call.after_minutes),
            retries=tuple(
                RetryRule(after=timedelta(minutes=r.after_minutes))
                if r.after_minutes is not None
                else RetryRule(at=r.next_working_day_at)
                for r in self.retries
            ),
            ring_timeout_s=self.ring_timeout_s,
            answer_timeout_s=self.answer_timeout_s,
            status_wait=timedelta(minutes=self.status_wait_minutes),
            reasks=self.reasks,
            channel=self.channel,
        )


def load_survey_policy(path: Path | None = None) -> SurveyPolicy:
    """Read and check the survey file (the shipped one when `path` is None)."""
    return load_yaml(SurveyFile, path, ("ivr", "flows/survey.yaml"), SurveyConfigError).policy()


# ----- the schedule ---------------------------------------------------------------------------------------


def earliest_call_time(policy: SurveyPolicy, calendar: WorkingCalendar, moment: datetime) -> datetime:
    """`moment`, or the next opening of the calling hours after it (on a working day if the policy says so)."""
    tz = ZoneInfo(calendar.timezone)
    local = moment.astimezone(tz)
    day = local.date()
    for _ in range(60):  # the longest run of days off in China's calendar is far shorter
        allowed = not policy.working_days_only or calendar.is_workday(day)
        opens = datetime.combine(day, policy.hours_start, tz)
        closes = datetime.combine(day, policy.hours_end, tz)
        if allowed and local < closes:
            return max(local, opens)
        day += timedelta(days=1)
        local = datetime.combine(day, time(0, 0), tz)
    raise ValueError(f"no calling hours within 60 days of {moment}")


def next_attempt_time(
    policy: SurveyPolicy, calendar: WorkingCalendar, attempts_made: int, last_attempt_at: datetime
) -> datetime | None:
    """When to try again after `attempts_made` calls without an answer, the last at `last_attempt_at`;
    None when the attempts are used up."""
    if attempts_made >= policy.max_attempts:
        return None
    rule = policy.retries[attempts_made - 1]
    if rule.after is not None:
        return earliest_call_time(policy, calendar, last_attempt_at + rule.after)
    tz = ZoneInfo(calendar.timezone)
    day = last_attempt_at.astimezone(tz).date() + timedelta(days=1)
    while not calendar.is_workday(day):
        day += timedelta(days=1)
    assert rule.at is not None, "a retry has `after` or `at`: the survey file's model checks it"
    return earliest_call_time(policy, calendar, datetime.combine(day, rule.at, tz))


# ----- the survey's life ----------------------------------------------------------------------------------


@dataclass
class CallDue:
    """One call the round decided to place now."""

    survey_id: int
    attempt: int
    to_number: str
    ticket_number: str


@dataclass
class RoundResult:
    """What one round did."""

    calls: list[CallDue] = field(default_factory=list)
    scheduled: list[int] = field(default_factory=list)
    cancelled: list[int] = field(default_factory=list)
    timed_out: list[int] = field(default_factory=list)


def due_calls(session: Session, policy: SurveyPolicy, calendar: WorkingCalendar, now: datetime) -> RoundResult:
    """One round: schedule new surveys, drop those whose ticket moved on, give up on calls never heard of,
    and claim the calls due now (each is then `calling`, so a second round does not place it again)."""
    result = RoundResult()
    rows = session.execute(
        select(SatisfactionSurvey, Ticket)
        .join(Ticket, Ticket.id == SatisfactionSurvey.ticket_id)
        .where(SatisfactionSurvey.status.in_((PENDING, CALLING)))
        .order_by(SatisfactionSurvey.id)
    ).all()
    for survey, ticket in rows:
        if survey.status == CALLING:
            if survey.next_attempt_at is not None and now >= survey.next_attempt_at:
                record_no_answer(session, survey, survey.attempts, "no-status", now, policy, calendar)
                result.timed_out.append(survey.id)
            continue
        if ticket.status != "replied":
            # Someone moved the ticket on (called the caller back by hand, or reopened it): no call needed.
            survey.status, survey.next_attempt_at = CANCELLED, None
            add_event(
                session,
                ticket,
                "survey_cancelled",
                f"第{survey.round}轮回访不再需要：工单已是“{lifecycle.STATE_LABELS.get(ticket.status, ticket.status)}”",
                actor=ACTOR,
            )
            result.cancelled.append(survey.id)
            continue
        if survey.next_attempt_at is None:
            survey.next_attempt_at = earliest_call_time(policy, calendar, now + policy.first_after)
            result.scheduled.append(survey.id)
        if now < survey.next_attempt_at:
            continue
        opening = earliest_call_time(policy, calendar, now)
        if opening > now:  # due while the calling hours were closed (the service was down): wait for them
            survey.next_attempt_at = opening
            continue
        survey.attempts += 1
        survey.status, survey.call_sid = CALLING, None
        survey.next_attempt_at = now + policy.status_wait  # watchdog: no status callback by then = no answer
        result.calls.append(CallDue(survey.id, survey.attempts, survey.to_number, ticket.number))
    return result


def call_placed(session: Session, survey: SatisfactionSurvey, attempt: int, call_sid: str) -> None:
    """The REST API accepted the call of `attempt`: remember its CallSid (webhooks may have done it first)."""
    if survey.attempts == attempt and survey.call_sid is None and survey.status in (CALLING, ANSWERED):
        survey.call_sid = call_sid


def record_answer(
    session: Session,
    survey: SatisfactionSurvey,
    result: str,
    now: datetime,
    *,
    policy: SurveyPolicy,
    call_sid: str | None = None,
) -> bool:
    """The caller pressed a key that means `result`; False when an answer is already recorded (a retried
    webhook). Moves the ticket to `callback` (回访) with the answer in the note; an answer the policy reopens
    on sends it back to `supervised` (督办) with an alert for supervisors."""
    if result not in RESULTS:
        raise ValueError(f"unknown survey result {result!r}")
    if survey.status == ANSWERED or survey.result is not None:
        return False
    ticket = session.get_one(Ticket, survey.ticket_id)  # the survey goes with its ticket (ON DELETE CASCADE)
    survey.status, survey.result, survey.answered_at, survey.next_attempt_at = ANSWERED, result, now, None
    if call_sid and survey.call_sid is None:
        survey.call_sid = call_sid
    ticket.satisfaction = result
    label = RESULT_LABELS[result]
    note = f"第{survey.round}轮回访第{survey.attempts}次呼叫：{label}"
    if ticket.status == "replied":
        lifecycle.transition(session, ticket, "callback", actor=ACTOR, note=note, now=now)
    else:  # moved on while we called: keep the answer, leave the state to the people handling it
        add_event(session, ticket, "survey_answered", note, actor=ACTOR)
    if result in policy.reopen and ticket.status == "callback":
        lifecycle.transition(
            session,
            ticket,
            "supervised",
            actor=ACTOR,
            now=now,
            note=f"来电人回访评价“{label}”：重新督办",
        )
        session.add(
            Alert(
                kind="dissatisfied",
                ticket_id=ticket.id,
                message=f"{ticket.number}: the caller answered {label} in the satisfaction callback "
                f"(回访); the ticket is back under supervision",
            )
        )
    return True


def record_no_answer(
    session: Session,
    survey: SatisfactionSurvey,
    attempt: int,
    outcome: str,
    now: datetime,
    policy: SurveyPolicy,
    calendar: WorkingCalendar,
) -> bool:
    """Attempt `attempt` ended without an answer (`outcome`: no-answer, busy, failed, canceled, completed
    without a key, no-status): schedule the next one, or mark the survey unreachable. False when this attempt
    was already dealt with (a retried status callback, or an answer came)."""
    if survey.status != CALLING or survey.attempts != attempt:
        return False
    ticket = session.get_one(Ticket, survey.ticket_id)  # the survey goes with its ticket (ON DELETE CASCADE)
    what = OUTCOME_LABELS.get(outcome, outcome)
    following = next_attempt_time(policy, calendar, attempt, now)
    if following is None:
        survey.status, survey.next_attempt_at = UNREACHABLE, None
        add_event(
            session,
            ticket,
            "survey_unreachable",
            f"第{survey.round}轮回访呼叫 {attempt} 次未接通；最后一次：{what}",
            actor=ACTOR,
        )
        return True
    survey.status, survey.next_attempt_at = PENDING, following
    local = following.astimezone(ZoneInfo(calendar.timezone))
    add_event(
        session,
        ticket,
        "survey_attempt",
        f"第{survey.round}轮回访第{attempt}次呼叫：{what}；下次呼叫 {local:%Y-%m-%d %H:%M}",
        actor=ACTOR,
    )
    return True


def find_survey(session: Session, survey_id: int) -> SatisfactionSurvey | None:
    return session.get(SatisfactionSurvey, survey_id)
