"""Numbers in what a caller said: Chinese numerals to digits (cn2an), amounts of money and head-counts.

"欠了六十多万" → an amount of about 600000; "我们十三个人" → 13 workers; "一下", "一些", "十分" stay words: a numeral
is converted only with a unit, a measure word or an approximation after it, or when it is a written-out number
(two or more characters with 十/百/千/万/亿).
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Literal

_DIGIT = "零〇一二两三四五六七八九"
_MULTIPLIER = "十百千万亿"
_APPROX = "多余来几"
_CURRENCY = ("万元", "块钱", "元", "块")
_PEOPLE = ("个工人", "名工人", "个员工", "名员工", "个职工", "名职工", "个农民工", "名农民工", "个工友", "个人", "名", "位",
           "人")
_MEASURE = ("个", "年", "月", "天", "日", "号", "小时", "岁", "次", "家", "倍", "周", "星期")
_TAILS = sorted(_CURRENCY + _PEOPLE + _MEASURE, key=len, reverse=True)
_QUANTITY = re.compile(
    rf"(?P<num>\d+(?:\.\d+)?[{_DIGIT}{_MULTIPLIER}\d]*|[{_DIGIT}{_MULTIPLIER}][{_DIGIT}{_MULTIPLIER}\d]*)"
    rf"(?P<approx>[{_APPROX}])?(?P<unit>[{_MULTIPLIER}]*)(?P<tail>{'|'.join(map(re.escape, _TAILS))})?"
)
_VALUES = {"十": 10, "百": 100, "千": 1000, "万": 10_000, "亿": 100_000_000}
_SMALL = {c: i for i, c in enumerate("零一二三四五六七八九")} | {"〇": 0, "两": 2}

Kind = Literal["amount", "headcount", "number"]


@dataclass(frozen=True)
class Quantity:
    """A number the caller said: value, whether it was approximate ("多", "几", "三四"), what it counts."""

    value: int | float
    approximate: bool
    kind: Kind
    text: str
    start: int
    end: int

    def to_dict(self) -> dict:
        return {"value": self.value, "approximate": self.approximate, "kind": self.kind, "text": self.text}


def _numeral_value(num: str) -> tuple[int | float, bool] | None:
    """The value of a run of numerals (digits and Chinese mixed); (value, approximate) or None."""
    if len(num) == 2 and all(c in _SMALL for c in num) and _SMALL[num[1]] == _SMALL[num[0]] + 1:
        return _SMALL[num[0]], True  # "三四个" is three or four
    import cn2an

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            value = cn2an.cn2an(num, "smart")
        except (ValueError, KeyError, IndexError, TypeError):
            return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return value, False


def find_quantities(text: str) -> list[Quantity]:
    """Every number in `text` with what it counts: money (元/块, or 万/亿), people (个人/名/工人), else a number."""
    found = []
    for match in _QUANTITY.finditer(text):
        num, approx, unit, tail = match["num"], match["approx"], match["unit"] or "", match["tail"] or ""
        parsed = _numeral_value(num)
        if parsed is None:
            continue
        value, approximate = parsed
        for ch in unit:
            value *= _VALUES[ch]
        approximate = approximate or approx is not None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        big = any(c in "万亿" for c in num + unit)
        if tail in _CURRENCY or (big and tail not in _PEOPLE and tail not in _MEASURE):
            kind: Kind = "amount"
        elif tail in _PEOPLE:
            kind = "headcount"
        else:
            kind = "number"
        found.append(Quantity(value, approximate, kind, match.group(0), match.start(), match.end()))
    return found


def _worth_converting(match: re.Match) -> bool:
    num = match["num"]
    if num.isdigit():
        return False
    if match["tail"] or match["approx"] or match["unit"]:
        return True
    return len(num) >= 2 and any(c in _MULTIPLIER for c in num)


def numerals_to_digits(text: str) -> str:
    """Chinese numerals written as digits where they are numbers ("十三个人" → "13个人", "六十多万" → "60多万")."""
    out = []
    last = 0
    for match in _QUANTITY.finditer(text):
        if not _worth_converting(match):
            continue
        parsed = _numeral_value(match["num"])
        if parsed is None or parsed[1]:
            continue
        out.append(text[last : match.start("num")])
        out.append(str(parsed[0]))
        last = match.end("num")
    out.append(text[last:])
    return "".join(out)


def amounts(text: str) -> list[Quantity]:
    """The sums of money in `text`."""
    return [q for q in find_quantities(text) if q.kind == "amount"]


def headcounts(text: str) -> list[Quantity]:
    """The numbers of people in `text`."""
    return [q for q in find_quantities(text) if q.kind == "headcount"]
