"""China's working calendar for SLA clocks: official holidays off, make-up working weekends on.

The `chinese-calendar` package knows each year once the State Council publishes it. For a year it does not
know yet, the hotline's own `extra_holidays`/`extra_workdays` apply, else plain Monday-Friday, with a warning.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

log = logging.getLogger(__name__)
_warned_years: set[int] = set()


@dataclass(frozen=True)
class WorkingCalendar:
    """Working days and hours in the hotline's timezone."""

    timezone: str = "Asia/Shanghai"
    day_start: time = time(8, 30)
    day_end: time = time(17, 30)
    extra_holidays: frozenset[date] = field(default_factory=frozenset)
    extra_workdays: frozenset[date] = field(default_factory=frozenset)

    def is_workday(self, day: date) -> bool:
        """True on a working day (a make-up Saturday included)."""
        if day in self.extra_workdays:
            return True
        if day in self.extra_holidays:
            return False
        try:
            return bool(chinese_calendar.is_workday(day))  # chinese_calendar ships no type information
        except NotImplementedError:
            if day.year not in _warned_years:
                _warned_years.add(day.year)
                log.warning(
                    "the official calendar for %d is not known yet: counting Monday-Friday; "
                    "add its holidays to routing/data/sla.yaml or update chinese-calendar",
                    day.year,
                )
            return day.weekday() < 5

    def _local(self, moment: datetime) -> datetime:
        return moment.astimezone(ZoneInfo(self.timezone))

    def _window(self, day: date) -> tuple[datetime, datetime]:
        tz = ZoneInfo(self.timezone)
        return datetime.combine(day, self.day_start, tz), datetime.combine(day, self.day_end, tz)

    def add_working_hours(self, start: datetime, hours: float) -> datetime:
        """The moment `hours` of working time after `start` (time outside working hours does not count)."""
        remaining = timedelta(hours=hours)
        cursor = self._local(start)
        for _ in range(3660):  # ten years of days: far beyond any deadline
            if self.is_workday(cursor.date()):
                opens, closes = self._window(cursor.date())
                cursor = max(cursor, opens)
                if cursor < closes:
                    available = closes - cursor
                    if remaining <= available:
                        return cursor + remaining
                    remaining -= available
            cursor = self._window(cursor.date() + timedelta(days=1))[0]
        raise ValueError(f"no working time found after {start}")

    def add_working_days(self, start: datetime, days: int) -> datetime:
        """End of the working day that is the `days`-th working day after `start`'s day."""
        day = self._local(start).date()
        counted = 0
        while counted < days:
            day += timedelta(days=1)
            if self.is_workday(day):
                counted += 1
        return self._window(day)[1]

    def working_days_between(self, start: datetime, end: datetime) -> float:
        """Working time between two moments, in working days (a full working day counts 1)."""
        if end <= start:
            return 0.0
        day_length = datetime.combine(date.min, self.day_end) - datetime.combine(date.min, self.day_start)
        total = timedelta()
        cursor = self._local(start)
        end = self._local(end)
        while cursor.date() <= end.date():
            if self.is_workday(cursor.date()):
                opens, closes = self._window(cursor.date())
                lo, hi = max(cursor, opens), min(end, closes)
                if hi > lo:
                    total += hi - lo
            cursor = self._window(cursor.date() + timedelta(days=1))[0]
        return total / day_length
