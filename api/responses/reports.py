"""The supervisors' figures as the API answers them: the period reports, the corrections report, the dashboard.

Breakdowns are keyed by codes (subject, handling class, state; `unknown` for none); the words people read for
them come with the report (`labels`) or from the taxonomy.
"""

from __future__ import annotations

from pydantic import Field

from api.responses.base import Answer, LocalDay, Number, UtcTime

RATE = "a share from 0 to 1 (null: nothing to count)"


class BreakdownLabels(Answer):
    """Code → the words the reports page shows, for every code in the report's breakdowns."""

    subjects: dict[str, str]
    classes: dict[str, str]
    districts: dict[str, str]


class Report(Answer):
    """A daily, weekly or monthly report (format=json); csv and html give the same figures."""

    period: str = Field(description="daily, weekly or monthly")
    label: str = Field(description="the period as people read it")
    from_: LocalDay = Field(alias="from", description="the period's first local day")
    to: LocalDay = Field(description="the period's last local day")
    timezone: str
    as_of: UtcTime = Field(description="when the figures were counted")
    calls_total: int
    calls_answered: int
    answer_rate: Number | None = Field(description=RATE)
    tickets: int = Field(description="tickets accepted in the period")
    tickets_done: int
    closure_rate: Number | None = Field(description=RATE)
    on_time_rate: Number | None = Field(description=RATE)
    tickets_overdue_open: int
    avg_handling_days: Number | None = Field(description="working days from acceptance to reply")
    questions: int
    questions_resolved_in_call: int
    one_call_resolution: Number | None = Field(description=RATE)
    by_subject: dict[str, int] = Field(description="subject code → tickets")
    by_class: dict[str, int] = Field(description="handling class code → tickets")
    by_district: dict[str, int] = Field(description="district → tickets")
    surveys_answered: int
    survey_results: dict[str, int] = Field(description="survey answer code → surveys")
    satisfaction: Number | None = Field(description=RATE)
    recovered_amount: Number = Field(description="money recovered on tickets archived in the period, in yuan")
    tickets_with_recovery: int
    labels: BreakdownLabels


class CorrectionWeek(Answer):
    """One local week: tickets, and those a person corrected."""

    week: str = Field(description="the ISO week, e.g. 2026-W48")
    first_day: LocalDay
    last_day: LocalDay
    tickets: int
    corrected: int
    rate: Number | None = Field(description=RATE)


class CorrectionRow(CorrectionWeek):
    """One week and one subject the machine gave."""

    subject: str = Field(description="the subject code the machine gave")
    subject_label: str
    subject_corrected: int
    kind_corrected: int
    urgency_flags_corrected: int


class CorrectionsReport(Answer):
    """How often people corrected the classifier: per subject and local week (format=json)."""

    timezone: str
    weeks: list[CorrectionWeek]
    rows: list[CorrectionRow]
    subjects: dict[str, str] = Field(description="subject code → its label")


class CallFigures(Answer):
    """Today's calls so far (local day)."""

    calls_total: int
    calls_answered: int
    answer_rate: Number | None = Field(description=RATE)


class QueueNow(Answer):
    """Callers waiting for a lawyer now."""

    waiting: int
    longest_wait_s: int
    avg_wait_s: Number | None


class DashboardLawyer(Answer):
    """A lawyer on duty now."""

    id: str
    name: str
    signed_in: bool
    on_call: bool
    free: bool


class LawyersNow(Answer):
    """Lawyers on duty now (roster), signed in, free."""

    on_duty: int
    signed_in: int
    free: int
    lawyers: list[DashboardLawyer]


class TicketsBy(Answer):
    """Tickets accepted in the last `window_days` days, by code, most first."""

    window_days: int
    by_subject: dict[str, int]
    by_class: dict[str, int]
    by_state: dict[str, int]


class DeadlineRow(Answer):
    """An open ticket near or past its reply deadline."""

    number: str
    subject: str | None
    handling_class: str | None
    status: str
    district: str | None
    reply_due_at: UtcTime
    hours_left: Number = Field(description="hours to the deadline (negative: overdue)")


class Deadlines(Answer):
    """Open tickets near their reply deadline (临期) and overdue (超期): lists soonest first, exact counts."""

    near_deadline_count: int
    overdue_count: int
    near_deadline: list[DeadlineRow]
    overdue: list[DeadlineRow]


class SatisfactionDay(Answer):
    """One local day's surveys."""

    day: LocalDay
    answered: int
    satisfaction: Number | None = Field(description=RATE)


class RepeatedEmployer(Answer):
    """An employer named in several tickets (repeated complaints)."""

    employer: str
    tickets: int
    callers: int = Field(description="different callers' numbers")


class HotSpots(Answer):
    """Where the problems are."""

    window_days: int
    subject_by_district: dict[str, dict[str, int]] = Field(description="district → subject code → tickets")
    case_window_days: int
    repeated_employers: list[RepeatedEmployer]


class Dashboard(Answer):
    """Every live figure of the supervisors' dashboard (数据大屏)."""

    as_of: UtcTime
    timezone: str
    calls_today: CallFigures
    queue: QueueNow
    lawyers: LawyersNow
    tickets: TicketsBy
    deadlines: Deadlines
    satisfaction_trend: list[SatisfactionDay] = Field(description="the last 30 local days, oldest first")
    hot_spots: HotSpots
