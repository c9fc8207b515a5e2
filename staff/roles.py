"""Who may do what: the staff roles, and whose eyes see a caller's full phone number."""

from __future__ import annotations

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
