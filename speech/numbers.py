"""Numbers as callers say them: 13, 六十多万, 一万二, 3万5, 十几个, 三四个 — the value, whether it is approximate, and
what it counts (money, people, something else).

The one Chinese-numeral parser of the project: the transcript clean-up here (`numerals_to_digits`,
`find_quantities`) and the routing rules (`routing.entities`) both read numbers through `find_numbers`. It lives in
`speech` because routing may import speech but speech must not import routing.

The exact value of a numeral run is `cn2an`'s ("smart" mode: 六十万, 一万二, 3万5, 二零二三, 1.5万, 一千零五); this
module adds what cn2an does not do: finding runs in text, approximation words (多/余/来/几 inside a run, 左右/上下/出头
after it), adjacent-digit ranges (三四个 → 4, approximate), thousands commas, Latin k/w after digits (3k, 2w), and
what a number counts.

"一下", "一些", "十分", "千万别", "万达" stay words: a numeral run must start with a digit or 十, and a lone numeral
is written as digits only with a unit, a measure word or an approximation after it.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import Any, Literal

import cn2an

warnings.filterwarnings("ignore", module="cn2an")  # it warns about long decimals it truncates

_DIGIT_GROUPS = ("零〇", "一幺壹", "二两俩贰", "三叁仨", "四肆", "五伍", "六陆", "七柒", "八捌", "九玖")
DIGITS = {c: value for value, group in enumerate(_DIGIT_GROUPS) for c in group}
APPROX_INSIDE = "多余来几"

_D = "".join(DIGITS)
_U = "十拾百佰千仟万萬亿"
_ARABIC = r"\d+(?:,\d{3})*(?:\.\d+)?"
# Arabic digits (thousands commas, a decimal point) or Chinese numerals, mixed through a unit as people say them
# ("3万5", "1.5万"), with approximation words before a unit or at the end ("六十多万", "十几", "二十来"). Latin k/w
# only right after digits. An Arabic and a Chinese digit side by side, or a digit after an approximation word, start
# a new number: "160一天", "3一4月份", "1800多一盒", "三万多四个月".
_NEXT = (
    rf"(?<![{_D}{APPROX_INSIDE}]){_ARABIC}"  # Arabic digits, not right after a Chinese digit or 多
    rf"|(?<![\d{APPROX_INSIDE}])[{_D}]"  # a Chinese digit, not right after an Arabic digit or 多
    rf"|[{_U}{APPROX_INSIDE}]"
)
NUMBER = re.compile(rf"(?:{_ARABIC}[kKwW]?|[{_D}十拾])(?:{_NEXT})*")
_CHINESE_DIGITS = re.compile(f"[{_D}]{{2,}}")
# What cn2an is given: no commas, no approximation words, k/w as 千/万, 俩/仨 (which it does not know) as 两/三.
_FOR_CN2AN = str.maketrans(
    {",": None, **dict.fromkeys(APPROX_INSIDE), "k": "千", "K": "千", "w": "万", "W": "万", "俩": "两", "仨": "三"}
)
_AFTER_APPROX = ("左右", "上下", "出头", "来", "多", "余")

# What a number counts, read from the words right after it (longest first).
_CURRENCY = ("万元", "块钱", "元钱", "元", "块")
_PEOPLE = (
    "个工人",
    "名工人",
    "个员工",
    "名员工",
    "个职工",
    "名职工",
    "个农民工",
    "名农民工",
    "个工友",
    "个人",
    "名",
    "位",
    "人",
)
_MEASURE = ("个", "年", "月", "天", "日", "号", "小时", "岁", "次", "家", "倍", "周", "星期")
_TAIL = re.compile(
    " ?(" + "|".join(map(re.escape, sorted(_CURRENCY + _PEOPLE + _MEASURE, key=len, reverse=True))) + ")"
)

Kind = Literal["amount", "headcount", "number"]


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, whether the caller was approximate, the words and where."""

    value: float
    approximate: bool
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Quantity:
    """A number with what it counts ("六十多万" an amount, "十三个人" a head-count); `text` includes the unit words."""

    value: int | float
    approximate: bool
    kind: Kind
    text: str
    start: int
    end: int

    def to_dict(self) -> dict[str, Any]:
        return {"value": self.value, "approximate": self.approximate, "kind": self.kind, "text": self.text}


