"""Deadlines by handling class (a data file), on the working calendar; reminders and escalation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated

from pydantic import Field, model_validator

from hotline.data_files import Clock, DataModel, Wrong, load_yaml
from routing.calendar import WorkingCalendar


@dataclass(frozen=True)
class ClassDeadlines:
    """How long a handling class may take: to dispatch, to reply; and when to remind before the end."""

    dispatch_hours: float
    reply_days: int
    remind_before_hours: float


@dataclass(frozen=True)
class SlaPolicy:
    """Deadlines per handling class on one working calendar."""

    calendar: WorkingCalendar
    classes: dict[str, ClassDeadlines]

    def deadlines(self, handling_class: str, accepted_at: datetime) -> tuple[datetime, datetime]:
        """(dispatch by, reply by) for a ticket of this class accepted at `accepted_at`."""
        rule = self.rule(handling_class)
        return (
            self.calendar.add_working_hours(accepted_at, rule.dispatch_hours),
            self.calendar.add_working_days(accepted_at, rule.reply_days),
        )

    def remind_at(self, handling_class: str, due: datetime) -> datetime:
        """When a near-deadline reminder (临期提醒) is due: working hours before the deadline, roughly."""
        return due - timedelta(hours=self.rule(handling_class).remind_before_hours)

    def extend(self, due: datetime, working_days: int) -> datetime:
        """A deadline pushed back by an extension (延期)."""
        return self.calendar.add_working_days(due, working_days)

    def rule(self, handling_class: str) -> ClassDeadlines:
        try:
            return self.classes[handling_class]
        except KeyError:
            raise ValueError(f"no deadlines for handling class {handling_class!r} in the SLA file") from None


class _WorkingHours(DataModel):
    start: Clock = time(8, 30)
    end: Clock = time(17, 30)

    @model_validator(mode="after")
    def _in_order(self) -> _WorkingHours:
        if self.start >= self.end:
            raise Wrong(f"{self.end:%H:%M} must be after start {self.start:%H:%M}", "end")
        return self


class _Class(DataModel):
    dispatch_hours: Annotated[float, Field(ge=0)]
    reply_days: Annotated[int, Field(ge=0)]
    remind_before_hours: Annotated[float, Field(ge=0)]


class SlaFile(DataModel):
    """The SLA file (routing/data/sla.yaml) as written."""

    working_hours: _WorkingHours = _WorkingHours()
    classes: Annotated[dict[str, _Class], Field(min_length=1)]
    extra_holidays: tuple[date, ...] = ()
    extra_workdays: tuple[date, ...] = ()

    def policy(self, timezone: str) -> SlaPolicy:
        """The deadlines this file describes, on the working calendar of `timezone`."""
        calendar = WorkingCalendar(
            timezone=timezone,
            day_start=self.working_hours.start,
            day_end=self.working_hours.end,
            extra_holidays=frozenset(self.extra_holidays),
            extra_workdays=frozenset(self.extra_workdays),
        )
        classes = {
            name: ClassDeadlines(spec.dispatch_hours, spec.reply_days, spec.remind_before_hours)
            for name, spec in self.classes.items()
        }
        return SlaPolicy(calendar, classes)


SHIPPED = ("routing.data", "sla.yaml")


@lru_cache(maxsize=4)
def load_sla(path: Path | None = None, timezone: str = "Asia/Shanghai") -> SlaPolicy:
    """The SLA file (default: the shipped routing/data/sla.yaml)."""
    return load_yaml(SlaFile, path, SHIPPED).policy(timezone)
