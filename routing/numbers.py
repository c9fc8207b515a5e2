"""Numbers as callers say them: 13, 六十多万, 一万二, 3万5, 十几个, 三四个 — the value and whether it is approximate."""

from __future__ import annotations

import re
from dataclasses import dataclass

DIGITS = {"零": 0, "〇": 0, "幺": 1, "一": 1, "壹": 1, "二": 2, "两": 2, "俩": 2, "贰": 2, "三": 3, "叁": 3,
          "仨": 3, "四": 4, "肆": 4, "五": 5, "伍": 5, "六": 6, "陆": 6, "七": 7, "柒": 7, "八": 8, "捌": 8,
          "九": 9, "玖": 9}
UNITS = {"十": 10, "拾": 10, "百": 100, "佰": 100, "千": 1000, "仟": 1000, "k": 1000, "K": 1000,
         "万": 10_000, "萬": 10_000, "w": 10_000, "W": 10_000, "亿": 100_000_000}
APPROX_INSIDE = "多余来几"

_D = "".join(DIGITS)
_U = "十拾百佰千仟万萬亿"
# Arabic digits (thousands commas, a decimal point) or Chinese numerals, mixed as people say them ("3万5",
# "1.5万"), with approximation words inside ("六十多万", "十几", "二十来"). Latin k/w only right after digits.
NUMBER = re.compile(rf"(?:\d[\d,]*(?:\.\d+)?[kKwW]?|[{_D}十拾])(?:\d[\d,]*(?:\.\d+)?|[{_D}{_U}{APPROX_INSIDE}])*")
_TOKEN = re.compile(rf"\d+(?:\.\d+)?|[{_D}]|[{_U}kKwW]|[{APPROX_INSIDE}]")
_AFTER_APPROX = ("左右", "上下", "出头", "来", "多", "余")


@dataclass(frozen=True)
class Number:
    """A number found in text: its value, whether the caller was approximate, the words and where."""

    value: float
    approximate: bool
    text: str
    start: int
    end: int


def _value(raw: str) -> tuple[float, bool] | None:
    """The value of one run of numerals; None when the run holds no number (a lone 多)."""
    text = re.sub(r"(?<=\d),(?=\d{3})", "", raw)
    total = section = 0.0
    current: float | None = None
    last_unit: int | None = None
    prev = ""  # kind of the previous token: digit, arabic, unit, approx
    approx = seen = False
    for tok in _TOKEN.findall(text):
        if tok[0].isdigit():
            current, prev, seen = float(tok), "arabic", True
        elif tok in DIGITS:
            d = DIGITS[tok]
            if prev == "digit" and current is not None:
                if d == current + 1 and d != 0 and current != 0:  # "三四个": three or four
                    current, approx = d, True
                else:  # "二零二三", "一千零五"
                    current = current * 10 + d
            else:
                current = d
            prev, seen = "digit", True
        elif tok in UNITS:
            unit = UNITS[tok]
            if unit >= 10_000:
                section += current or 0
                if total and unit > 10_000 or not total:
                    total = (total + (section or (1 if not total else 0))) * unit
                else:
                    total += (section or 1) * unit
                section = 0.0
            else:
                section += (1 if current is None else current) * unit
            current, last_unit, prev, seen = None, unit, "unit", True
        else:
            approx, prev = True, "approx"
    if not seen:
        return None
    if current is not None:
        # A digit straight after a unit counts in the next unit down: 三千五 3500, 一万二 12000, 3万5 35000.
        elided = prev in ("digit", "arabic") and last_unit is not None and _follows_unit(text)
        section += current * (last_unit / 10 if elided else 1)
    return total + section, approx


def _follows_unit(text: str) -> bool:
    """Whether the last numeral of the run comes straight after a unit (三千五, not 一千零五 or 3500)."""
    tail = re.search(rf"([{_U}kKwW])(\d+(?:\.\d+)?|[{_D}])$", text)
    return tail is not None


def find_numbers(text: str) -> list[Number]:
    """Every number in `text`, in order; words after it ("左右", "多") make it approximate."""
    found = []
    for match in NUMBER.finditer(text):
        raw = match.group()
        parsed = _value(raw)
        if parsed is None:
            continue
        value, approx = parsed
        end = match.end()
        after = text[end:end + 3]
        if after.startswith(_AFTER_APPROX) or after[1:].startswith(("多", "余")) and after[:1] in "个名位块元":
            approx = True
        found.append(Number(value, approx, raw, match.start(), end))
    return found


def parse_number(text: str) -> float | None:
    """The value of the first number in `text` ("六十多万" → 600000.0), or None."""
    numbers = find_numbers(text)
    return numbers[0].value if numbers else None
