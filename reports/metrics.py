"""The figures of a daily, weekly or monthly report, from what the service records.

Every figure, as computed here (the HTML report prints the same definitions, from `DEFINITIONS`):

- calls_total: inbound calls whose first webhook came in the period (`calls.started_at`, local time).
- calls_answered: of those, calls in which the caller was served: the call connected (its status is not busy,
  failed, no-answer or canceled), the caller got past the greeting and menu (a menu choice was recorded: a
  caller who pressed nothing at all is put through to an operator, which counts as a choice), and did not hang
  up while waiting in the lawyer-seat queue (`queue_entries.outcome = 'hangup'`). A caller who hung up during
  the greeting, or in the queue, was not answered.
- answer_rate: calls_answered / calls_total.
- tickets: tickets (工单) accepted in the period (`tickets.created_at`). The ticket figures below are about
  these tickets, as they stand when the report is made (a recent period's figures still move).
- closure_rate: share of those tickets that are done (办结): replied to, called back or archived.
- on_time_rate: of those tickets that had a reply deadline, the ones replied to by their deadline (extensions
  included) / (the ones replied to + the ones still open and already past their deadline). Null when none.
- avg_handling_days: mean time from acceptance to the (latest) reply of the tickets done, in working days on
  the hotline's working calendar (routing/data/sla.yaml hours; official holidays off, make-up days on).
- satisfaction: satisfaction callbacks (回访) answered in the period: (满意 satisfied + 基本满意 basic) / answered.
- one_call_resolution: of the questions among the period's tickets (kind `consult`, or routed to the lawyer
  seats or the knowledge base), the share answered within the call itself: read out from the knowledge base
  without the caller then asking for a person, or taken live by a lawyer from the queue (bridged, and not
  turned into a callback afterwards).
- recovered_amount: money recovered for workers (yuan): the sum of `tickets.recovered_amount` of the tickets
  archived (closed) in the period.
- by_subject, by_class, by_district: the period's tickets counted by subject, handling class and district
  (`unknown` when no district is known yet).

Rates are fractions 0..1, None (JSON null) when there is nothing to divide.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, and_, case, exists, func, not_, or_, select
from sqlalchemy.orm import QueryableAttribute, Session

from recordings.tables import Call
from reports.periods import Period
from routing.calendar import WorkingCalendar
from routing.tables import QueueEntry, SatisfactionSurvey, Ticket, TicketEvent

NOT_CONNECTED = ("busy", "failed", "no-answer", "canceled")
DONE_STATES = ("replied", "callback", "archived")
OPEN_STATES = ("accepted", "dispatched", "supervised")
SATISFIED = ("satisfied", "basic")
QUESTION_ROUTES = ("lawyer_queue", "lawyer_callback", "knowledge_base")

# key: (label shown in the report, definition). Order is the order of the report's table and CSV row.
DEFINITIONS: dict[str, tuple[str, str]] = {
    "calls_total": ("来电总量", "本期打进热线的电话数"),
    "calls_answered": ("接通量", "接通并走过问候语和菜单、且没有在律师排队中挂断的来电数"),
    "answer_rate": ("接通率", "接通量 ÷ 来电总量"),
    "tickets": ("工单量", "本期受理的工单数"),
    "closure_rate": ("办结率", "本期受理的工单中，已答复、已回电或已归档的比例"),
    "on_time_rate": (
        "按时办结率",
        "在期限内（含延期）答复的工单 ÷（已答复的工单 + 已超期仍未办结的工单）",
    ),
    "avg_handling_days": ("平均办理时长（工作日）", "从受理到最近一次答复的平均工作日数，按热线的工作日历计算"),
    "satisfaction": ("满意率", "本期完成的回访中，（满意 + 基本满意）÷ 回访数"),
    "one_call_resolution": (
        "一次性解决率",
        "咨询类来电（律师座席、知识库）在通话中解决的比例：知识库答复被采纳，或律师当场接听",
    ),
    "recovered_amount": ("挽回金额（元）", "本期归档工单上登记的为职工挽回金额之和"),
}


def ratio(part: float, whole: float) -> float | None:
    """part / whole, or None when there is nothing to divide."""
    return None if not whole else part / whole


@dataclass
class WorkingClock:
    """Working time between moments, fast for many tickets: working seconds per day are counted once."""

    calendar: WorkingCalendar

    def __post_init__(self) -> None:
        self._tz = ZoneInfo(self.calendar.timezone)
        self._day_s = (
            datetime.combine(date.min, self.calendar.day_end) - datetime.combine(date.min, self.calendar.day_start)
        ).total_seconds()
        self._workday: dict[date, bool] = {}

    def _is_workday(self, day: date) -> bool:
        known = self._workday.get(day)
        if known is None:
            known = self._workday[day] = self.calendar.is_workday(day)
        return known

    def _into_day(self, local: datetime) -> float:
        """Working seconds of `local`'s own day that passed before `local`."""
        if not self._is_workday(local.date()):
            return 0.0
        opens = datetime.combine(local.date(), self.calendar.day_start, self._tz)
        return min(max((local - opens).total_seconds(), 0.0), self._day_s)

    def working_days(self, start: datetime, end: datetime) -> float:
        """Same as WorkingCalendar.working_days_between, counting whole days by their flag only."""
        if end <= start:
            return 0.0
        a, b = start.astimezone(self._tz), end.astimezone(self._tz)
        seconds = self._into_day(b) - self._into_day(a)
        day = a.date()
        while day < b.date():
            if self._is_workday(day):
                seconds += self._day_s
            day += timedelta(days=1)
        return seconds / self._day_s


