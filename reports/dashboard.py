"""The supervisors' live dashboard (数据大屏): each figure is one small query, kept fast on a large database.

- calls_today: today's calls (local day), answered, answer rate (answered as in `reports.metrics`).
- queue_now: callers waiting for a lawyer now, and the longest wait so far.
- lawyers_now: lawyers on duty now (roster), which of them are signed in, and which are free.
- tickets_by: tickets accepted in the last `window_days` days by subject, handling class and state.
- deadlines: open tickets near their reply deadline (临期: within their class's reminder time) and overdue
  (超期), soonest first, with the total counts.
- satisfaction_trend: per local day of the last 30 days, surveys answered and the satisfied share.
- hot_spots: tickets of the window by district and subject; employers named in several tickets within the
  case window (repeated complaints, 多).

Windows are bounded by indexed times (`calls.started_at`, `tickets.created_at`, `tickets.reply_due_at`,
`satisfaction_surveys.answered_at`), so no query reads the whole history.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Row, func, select
from sqlalchemy.orm import Session

from reports.metrics import OPEN_STATES, SATISFIED, call_figures, day_bounds, ratio
from routing.config import RoutingData
from routing.seats import queue_state
from routing.sla import SlaPolicy
from routing.tables import LawyerPresence, QueueEntry, SatisfactionSurvey, Ticket
from routing.tickets import local_day

LIST_LIMIT = 50  # rows in each deadline list; the counts are exact


def calls_today(session: Session, now: datetime, timezone: str) -> dict[str, Any]:
    """Today's calls so far (local day)."""
    start, end = day_bounds(local_day(now, timezone), timezone)
    return call_figures(session, start, end)


def queue_now(session: Session, now: datetime) -> dict[str, Any]:
    """Callers waiting for a lawyer now, oldest first."""
    waiting = session.execute(
        select(QueueEntry.call_sid, QueueEntry.entered_at)
        .where(QueueEntry.left_at.is_(None))
        .order_by(QueueEntry.entered_at)
    ).all()
    return {
        "waiting": len(waiting),
        "longest_wait_s": round((now - waiting[0].entered_at).total_seconds()) if waiting else 0,
        "avg_wait_s": queue_state(session).avg_wait_s,
    }


def lawyers_now(session: Session, data: RoutingData, now: datetime) -> dict[str, Any]:
    """Who is on duty now, signed in, free."""
    on_duty = data.roster.on_duty(now, data.timezone)
    rows = (
        {
            p.lawyer_id: p
            for p in session.scalars(
                select(LawyerPresence).where(LawyerPresence.lawyer_id.in_([p.id for p in on_duty]))
            )
        }
        if on_duty
        else {}
    )
    lawyers = []
    for person in on_duty:
        row = rows.get(person.id)
        signed_in = bool(row and row.signed_in)
        lawyers.append(
            {
                "id": person.id,
                "name": person.name,
                "signed_in": signed_in,
                "on_call": bool(row and row.on_call_sid),
                "free": signed_in and not (row and row.on_call_sid),
            }
        )
    return {
        "on_duty": len(lawyers),
        "signed_in": sum(p["signed_in"] for p in lawyers),
        "free": sum(p["free"] for p in lawyers),
        "lawyers": lawyers,
    }


def tickets_by(session: Session, now: datetime, window_days: int = 30) -> dict[str, Any]:
    """Tickets accepted in the last `window_days` days, by subject, handling class and state (one query)."""
    rows = session.execute(
        select(Ticket.subject, Ticket.handling_class, Ticket.status, func.count())
        .where(Ticket.created_at >= now - timedelta(days=window_days))
        .group_by(Ticket.subject, Ticket.handling_class, Ticket.status)
    ).all()
    by: dict[str, dict[str, int]] = {"subject": defaultdict(int), "class": defaultdict(int), "state": defaultdict(int)}
    for subject, handling_class, status, n in rows:
        by["subject"][subject] += n
        by["class"][handling_class] += n
        by["state"][status] += n
    return {
        "window_days": window_days,
        **{f"by_{k}": dict(sorted(v.items(), key=lambda kv: (-kv[1], kv[0]))) for k, v in by.items()},
    }


def _deadline_row(ticket: Row[str, str, str, str, str | None, datetime | None], now: datetime) -> dict[str, Any]:
    number, subject, handling_class, status, district, due = ticket
    if due is None:  # never: the queries keep tickets with a reply deadline
        raise ValueError(f"ticket {number} has no reply deadline")
    return {
        "number": number,
        "subject": subject,
        "handling_class": handling_class,
        "status": status,
        "district": district,
        "reply_due_at": due.isoformat(),
        "hours_left": round((due - now).total_seconds() / 3600, 1),
    }


