"""The lawyer duty roster (a data file): who is on duty when, and the queue's limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from hotline.data_files import ClockOrMidnight, DataFileError, DataModel, Wrong, check, load_yaml

Weekday = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
WEEKDAYS: tuple[Weekday, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class RosterError(DataFileError):
    """The roster file is not usable, or names no such lawyer; the message says why."""


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
        raise RosterError("排班表上一周内没有人值班：请检查排班文件中的每周安排（weekly）")

    def lawyer(self, lawyer_id: str) -> Person:
        try:
            return self.lawyers[lawyer_id]
        except KeyError:
            raise RosterError(f"排班表上没有律师座席 {lawyer_id}") from None


Phone = Annotated[str, Field(min_length=1)]


class _Person(DataModel):
    id: Annotated[str, Field(min_length=1)]
    name: str
    phone: Phone

    def person(self) -> Person:
        return Person(self.id, self.name, self.phone)


class _Hours(DataModel):
    start: ClockOrMidnight = time(8, 0)
    end: ClockOrMidnight = time(20, 0)


class _Queue(DataModel):
    max_waiting: Annotated[int, Field(ge=0)] = QueueLimits.max_waiting
    max_wait_s: Annotated[int, Field(ge=0)] = QueueLimits.max_wait_s
    assumed_talk_s: Annotated[int, Field(ge=0)] = QueueLimits.assumed_talk_s


class RosterFile(DataModel):
    """The roster file (routing/data/roster.yaml) as written."""

    hours: _Hours = _Hours()
    queue: _Queue = _Queue()
    lawyers: tuple[_Person, ...] = ()
    weekly: dict[Weekday, tuple[str, ...] | None] = Field(default_factory=dict)
    supervisors: tuple[_Person, ...] = ()

    @model_validator(mode="after")
    def _rotation_names_lawyers(self) -> RosterFile:
        ids = [p.id for p in self.lawyers]
        for n, lawyer_id in enumerate(ids):
            if lawyer_id in ids[:n]:
                raise Wrong(f"the id {lawyer_id} is used twice", "lawyers", n)
        for day, names in self.weekly.items():
            unknown = [i for i in names or () if i not in ids]
            if unknown:
                raise Wrong(f"names {', '.join(unknown)}, who are not in `lawyers`", "weekly", day)
        return self

    def roster(self) -> DutyRoster:
        """The duty roster this file describes."""
        return DutyRoster(
            lawyers={p.id: p.person() for p in self.lawyers},
            weekly={day: tuple(self.weekly.get(day) or ()) for day in WEEKDAYS},
            start=self.hours.start,
            end=self.hours.end,
            supervisors=tuple(p.person() for p in self.supervisors),
            queue=QueueLimits(self.queue.max_waiting, self.queue.max_wait_s, self.queue.assumed_talk_s),
        )


def parse_roster(data: object, file: str = "roster data") -> DutyRoster:
    """A roster from parsed YAML (`file` names it in errors), refusing unknown lawyers in the rotation."""
    return check(RosterFile, data, file, RosterError).roster()


@lru_cache(maxsize=4)
def load_roster(path: Path | None = None) -> DutyRoster:
    """The roster file (default: the shipped routing/data/roster.yaml)."""
    return load_yaml(RosterFile, path, ("routing.data", "roster.yaml"), RosterError).roster()