def _is_range(digits: str) -> bool:
    """Whether adjacent digits are a range ("三四", "八九": each one more than the last), not a digit string (二零二三)."""
    values = [DIGITS[c] for c in digits]
    return values[0] != 0 and all(b == a + 1 for a, b in pairwise(values))


@lru_cache(maxsize=4096)
def _value(run: str) -> tuple[float, bool] | None:
    """The value of one run of numerals and whether it is approximate; None when cn2an cannot read it."""
    plain = run.translate(_FOR_CN2AN)
    exact = _CHINESE_DIGITS.sub(lambda m: m[0][-1] if _is_range(m[0]) else m[0], plain)  # a range: its upper end
    try:
        value = float(cn2an.cn2an(exact, "smart"))
    except (ValueError, KeyError):  # cn2an's verdict on a malformed run ("十十", "3万万"): no number
        return None
    return value, exact != plain or any(c in APPROX_INSIDE for c in run)


def find_numbers(text: str) -> list[Number]:
    """Every number in `text`, in order; words after it ("左右", "多") make it approximate."""
    found = []
    for match in NUMBER.finditer(text):
        parsed = _value(match[0])
        if parsed is None:
            continue
        value, approx = parsed
        after = text[match.end() : match.end() + 3]
        if after.startswith(_AFTER_APPROX) or (after[1:].startswith(("多", "余")) and after[:1] in "个名位块元"):
            approx = True
        found.append(Number(value, approx, match[0], match.start(), match.end()))
    return found


def _plain(value: float) -> int | float:
    return int(value) if float(value).is_integer() else value


def find_quantities(text: str) -> list[Quantity]:
    """Every number in `text` with what it counts: money (元/块, or 万/亿), people (个人/名/工人), else a number."""
    found = []
    for n in find_numbers(text):
        tail_match = _TAIL.match(text, n.end)
        tail = tail_match.group(1) if tail_match else ""
        end = tail_match.end() if tail_match else n.end
        big = re.search("[万萬亿wW]", n.text) is not None
        if tail in _CURRENCY or (big and tail not in _PEOPLE and tail not in _MEASURE):
            kind: Kind = "amount"
        elif tail in _PEOPLE:
            kind = "headcount"
        else:
            kind = "number"
        found.append(Quantity(_plain(n.value), n.approximate, kind, text[n.start : end], n.start, end))
    return found


def numerals_to_digits(text: str) -> str:
    """Chinese numerals written as digits where they are numbers ("十三个人" → "13个人", "六十多万" → "60多万").

    Only the exact part before an approximation word is rewritten ("六十多万" keeps its "多万"), and a range
    ("三四个") stays in words."""
    out, last = [], 0
    for n in find_numbers(text):
        head = re.split(f"[{APPROX_INSIDE}]", n.text, maxsplit=1)[0]
        if re.fullmatch(r"[\d,.]+", head):
            continue
        has_tail = _TAIL.match(text, n.end) is not None
        multi = len(head) >= 2 and re.search(f"[{_U}kKwW]", head) is not None
        if not (has_tail or head != n.text or multi):
            continue  # "一下", "十分": a lone numeral with nothing after it that counts
        parsed = _value(head)
        if parsed is None or parsed[1]:
            continue
        out.append(text[last : n.start])
        out.append(str(_plain(parsed[0])))
        last = n.start + len(head)
    out.append(text[last:])
    return "".join(out)


def amounts(text: str) -> list[Quantity]:
    """The sums of money in `text`."""
    return [q for q in find_quantities(text) if q.kind == "amount"]


def headcounts(text: str) -> list[Quantity]:
    """The numbers of people in `text`."""
    return [q for q in find_quantities(text) if q.kind == "headcount"]