def call_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """calls_total, calls_answered and answer_rate of the calls that came in between start and end."""
    answered = and_(
        Call.menu_choice.is_not(None),
        Call.status.not_in(NOT_CONNECTED),
        or_(QueueEntry.outcome.is_(None), QueueEntry.outcome != "hangup"),
    )
    total, served = session.execute(
        select(func.count(Call.id), func.coalesce(func.sum(case((answered, 1), else_=0)), 0))
        .select_from(Call)
        .outerjoin(QueueEntry, QueueEntry.call_sid == Call.call_sid)
        .where(Call.started_at >= start, Call.started_at < end)
    ).one()
    return {"calls_total": int(total), "calls_answered": int(served), "answer_rate": ratio(served, total)}


def satisfaction_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Surveys answered between start and end, by result, and the satisfied share."""
    rows = dict(
        session.execute(
            select(SatisfactionSurvey.result, func.count())
            .where(
                SatisfactionSurvey.status == "answered",
                SatisfactionSurvey.answered_at >= start,
                SatisfactionSurvey.answered_at < end,
            )
            .group_by(SatisfactionSurvey.result)
        ).all()
    )
    answered = sum(rows.values())
    pleased = sum(rows.get(r, 0) for r in SATISFIED)
    return {
        "surveys_answered": answered,
        "survey_results": {k or "none": v for k, v in rows.items()},
        "satisfaction": ratio(pleased, answered),
    }


def _breakdown(
    session: Session, column: QueryableAttribute[str | None], cohort: tuple[ColumnElement[bool], ...]
) -> dict[str, int]:
    rows = session.execute(
        select(column, func.count()).where(*cohort).group_by(column).order_by(func.count().desc(), column)
    ).all()
    return {(key if key is not None else "unknown"): int(n) for key, n in rows}


def _questions() -> ColumnElement[bool]:
    return or_(Ticket.kind == "consult", Ticket.route.in_(QUESTION_ROUTES))


def _resolved_in_call() -> ColumnElement[bool]:
    asked_for_person = exists().where(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "asked_for_person")
    lawyer_took_it = exists().where(QueueEntry.ticket_id == Ticket.id, QueueEntry.outcome == "bridged")
    return or_(
        and_(Ticket.route == "knowledge_base", Ticket.status.in_(DONE_STATES), not_(asked_for_person)),
        and_(lawyer_took_it, Ticket.route != "lawyer_callback"),
    )


def ticket_figures(
    session: Session, start: datetime, end: datetime, now: datetime, calendar: WorkingCalendar
) -> dict[str, Any]:
    """The ticket figures of the tickets accepted between start and end, as they stand at `now`."""
    cohort = (Ticket.created_at >= start, Ticket.created_at < end)
    total, done, questions, resolved, late_open = session.execute(
        select(
            func.count(Ticket.id),
            func.coalesce(func.sum(case((Ticket.status.in_(DONE_STATES), 1), else_=0)), 0),
            func.coalesce(func.sum(case((_questions(), 1), else_=0)), 0),
            func.coalesce(func.sum(case((and_(_questions(), _resolved_in_call()), 1), else_=0)), 0),
            func.coalesce(
                func.sum(case((and_(Ticket.status.in_(OPEN_STATES), Ticket.reply_due_at < now), 1), else_=0)), 0
            ),
        ).where(*cohort)
    ).one()
    replies = session.execute(
        select(Ticket.created_at, Ticket.reply_due_at, func.max(TicketEvent.at))
        .join(TicketEvent, and_(TicketEvent.ticket_id == Ticket.id, TicketEvent.kind == "replied"))
        .where(*cohort, Ticket.status.in_(DONE_STATES))
        .group_by(Ticket.id, Ticket.created_at, Ticket.reply_due_at)
    ).all()
    clock = WorkingClock(calendar)
    days = [clock.working_days(created, replied) for created, _, replied in replies]
    with_due = [(replied, due) for _, due, replied in replies if due is not None]
    on_time = sum(1 for replied, due in with_due if replied <= due)
    return {
        "tickets": int(total),
        "tickets_done": int(done),
        "closure_rate": ratio(done, total),
        "on_time_rate": ratio(on_time, len(with_due) + int(late_open)),
        "tickets_overdue_open": int(late_open),
        "avg_handling_days": round(sum(days) / len(days), 2) if days else None,
        "questions": int(questions),
        "questions_resolved_in_call": int(resolved),
        "one_call_resolution": ratio(resolved, questions),
        "by_subject": _breakdown(session, Ticket.subject, cohort),
        "by_class": _breakdown(session, Ticket.handling_class, cohort),
        "by_district": _breakdown(session, Ticket.district, cohort),
    }


def recovered_figures(session: Session, start: datetime, end: datetime) -> dict[str, Any]:
    """Money recovered on the tickets archived between start and end."""
    amount, count = session.execute(
        select(func.coalesce(func.sum(Ticket.recovered_amount), 0.0), func.count(Ticket.recovered_amount)).where(
            Ticket.closed_at >= start, Ticket.closed_at < end
        )
    ).one()
    # coalesce() makes the sum never None, but SQLAlchemy types it as may-be-None
    return {"recovered_amount": round(float(amount or 0.0), 2), "tickets_with_recovery": int(count)}


def build_report(session: Session, period: Period, calendar: WorkingCalendar, now: datetime) -> dict[str, Any]:
    """One report: every figure, the period it covers, and when it was made (see the module's definitions)."""
    start, end = period.start, period.end
    report: dict[str, Any] = {
        "period": period.kind,
        "label": period.label,
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "timezone": period.timezone,
        "as_of": now.astimezone(UTC).isoformat(),  # JSON keeps UTC; pages show local time
    }
    report.update(call_figures(session, start, end))
    report.update(ticket_figures(session, start, end, now, calendar))
    report.update(satisfaction_figures(session, start, end))
    report.update(recovered_figures(session, start, end))
    return report


def day_bounds(day: date, timezone: str) -> tuple[datetime, datetime]:
    """The UTC moments [start, end) of one local day."""
    tz = ZoneInfo(timezone)
    return (datetime.combine(day, time.min, tz), datetime.combine(day + timedelta(days=1), time.min, tz))
