"""The lawyer duty roster (a data file): who is on duty when, and the queue's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import yaml

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RosterError(ValueError):
    """The roster file is not usable; the message says why."""


@dataclass(frozen=True)
class Person:
    """A lawyer or supervisor who can be called."""

    id: str
    name: str
    phone: str


@dataclass(frozen=True)
class QueueLimits:
    """How many callers may wait, for how long, and the consultation length assumed for wait estimates."""

    max_waiting: int = 5
    max_wait_s: int = 300
    assumed_talk_s: int = 240


@dataclass(frozen=True)
class DutyRoster:
    """Lawyers rotating through the week, their duty hours, the supervisors, and the queue limits."""

    lawyers: dict[str, Person]
    weekly: dict[str, tuple[str, ...]]
    start: time
    end: time
    supervisors: tuple[Person, ...]
    queue: QueueLimits

    def on_duty(self, moment: datetime, timezone: str) -> list[Person]:
        """The lawyers on duty at `moment` (none outside duty hours)."""
        local = moment.astimezone(ZoneInfo(timezone))
        if not (self.start <= local.time() < self.end):
            return []
        return [self.lawyers[i] for i in self.weekly.get(WEEKDAYS[local.weekday()], ())]

    def next_on_duty(self, moment: datetime, timezone: str) -> tuple[datetime, list[Person]]:
        """When duty next begins at or after `moment`, and who is on it then (for callback tickets)."""
        local = moment.astimezone(ZoneInfo(timezone))
        for offset in range(8):
            day = local.date().toordinal() + offset
            start = datetime.combine(datetime.fromordinal(day).date(), self.start, ZoneInfo(timezone))
            end = datetime.combine(start.date(), self.end, ZoneInfo(timezone))
            if end <= local:
                continue
            lawyers = self.on_duty(max(start, local), timezone)
            if lawyers:
                return max(start, local), lawyers
        raise RosterError("nobody is ever on duty: check `weekly` in the roster file")

    def lawyer(self, lawyer_id: str) -> Person:
        try:
            return self.lawyers[lawyer_id]
        except KeyError:
            raise RosterError(f"no lawyer {lawyer_id!r} in the roster") from None


def _person(raw: dict) -> Person:
    return Person(str(raw["id"]), str(raw["name"]), str(raw["phone"]))


def _clock(text: str) -> time:
    """`08:00`; `24:00` is the end of the day (a seat staffed round the clock)."""
    hours, minutes = str(text).split(":")
    if (int(hours), int(minutes)) == (24, 0):
        return time.max
    return time(int(hours), int(minutes))


def parse_roster(data: dict) -> DutyRoster:
    """A roster from parsed YAML, refusing unknown lawyers in the rotation."""
    lawyers = {p.id: p for p in map(_person, data.get("lawyers") or [])}
    weekly = {day: tuple(data.get("weekly", {}).get(day) or ()) for day in WEEKDAYS}
    for day, ids in weekly.items():
        unknown = [i for i in ids if i not in lawyers]
        if unknown:
            raise RosterError(f"roster: {day} names {', '.join(unknown)}, who are not in `lawyers`")
    hours = data.get("hours") or {}
    return DutyRoster(
        lawyers=lawyers,
        weekly=weekly,
        start=_clock(hours.get("start", "08:00")),
        end=_clock(hours.get("end", "20:00")),
        supervisors=tuple(map(_person, data.get("supervisors") or [])),
        queue=QueueLimits(**(data.get("queue") or {})),
    )


@lru_cache(maxsize=4)
def load_roster(path: Path | None = None) -> DutyRoster:
    """The roster file (default: the shipped routing/data/roster.yaml)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("routing.data").joinpath("roster.yaml").read_text(encoding="utf-8")
    )
    return parse_roster(yaml.safe_load(text))
