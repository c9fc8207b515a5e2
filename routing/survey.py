"""The satisfaction callback (回访): when it is due, how often it is tried, and what the answer does to the ticket.

Every function takes the time as an argument, so tests drive the clock. The outbound calls themselves are
placed by a job (`routing.survey_calls`); the webhooks of the call (`api.routes.twilio_survey`) call
`record_answer` and `record_no_answer` here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from routing import lifecycle
from routing.calendar import WorkingCalendar
from routing.tables import Alert, SatisfactionSurvey, Ticket
from routing.tickets import add_event

RESULTS = ("satisfied", "basic", "dissatisfied")
RESULT_LABELS = {"satisfied": "满意", "basic": "基本满意", "dissatisfied": "不满意"}
PENDING, CALLING, ANSWERED, UNREACHABLE, CANCELLED = "pending", "calling", "answered", "unreachable", "cancelled"
ACTOR = "survey"
# Call outcomes that end an attempt without an answer, in the caller's words on the ticket.
OUTCOME_LABELS = {
    "no-answer": "无人接听 no answer",
    "busy": "占线 busy",
    "failed": "呼叫失败 call failed",
    "canceled": "呼叫取消 canceled",
    "completed": "未按键挂机 hung up without a key",
    "no-status": "无呼叫结果 no word about the call",
}


class SurveyConfigError(ValueError):
    """The survey file is not usable; the message says where and why."""


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


def default_survey_file() -> Path:
    return Path(str(resources.files("ivr") / "flows" / "survey.yaml"))


def load_survey_policy(path: Path | None = None) -> SurveyPolicy:
    """Read and check the survey file (the shipped one when `path` is None)."""
    path = path or default_survey_file()
    try:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise SurveyConfigError(f"{path}: cannot read the survey file: {exc}") from exc
    where = str(path)
    keys = {str(k): str(v) for k, v in (data.get("keys") or {}).items()}
    bad = {k: v for k, v in keys.items() if v not in RESULTS or len(k) != 1 or k not in "0123456789*#"}
    if not keys or bad:
        raise SurveyConfigError(
            f"{where}: keys must map single keys to {', '.join(RESULTS)}; wrong: {bad or 'none given'}"
        )
    prompts = {str(k): str(v) for k, v in (data.get("prompts") or {}).items()}
    missing = [p for p in PROMPTS if not prompts.get(p)]
    if missing:
        raise SurveyConfigError(f"{where}: prompts missing: {', '.join(missing)}")
    reopen = frozenset(data.get("reopen") or [])
    if not reopen <= set(RESULTS):
        raise SurveyConfigError(f"{where}: reopen lists answers that do not exist: {sorted(reopen - set(RESULTS))}")
    hours = data.get("calling_hours") or {}
    start, end = _clock(hours.get("start", "09:00"), where), _clock(hours.get("end", "20:00"), where)
    if start >= end:
        raise SurveyConfigError(f"{where}: calling_hours start {start} must be before end {end}")
    retries = tuple(_retry(rule, where) for rule in data.get("retries") or [])
    voice = data.get("voice") or {}
    channel = str(data.get("channel", "voice"))
    if channel != "voice":
        raise SurveyConfigError(f"{where}: channel {channel!r}: only voice callbacks are supported")
    return SurveyPolicy(
        keys=keys,
        prompts=prompts,
        language=str(voice.get("language", "zh-CN")),
        voice=voice.get("voice"),
        reopen=reopen,
        hours_start=start,
        hours_end=end,
        working_days_only=bool(data.get("working_days_only", True)),
        first_after=timedelta(minutes=_number((data.get("first_call") or {}).get("after_minutes", 0), where)),
        retries=retries,
        ring_timeout_s=int(_number(data.get("ring_timeout_s", 30), where)),
        answer_timeout_s=int(_number(data.get("answer_timeout_s", 8), where)),
        status_wait=timedelta(minutes=_number(data.get("status_wait_minutes", 30), where)),
        reasks=int(_number(data.get("reasks", 2), where)),
        channel=channel,
    )


def _clock(value: object, where: str) -> time:
    try:
        hour, minute = str(value).split(":")
        return time(int(hour), int(minute))
    except ValueError as exc:
        raise SurveyConfigError(f"{where}: {value!r} is not a time of day like 09:00") from exc


def _number(value: object, where: str) -> float:
    if not isinstance(value, (int, float)) or value < 0:
        raise SurveyConfigError(f"{where}: {value!r} must be a number of at least 0")
    return float(value)


def _retry(rule: object, where: str) -> RetryRule:
    if isinstance(rule, dict) and set(rule) == {"after_minutes"}:
        return RetryRule(after=timedelta(minutes=_number(rule["after_minutes"], where)))
    if isinstance(rule, dict) and set(rule) == {"next_working_day_at"}:
        return RetryRule(at=_clock(rule["next_working_day_at"], where))
    raise SurveyConfigError(
        f'{where}: a retry is {{after_minutes: N}} or {{next_working_day_at: "10:00"}}, not {rule!r}'
    )


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
    return earliest_call_time(policy, calendar, datetime.combine(day, rule.at, tz))


# ----- the survey's life ----------------------------------------------------------------------------------


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
        add_event(session, ticket, "survey_skipped", "回访: no number to call back", actor=ACTOR)
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
                f"回访 round {survey.round} not needed: the ticket is {ticket.status}",
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
    ticket = session.get(Ticket, survey.ticket_id)
    survey.status, survey.result, survey.answered_at, survey.next_attempt_at = ANSWERED, result, now, None
    if call_sid and survey.call_sid is None:
        survey.call_sid = call_sid
    ticket.satisfaction = result
    label = RESULT_LABELS[result]
    note = f"回访 round {survey.round}, attempt {survey.attempts}: {label} ({result})"
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
            note=f"caller {label} in the satisfaction callback: handle again",
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
    ticket = session.get(Ticket, survey.ticket_id)
    what = OUTCOME_LABELS.get(outcome, outcome)
    following = next_attempt_time(policy, calendar, attempt, now)
    if following is None:
        survey.status, survey.next_attempt_at = UNREACHABLE, None
        add_event(
            session,
            ticket,
            "survey_unreachable",
            f"回访 round {survey.round}: unreachable after {attempt} attempt(s); last: {what}",
            actor=ACTOR,
        )
        return True
    survey.status, survey.next_attempt_at = PENDING, following
    local = following.astimezone(ZoneInfo(calendar.timezone))
    add_event(
        session,
        ticket,
        "survey_attempt",
        f"回访 round {survey.round}, attempt {attempt}: {what}; next attempt {local:%Y-%m-%d %H:%M}",
        actor=ACTOR,
    )
    return True


def find_survey(session: Session, survey_id: int) -> SatisfactionSurvey | None:
    return session.get(SatisfactionSurvey, survey_id)