def deadlines(session: Session, sla: SlaPolicy, now: datetime, limit: int = LIST_LIMIT) -> dict[str, Any]:
    """Open tickets near their deadline (临期) and overdue (超期): lists soonest first, and exact counts."""
    columns = (
        Ticket.number,
        Ticket.subject,
        Ticket.handling_class,
        Ticket.status,
        Ticket.district,
        Ticket.reply_due_at,
    )
    is_open = Ticket.status.in_(OPEN_STATES)
    overdue_count = session.execute(select(func.count()).where(is_open, Ticket.reply_due_at < now)).scalar_one()
    # One query per open state, so each reads the (status, reply_due_at) index in order and stops at `limit`
    # (an IN over the states would walk the deadline index through every archived ticket).
    overdue = sorted(
        (
            row
            for state in OPEN_STATES
            for row in session.execute(
                select(*columns)
                .where(Ticket.status == state, Ticket.reply_due_at < now)
                .order_by(Ticket.reply_due_at)
                .limit(limit)
            )
        ),
        key=lambda row: row.reply_due_at,
    )[:limit]
    # The longest reminder time of any class bounds the query; each class's own is applied to the rows.
    horizon = max(rule.remind_before_hours for rule in sla.classes.values())
    candidates = sorted(
        (
            row
            for state in OPEN_STATES
            for row in session.execute(
                select(*columns).where(
                    Ticket.status == state,
                    Ticket.reply_due_at >= now,
                    Ticket.reply_due_at <= now + timedelta(hours=horizon),
                )
            )
        ),
        key=lambda row: row.reply_due_at,
    )
    near = [row for row in candidates if now >= sla.remind_at(row.handling_class, row.reply_due_at)]
    return {
        "near_deadline_count": len(near),
        "overdue_count": int(overdue_count),
        "near_deadline": [_deadline_row(r, now) for r in near[:limit]],
        "overdue": [_deadline_row(r, now) for r in overdue],
    }


def satisfaction_trend(session: Session, now: datetime, timezone: str, days: int = 30) -> list[dict[str, Any]]:
    """Per local day of the last `days` days (today included): surveys answered and the satisfied share."""
    tz = ZoneInfo(timezone)
    today = now.astimezone(tz).date()
    first = today - timedelta(days=days - 1)
    start, _ = day_bounds(first, timezone)
    answered: dict[date, int] = defaultdict(int)
    pleased: dict[date, int] = defaultdict(int)
    rows = session.execute(
        select(SatisfactionSurvey.answered_at, SatisfactionSurvey.result).where(
            SatisfactionSurvey.status == "answered", SatisfactionSurvey.answered_at >= start
        )
    ).all()
    for at, result in rows:
        if at is None:  # never: the query keeps answered surveys, which have their time
            continue
        day = at.astimezone(tz).date()
        answered[day] += 1
        pleased[day] += result in SATISFIED
    return [
        {
            "day": (d := first + timedelta(days=i)).isoformat(),
            "answered": answered[d],
            "satisfaction": ratio(pleased[d], answered[d]),
        }
        for i in range(days)
    ]


def hot_spots(
    session: Session,
    now: datetime,
    window_days: int = 30,
    case_window_days: int = 30,
    min_repeats: int = 2,
    limit: int = 20,
) -> dict[str, Any]:
    """Where the problems are: subject by district, and employers with repeated complaints."""
    cells = session.execute(
        select(Ticket.district, Ticket.subject, func.count())
        .where(Ticket.created_at >= now - timedelta(days=window_days))
        .group_by(Ticket.district, Ticket.subject)
    ).all()
    matrix: dict[str, dict[str, int]] = defaultdict(dict)
    for district, subject, n in cells:
        matrix[district or "unknown"][subject] = n
    employer = Ticket.entities["employer"].as_string()
    repeated = session.execute(
        select(employer, func.count(), func.count(func.distinct(Ticket.caller_number)))
        .where(Ticket.created_at >= now - timedelta(days=case_window_days), employer.is_not(None), employer != "")
        .group_by(employer)
        .having(func.count() >= min_repeats)
        .order_by(func.count().desc(), employer)
        .limit(limit)
    ).all()
    return {
        "window_days": window_days,
        "subject_by_district": dict(matrix),
        "case_window_days": case_window_days,
        "repeated_employers": [{"employer": e, "tickets": n, "callers": c} for e, n, c in repeated],
    }


def dashboard(session: Session, data: RoutingData, now: datetime, window_days: int = 30) -> dict[str, Any]:
    """Every live figure at once, as GET /api/dashboard answers it."""
    return {
        "as_of": now.astimezone(UTC).isoformat(),  # JSON keeps UTC; pages show local time
        "timezone": data.timezone,
        "calls_today": calls_today(session, now, data.timezone),
        "queue": queue_now(session, now),
        "lawyers": lawyers_now(session, data, now),
        "tickets": tickets_by(session, now, window_days),
        "deadlines": deadlines(session, data.sla, now),
        "satisfaction_trend": satisfaction_trend(session, now, data.timezone),
        "hot_spots": hot_spots(session, now, window_days, data.case_window_days),
    }
