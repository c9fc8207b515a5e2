"""The number a caller types for a callback: a mainland mobile or a landline with its area code, nothing else.

A mobile is 11 digits, 1[3-9] then 9 digits. A landline is 0, the area code (two digits for 010 and 02x, three
for the others) and a local number of 7 or 8 digits: 10 to 12 digits in all. Anything else (300 nines, 123, an
international 00 prefix) is refused, so that a mistyped number never becomes the number a lawyer rings.
"""

from __future__ import annotations

import re

from ivr.twiml import spoken_digits

MOBILE = re.compile(r"1[3-9]\d{9}")
# 0, then an area code that does not start with 0 (00 is the international prefix), then the local number.
LANDLINE = re.compile(r"0(?:(?:10|2\d)|[3-9]\d{2})\d{7,8}")
MAX_KEYS = 24  # how much of a refused entry is kept in the call's events (300 nines are not worth keeping)


def national_number(keys: str) -> str | None:
    """The typed keys as a national number (digits only, '#' and spaces dropped), or None if they are neither a
    mainland mobile nor a landline with its area code."""
    digits = "".join(k for k in keys if k.isdigit())
    if len(digits) != len(keys.replace("#", "").replace(" ", "")):
        return None  # a '*' or another key among the digits: not a number
    if MOBILE.fullmatch(digits) or LANDLINE.fullmatch(digits):
        return digits
    return None


def international(national: str) -> str:
    """The national number in the form calls are stored and dialled in (+86, the landline's trunk 0 dropped),
    the same form as a caller ID."""
    return "+86" + national.removeprefix("0")


def grouped_number(national: str) -> str:
    """The number in the groups a caller says it in, a dash between them: 139-1234-5678 or 029-88886666."""
    if national.startswith("1"):
        groups = [national[:3], national[3:7], national[7:]]
    else:
        area = 3 if national[1] in "12" else 4
        groups = [national[:area], national[area:]]
    return "-".join(groups)


def spoken_number(national: str) -> str:
    """The number read back digit by digit, in its groups: 幺 三 九，幺 二 三 四，五 六 七 八."""
    return spoken_digits(grouped_number(national))
