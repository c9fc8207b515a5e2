"""Scoring rubrics as data (recordings/data/rubric.yaml): sections of items with their points, critical items.

Loading checks the file and names the bad item; `Rubric.score` turns an inspector's points into a total.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, Field, model_validator

from hotline.data_files import DataFileError, DataModel, Wrong, check, load_yaml


class RubricError(DataFileError):
    """The rubric file is wrong; the message names the item and what to fix."""


class ScoreError(ValueError):
    """Points that do not fit the rubric (unknown item, beyond its max, an item left out)."""


@dataclass(frozen=True)
class Critical:
    """A critical item (一票否决): fewer than `fail_below` points fails it; then the call's score is 0 or capped."""

    fail_below: float
    on_fail: str  # "zero" or "cap"
    cap: float | None = None


@dataclass(frozen=True)
class Item:
    id: str
    label: str
    max: float
    section: str
    critical: Critical | None = None

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the API (the scoring form)."""
        crit = None
        if self.critical:
            crit = {"fail_below": self.critical.fail_below, "on_fail": self.critical.on_fail, "cap": self.critical.cap}
        return {"id": self.id, "label": self.label, "max": self.max, "critical": crit}


@dataclass(frozen=True)
class Section:
    id: str
    label: str
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Scored:
    """An inspector's points checked against the rubric: the total after critical failures."""

    items: dict[str, float]
    raw_total: float
    total: float
    critical_failed: list[str]


@dataclass(frozen=True)
class Rubric:
    id: str
    name: str
    total: float
    pass_score: float | None
    sections: tuple[Section, ...]

    @property
    def items(self) -> dict[str, Item]:
        return {item.id: item for section in self.sections for item in section.items}

    def score(self, points: dict[str, float]) -> Scored:
        """Check the points (every item, none unknown, 0 ≤ points ≤ max) and total them."""
        items = self.items
        if not isinstance(points, dict):
            raise ScoreError("评分格式不对：应为每个评分项的分数")
        unknown = sorted(set(points) - set(items))
        if unknown:
            raise ScoreError(f"评分表里没有这些项：{'、'.join(unknown)}；请按评分表 {self.name} 评分")
        missing = [i for i in items if i not in points]
        if missing:
            labels = "、".join(items[i].label for i in missing)
            raise ScoreError(f"请为每一项评分，未评：{labels}")
        checked: dict[str, float] = {}
        for item_id, value in points.items():
            item = items[item_id]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScoreError(f"「{item.label}」须填数字")
            if not 0 <= value <= item.max:
                raise ScoreError(f"「{item.label}」的分数须在 0 到 {item.max:g} 之间（填的是 {value:g}）")
            checked[item_id] = float(value)
        raw = sum(checked.values())
        total, failed = raw, []
        for item_id, item in items.items():
            if item.critical and checked[item_id] < item.critical.fail_below:
                failed.append(item_id)
                total = 0.0 if item.critical.on_fail == "zero" else min(total, item.critical.cap or 0.0)
        return Scored(checked, round(raw, 2), round(total, 2), failed)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON for the API (the scoring form)."""
        return {
            "id": self.id,
            "name": self.name,
            "total": self.total,
            "pass_score": self.pass_score,
            "sections": [
                {"id": s.id, "label": s.label, "items": [i.to_dict() for i in s.items]} for s in self.sections
            ],
        }


Name = Annotated[str, Field(min_length=1)]


class _Critical(DataModel):
    on_fail: Literal["zero", "cap"] = "zero"
    cap: float | None = None  # the highest score the call can get, with on_fail cap
    fail_below: Annotated[float, Field(gt=0)] | None = None  # default: the item's max (any deduction fails it)

    @model_validator(mode="after")
    def _cap_given(self) -> _Critical:
        if self.on_fail == "cap" and self.cap is None:
            raise Wrong("on_fail cap needs cap: N (the highest score the call can get)", "cap")
        return self


def _critical_shorthand(value: object) -> object:
    """`critical: true` is `{on_fail: zero}`; `false` is not critical."""
    if value is True:
        return {}
    if value is False:
        return None
    if not isinstance(value, dict):
        raise Wrong("write true, or {on_fail: zero}, or {on_fail: cap, cap: 60}")
    return value


class _Item(DataModel):
    id: Name
    label: Name
    max: Annotated[float, Field(gt=0)]
    critical: Annotated[_Critical | None, BeforeValidator(_critical_shorthand)] = None

    @model_validator(mode="after")
    def _fail_below_within_max(self) -> _Item:
        crit = self.critical
        if crit is not None and crit.fail_below is not None and crit.fail_below > self.max:
            raise Wrong(f"must be in (0, {self.max:g}], the item's points", "critical", "fail_below")
        return self

    def item(self, section: str) -> Item:
        crit = self.critical
        if crit is None:
            return Item(self.id, self.label, self.max, section)
        fail_below = crit.fail_below if crit.fail_below is not None else self.max
        return Item(
            self.id,
            self.label,
            self.max,
            section,
            Critical(fail_below, crit.on_fail, crit.cap if crit.on_fail == "cap" else None),
        )


class _Section(DataModel):
    id: Name
    label: str | None = None
    items: Annotated[tuple[_Item, ...], Field(min_length=1)]


class RubricFile(DataModel):
    """The rubric file (recordings/data/rubric.yaml) as written."""

    id: Name
    name: Name
    total: float = 100
    pass_score: float | None = None
    sections: Annotated[tuple[_Section, ...], Field(min_length=1)]

    @model_validator(mode="after")
    def _items_add_up(self) -> RubricFile:
        seen: set[str] = set()
        for m, section in enumerate(self.sections):
            for n, item in enumerate(section.items):
                if item.id in seen:
                    raise Wrong("the id is used twice", "sections", m, "items", n)
                seen.add(item.id)
        summed = sum(i.max for s in self.sections for i in s.items)
        if abs(summed - self.total) > 1e-9:
            raise Wrong(f"the items' max points add up to {summed:g}, not the total {self.total:g}", "total")
        return self

    def rubric(self) -> Rubric:
        """The rubric this file describes."""
        sections = tuple(Section(s.id, s.label or s.id, tuple(i.item(s.id) for i in s.items)) for s in self.sections)
        return Rubric(self.id, self.name, self.total, self.pass_score, sections)


def parse_rubric(data: object, file: str = "rubric data") -> Rubric:
    """A rubric from the parsed YAML, checked: unique ids, positive max points adding up to the total."""
    return check(RubricFile, data, file, RubricError).rubric()


@lru_cache(maxsize=4)
def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric file (default: the shipped recordings/data/rubric.yaml)."""
    return load_yaml(RubricFile, path, ("recordings.data", "rubric.yaml"), RubricError).rubric()
