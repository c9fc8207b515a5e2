"""Scoring rubrics as data (recordings/data/rubric.yaml): sections of items with their points, critical items.

Loading checks the file and names the bad item; `Rubric.score` turns an inspector's points into a total.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

import yaml


class RubricError(ValueError):
    """The rubric file is wrong; the message names the item."""


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

    def to_dict(self) -> dict:
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
            raise ScoreError("评分格式不对 — items must be an object: item id → points")
        unknown = sorted(set(points) - set(items))
        if unknown:
            raise ScoreError(
                f"评分表里没有这些项 — unknown rubric item(s): {', '.join(unknown)}; the items are: {', '.join(items)}"
            )
        missing = [i for i in items if i not in points]
        if missing:
            labels = "、".join(items[i].label for i in missing)
            raise ScoreError(f"请为每一项评分，未评：{labels} — score every item; missing: {', '.join(missing)}")
        checked: dict[str, float] = {}
        for item_id, value in points.items():
            item = items[item_id]
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise ScoreError(
                    f"「{item.label}」须填数字 — {item_id} ({item.label}): points must be a number, not {value!r}"
                )
            if not 0 <= value <= item.max:
                raise ScoreError(
                    f"「{item.label}」的分数须在 0 到 {item.max:g} 之间 — "
                    f"{item_id} ({item.label}): {value:g} points is outside 0 to {item.max:g}"
                )
            checked[item_id] = float(value)
        raw = sum(checked.values())
        total, failed = raw, []
        for item_id, item in items.items():
            if item.critical and checked[item_id] < item.critical.fail_below:
                failed.append(item_id)
                total = 0.0 if item.critical.on_fail == "zero" else min(total, item.critical.cap or 0.0)
        return Scored(checked, round(raw, 2), round(total, 2), failed)

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "name": self.name,
            "total": self.total,
            "pass_score": self.pass_score,
            "sections": [
                {"id": s.id, "label": s.label, "items": [i.to_dict() for i in s.items]} for s in self.sections
            ],
        }


def _number(value: object, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise RubricError(f"{where} must be a number, not {value!r}")
    return float(value)


def _critical(spec: object, item_max: float, where: str) -> Critical | None:
    if spec in (None, False):
        return None
    if spec is True:
        spec = {}
    if not isinstance(spec, dict):
        raise RubricError(f"{where}.critical: write true or {{on_fail: zero}} / {{on_fail: cap, cap: 60}}")
    on_fail = spec.get("on_fail", "zero")
    if on_fail not in ("zero", "cap"):
        raise RubricError(f"{where}.critical.on_fail must be zero or cap, not {on_fail!r}")
    cap = _number(spec["cap"], f"{where}.critical.cap") if on_fail == "cap" and "cap" in spec else None
    if on_fail == "cap" and cap is None:
        raise RubricError(f"{where}.critical: on_fail cap needs cap: N (the highest score the call can get)")
    fail_below = _number(spec.get("fail_below", item_max), f"{where}.critical.fail_below")
    if not 0 < fail_below <= item_max:
        raise RubricError(f"{where}.critical.fail_below must be in (0, {item_max:g}]")
    return Critical(fail_below, on_fail, cap)


def parse_rubric(data: object) -> Rubric:
    """A rubric from the parsed YAML, checked: unique ids, positive max points adding up to the total."""
    if not isinstance(data, dict):
        raise RubricError("a rubric is a mapping with id, name, total and sections")
    for key in ("id", "name", "sections"):
        if not data.get(key):
            raise RubricError(f"the rubric needs {key}")
    total = _number(data.get("total", 100), "total")
    pass_score = _number(data["pass_score"], "pass_score") if data.get("pass_score") is not None else None
    sections, seen = [], set()
    for n, sec in enumerate(data["sections"], 1):
        if not isinstance(sec, dict) or not sec.get("id") or not sec.get("items"):
            raise RubricError(f"section {n}: needs an id and items")
        items = []
        for m, spec in enumerate(sec["items"], 1):
            where = f"section {sec['id']} item {spec.get('id', m) if isinstance(spec, dict) else m}"
            if not isinstance(spec, dict) or not spec.get("id") or not spec.get("label"):
                raise RubricError(f"{where}: needs an id and a label")
            item_id = str(spec["id"])
            if item_id in seen:
                raise RubricError(f"item {item_id}: the id is used twice")
            seen.add(item_id)
            unknown = set(spec) - {"id", "label", "max", "critical"}
            if unknown:
                raise RubricError(f"item {item_id}: unknown key(s) {', '.join(sorted(unknown))}")
            top = _number(spec.get("max"), f"item {item_id}: max")
            if top <= 0:
                raise RubricError(f"item {item_id}: max must be more than 0, not {top:g}")
            items.append(
                Item(
                    item_id,
                    str(spec["label"]),
                    top,
                    str(sec["id"]),
                    _critical(spec.get("critical"), top, f"item {item_id}"),
                )
            )
        sections.append(Section(str(sec["id"]), str(sec.get("label", sec["id"])), tuple(items)))
    summed = sum(i.max for s in sections for i in s.items)
    if abs(summed - total) > 1e-9:
        raise RubricError(f"the items' max points add up to {summed:g}, not the total {total:g}")
    return Rubric(str(data["id"]), str(data["name"]), total, pass_score, tuple(sections))


@lru_cache(maxsize=4)
def load_rubric(path: Path | None = None) -> Rubric:
    """The rubric file (default: the shipped recordings/data/rubric.yaml)."""
    text = (
        Path(path).read_text(encoding="utf-8")
        if path
        else resources.files("recordings.data").joinpath("rubric.yaml").read_text(encoding="utf-8")
    )
    return parse_rubric(yaml.safe_load(text))
