"""Deadlines by handling class (a data file), on the working calendar; reminders and escalation."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml

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


def _time(text: str) -> time:
    hours, minutes = text.split(":")
    return time(int(hours), int(minutes))


def parse_sla(data: dict, timezone: str) -> SlaPolicy:
    """An SLA policy from the parsed YAML."""
    hours = data.get("working_hours", {})
    calendar = WorkingCalendar(
        timezone=timezone,
        day_start=_time(hours.get("start", "08:30")),
        day_end=_time(hours.get("end", "17:30")),
        extra_holidays=frozenset(date.fromisoformat(str(d)) for d in data.get("extra_holidays") or []),
        extra_workdays=frozenset(date.fromisoformat(str(d)) for d in data.get("extra_workdays") or []),
    )
    classes = {
        name: ClassDeadlines(float(spec["dispatch_hours"]), int(spec["reply_days"]), float(spec["remind_before_hours"]))
        for name, spec in data["classes"].items()
    }
    return SlaPolicy(calendar, classes)


@lru_cache(maxsize=4)
def load_sla(path: Path | None = None, timezone: str = "Asia/Shanghai") -> SlaPolicy:
    """The SLA file (default: the shipped routing/data/sla.yaml)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("routing.data").joinpath("sla.yaml").read_text(encoding="utf-8")
    )
    return parse_sla(yaml.safe_load(text), timezone)
