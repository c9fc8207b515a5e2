"""How often people corrected the machine: per subject (as the machine classed it) and local week (Monday to
Sunday) of the ticket, the tickets, how many a person corrected, and which field (subject, kind, urgency flags)."""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from reports.periods import Period, period_of
from routing.classify import Taxonomy
from routing.corrections import CORRECTED_FIELDS
from routing.tables import Ticket, TicketCorrection
from routing.tickets import local_day

FORMATS = ("json", "csv", "table")
CSV_COLUMNS = (
    "week",
    "first_day",
    "last_day",
    "subject",
    "subject_label",
    "tickets",
    "corrected",
    "subject_corrected",
    "kind_corrected",
    "urgency_flags_corrected",
    "rate",
)


def weeks_back(now: datetime, timezone: str, weeks: int) -> list[Period]:
    """The last `weeks` local weeks, oldest first, the current one last."""
    this_week = period_of("weekly", local_day(now, timezone), timezone)
    return [period_of("weekly", this_week.first - timedelta(weeks=n), timezone) for n in range(weeks - 1, -1, -1)]


def _week_name(first: date) -> str:
    year, week, _ = first.isocalendar()
    return f"{year}-W{week:02d}"


def corrections_report(
    session: Session, *, now: datetime, timezone: str, taxonomy: Taxonomy, weeks: int = 8
) -> dict[str, Any]:
    """Per week and subject the machine gave: tickets, tickets a person corrected (and per field), the share."""
    if weeks < 1 or weeks > 260:
        raise ValueError("周数须在 1 到 260 之间")
    periods = weeks_back(now, timezone, weeks)
    start, end = periods[0].start, periods[-1].end
    tickets = session.execute(
        select(Ticket.id, Ticket.subject, Ticket.created_at).where(Ticket.created_at >= start, Ticket.created_at < end)
    ).all()
    corrected: dict[int, dict[str, object]] = defaultdict(dict)  # ticket id → field → the machine's value
    for ticket_id, field, old in session.execute(
        select(TicketCorrection.ticket_id, TicketCorrection.field, TicketCorrection.old_value)
        .join(Ticket, Ticket.id == TicketCorrection.ticket_id)
        .where(Ticket.created_at >= start, Ticket.created_at < end)
        .order_by(TicketCorrection.id)
    ):
        corrected[ticket_id].setdefault(field, old)  # the first correction's old value is the machine's
    counts: dict[tuple[date, str], dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for ticket_id, subject, created_at in tickets:
        week = period_of("weekly", local_day(created_at, timezone), timezone).first
        fields = corrected.get(ticket_id, {})
        machine_subject = fields.get("subject", subject) or "other"
        cell = counts[(week, str(machine_subject))]  # a subject code; old_value is JSON
        cell["tickets"] += 1
        if fields:
            cell["corrected"] += 1
        for field in CORRECTED_FIELDS:
            if field in fields:
                cell[f"{field}_corrected"] += 1
    rows, totals = [], []
    for period in periods:
        week_total = {"tickets": 0, "corrected": 0}
        for subject in [*taxonomy.subjects, *sorted({s for w, s in counts if s not in taxonomy.subjects})]:
            cell = counts.get((period.first, subject), {})
            if not cell:
                continue
            rows.append(
                {
                    "week": _week_name(period.first),
                    "first_day": period.first.isoformat(),
                    "last_day": period.last.isoformat(),
                    "subject": subject,
                    "subject_label": taxonomy.label(subject),
                    "tickets": cell["tickets"],
                    "corrected": cell["corrected"],
                    **{f"{f}_corrected": cell[f"{f}_corrected"] for f in CORRECTED_FIELDS},
                    "rate": round(cell["corrected"] / cell["tickets"], 4),
                }
            )
            week_total["tickets"] += cell["tickets"]
            week_total["corrected"] += cell["corrected"]
        rate = round(week_total["corrected"] / week_total["tickets"], 4) if week_total["tickets"] else None
        totals.append(
            {
                "week": _week_name(period.first),
                "first_day": period.first.isoformat(),
                "last_day": period.last.isoformat(),
                **week_total,
                "rate": rate,
            }
        )
    return {
        "timezone": timezone,
        "weeks": totals,
        "rows": rows,
        "subjects": {key: taxonomy.label(key) for key in taxonomy.subjects},
    }


def to_csv(report: dict[str, Any]) -> str:
    """One row per week and subject."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for row in report["rows"]:
        writer.writerow([row[c] for c in CSV_COLUMNS])
    return out.getvalue()
