"""Staff accounts: creating them, signing in, and the rate limit on failed sign-ins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hotline.db import utcnow
from staff.audit import record
from staff.passwords import check_strength, hash_password, needs_rehash, verify_password
from staff.roles import LAWYER, OPERATOR, ROLES
from staff.tables import AuditEntry, StaffUser


class AccountError(ValueError):
    """A bad account request; the message says what to do."""


@dataclass(frozen=True)
class SignInLimit:
    """At most `failures` failed sign-ins per account, and per address, within `window`."""

    failures: int = 5
    window: timedelta = timedelta(minutes=15)


class TooManyAttempts(RuntimeError):
    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"too many failed sign-ins: try again in {max(1, -(-retry_after_s // 60))} minute(s)")
        self.retry_after_s = retry_after_s


E164 = re.compile(r"\+[1-9]\d{6,14}")  # "+" and 7 to 15 digits, as Twilio dials them


def normalise_phone(raw: str) -> str:
    """A phone number as Twilio dials it: +8613800138000 (spaces, dashes and brackets are dropped)."""
    phone = re.sub(r"[\s\-()]", "", raw)
    if not E164.fullmatch(phone):
        raise AccountError(f"phone {raw!r} is not a full international number: write it as +86 and the "
                           "number, e.g. +8613800138000 (a landline with its area code: +862988881234)")
    return phone


def create_user(session: Session, username: str, role: str, password: str, *, display_name: str = "",
                roster_id: str | None = None, phone: str | None = None) -> StaffUser:
    """A new account; the password is checked for strength and stored only as an argon2 hash.

    `phone` is where the calls an operator takes are put through to (staff/seats.py).
    """
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("a username is 1 to 64 characters without spaces")
    if role not in ROLES:
        raise AccountError(f"unknown role {role!r}; roles are: {', '.join(ROLES)}")
    if roster_id and role != LAWYER:
        raise AccountError("only a lawyer's account is linked to a seat on the duty roster (--roster-id)")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise AccountError(f"user {username!r} exists already")
    if roster_id and session.scalar(select(StaffUser).where(StaffUser.roster_id == roster_id)):
        raise AccountError(f"roster seat {roster_id} belongs to another account already")
    phone = normalise_phone(phone) if phone is not None else None
    check_strength(password)
    user = StaffUser(username=username, role=role, password_hash=hash_password(password),
                     display_name=display_name or username, roster_id=roster_id, phone=phone)
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """A new password; sessions signed in with the old one end (their cookie carries the change time)."""
    check_strength(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()


def authenticate(session: Session, username: str, password: str, *, ip: str | None, limit: SignInLimit,
                 now: datetime | None = None) -> StaffUser | None:
    """The account for these credentials, or None; every attempt is audited, and too many failures lock out.

    Failures are counted from the audit log, so the limit holds across restarts and for every process.
    """
    now = now or utcnow()
    since = now - limit.window
    failures = [AuditEntry.action == "login_failed", AuditEntry.at >= since]
    by_name = session.scalar(select(func.count()).where(*failures, AuditEntry.actor == username[:64]))
    by_ip = session.scalar(select(func.count()).where(*failures, AuditEntry.ip == ip)) if ip else 0
    if by_name >= limit.failures or by_ip >= limit.failures * 4:
        oldest = session.scalar(select(func.min(AuditEntry.at)).where(*failures, AuditEntry.actor == username[:64]))
        retry = int(((oldest or now) + limit.window - now).total_seconds())
        raise TooManyAttempts(retry)
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active or not verify_password(user.password_hash, password):
        record(session, actor=username[:64], role=None, action="login_failed", ip=ip, at=now)
        return None
    if needs_rehash(user.password_hash):
        user.password_hash = hash_password(password)
    record(session, actor=user.username, role=user.role, action="login", ip=ip, at=now)
    return user


DESK_PREFIX = "desk:"  # a call answered on the operators' shared desk number: handled by the operators together


def handler_id(user: StaffUser) -> str:
    """How calls name this person as their handler: a lawyer by roster seat, anyone else by username."""
    return user.roster_id if user.role == LAWYER and user.roster_id else user.username


def handles(user: StaffUser, handler: str | None) -> bool:
    """Whether `handler` (of a call, or of QA feedback) is this person: themselves, or their desk for operators."""
    if handler is None:
        return False
    return handler == handler_id(user) or (user.role == OPERATOR and handler.startswith(DESK_PREFIX))
