"""Who may do what: the staff roles, and whose eyes see a caller's full phone number."""

from __future__ import annotations

import re
from typing import Any, overload

OPERATOR, LAWYER, INSPECTOR, SUPERVISOR, ADMIN = "operator", "lawyer", "inspector", "supervisor", "admin"
ROLES = (OPERATOR, LAWYER, INSPECTOR, SUPERVISOR, ADMIN)
ROLE_LABELS = {OPERATOR: "话务员", LAWYER: "律师", INSPECTOR: "质检员", SUPERVISOR: "班长/主管", ADMIN: "管理员"}
ALL_STAFF = ROLES

# The roles that call callers back (consultation callbacks, follow-ups) need the real number; everyone else
# (inspectors listening to calls, supervisors reading the dashboard) sees 138****1234.
CALLBACK_ROLES = frozenset({OPERATOR, LAWYER})


def role_allows(role: str, allowed: tuple[str, ...] | frozenset[str]) -> bool:
    """Admin passes every check; other roles only where listed."""
    return role == ADMIN or role in allowed


@overload
def mask_phone(number: str) -> str: ...
@overload
def mask_phone(number: None) -> None: ...
@overload
def mask_phone(number: str | None) -> str | None: ...


def mask_phone(number: str | None) -> str | None:
    """138****1234: the first three and last four digits of the subscriber number, the rest hidden.

    A country prefix (+86) is kept as it is, so "+8613812341234" becomes "+86138****1234".
    """
    if not number:
        return number
    prefix, digits = "", number
    if number.startswith("+86"):
        prefix, digits = "+86", number[3:]
    elif number.startswith("+"):
        prefix, digits = number[:3], number[3:]
    if len(digits) > 7:
        return f"{prefix}{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"
    if len(digits) > 4:  # a short number: keep only the last four
        return f"{prefix}{'*' * (len(digits) - 4)}{digits[-4:]}"
    return prefix + "*" * len(digits)


def phone_for(role: str, number: str | None) -> str | None:
    """The number as this role may see it."""
    return number if role in CALLBACK_ROLES else mask_phone(number)


# A mainland caller's number inside free text (a ticket event "same caller +8613812341234", a call event, a
# note): a mobile 1[3-9]xxxxxxxxx or a landline with its area code (010…, 029…), with or without +86 (or 86).
# Service numbers (+8612351…, the hotline's own desk) are not callers' and stay whole; so does anything inside a
# longer run of letters or digits (call SIDs, ticket numbers, checksums).
_NUMBER_IN_TEXT = re.compile(
    r"(?<![0-9A-Za-z+])(?:\+86[ -]?(?:1[3-9]\d{9}|10\d{8}|[2-9]\d{8,10})"
    r"|(?:86[ -]?)?1[3-9]\d{9}|0\d{2,3}-?\d{7,8})(?![0-9A-Za-z])"
)


def mask_text(text: str) -> str:
    """Free text with every caller number in it masked as mask_phone does."""

    def masked(match: re.Match[str]) -> str:
        number = match.group(0).replace(" ", "").replace("-", "")
        return mask_phone("+" + number if number.startswith("86") else number)

    return _NUMBER_IN_TEXT.sub(masked, text)


def masked_for(role: str, data: Any) -> Any:
    """A whole JSON-ready answer (dicts, lists, strings) as this role may read it: every string masked for
    roles that get masked numbers, so a number in a note, an event or an export cannot slip through."""
    if role in CALLBACK_ROLES:
        return data
    if isinstance(data, str):
        return mask_text(data)
    if isinstance(data, dict):
        return {key: masked_for(role, value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return [masked_for(role, value) for value in data]
    return data
