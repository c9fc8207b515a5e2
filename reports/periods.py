"""Report periods in the hotline's local time: a day, the Monday-to-Sunday week holding a date, a calendar month."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

KINDS = ("daily", "weekly", "monthly")
KIND_NAMES = "日报（daily）、周报（weekly）、月报（monthly）"  # the kinds as a message names them
# The days a report or a figure may be asked for: the hotline's own years, far from date arithmetic's limits.
FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2099, 12, 31)


class PeriodError(ValueError):
    """A period that cannot be built; the message says what is expected."""


@dataclass(frozen=True)
class Period:
    """Local days [first, last] of a report, and the UTC moments [start, end) that bound them."""

    kind: str
    first: date
    last: date
    timezone: str

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first, time.min, ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the period (exclusive bound)."""
        return datetime.combine(self.last + timedelta(days=1), time.min, ZoneInfo(self.timezone)).astimezone(UTC)

    @property
    def label(self) -> str:
        if self.kind == "daily":
            return f"{self.first.isoformat()}"
        if self.kind == "weekly":
            year, week, _ = self.first.isocalendar()
            return f"{year}-W{week:02d} ({self.first.isoformat()} – {self.last.isoformat()})"
        return f"{self.first:%Y-%m}"


def period_of(kind: str, day: date, timezone: str) -> Period:
    """The day itself, the week (Monday to Sunday) holding it, or its calendar month."""
    if kind == "daily":
        return Period(kind, day, day, timezone)
    if kind == "weekly":
        monday = day - timedelta(days=day.weekday())
        return Period(kind, monday, monday + timedelta(days=6), timezone)
    if kind == "monthly":
        first = day.replace(day=1)
        following = (first + timedelta(days=32)).replace(day=1)
        return Period(kind, first, following - timedelta(days=1), timezone)
    raise PeriodError(f"没有这种报表（{kind}）：报表有{KIND_NAMES}")


def parse_day(text: str) -> date:
    """A date as YYYY-MM-DD, with a message a person understands when it is not one."""
    try:
        day = date.fromisoformat(text)
    except (TypeError, ValueError):
        raise PeriodError(f"日期（{text}）不对：请写成 2026-11-24 这样的年-月-日（YYYY-MM-DD）") from None
    if not FIRST_DAY <= day <= LAST_DAY:
        raise PeriodError(f"日期 {text} 不在 {FIRST_DAY.year} 年到 {LAST_DAY.year} 年之间：请重新选择日期")
    return day
