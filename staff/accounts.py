"""Staff accounts: creating them, signing in, and the rate limit on failed sign-ins."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hotline.db import utcnow
from staff.audit import record
from staff.passwords import check_strength, dummy_hash, hash_password, needs_rehash, verify_password
from staff.roles import LAWYER, OPERATOR, ROLE_LABELS, ROLES
from staff.sessions import end_sessions_of
from staff.tables import AuditEntry, StaffUser


class AccountError(ValueError):
    """A bad account request; the message says what to do."""


@dataclass(frozen=True)
class SignInLimit:
    """At most `failures` failed sign-ins per (account, address) within `window`; from one address, at most
    `failures * address_factor` in all, except for accounts that signed in from that address within `known_for`.

    So an attacker's guesses from one address neither lock every account nor the real owner at their own desk.
    """

    failures: int = 5
    window: timedelta = timedelta(minutes=15)
    address_factor: int = 4
    known_for: timedelta = timedelta(days=30)


class TooManyAttempts(RuntimeError):
    """Too many failed sign-ins lately: the message says how many minutes to wait."""

    def __init__(self, retry_after_s: int) -> None:
        super().__init__(f"登录失败次数过多：请 {max(1, -(-retry_after_s // 60))} 分钟后再试")
        self.retry_after_s = retry_after_s


E164 = re.compile(r"\+[1-9]\d{6,14}")  # "+" and 7 to 15 digits, as Twilio dials them


def normalise_phone(raw: str) -> str:
    """A phone number as Twilio dials it: +8613800138000 (spaces, dashes and brackets are dropped)."""
    phone = re.sub(r"[\s\-()]", "", raw)
    if not E164.fullmatch(phone):
        raise AccountError(
            f"电话号码 {raw} 不是完整的号码：请写成 +86 加号码，例如 +8613800138000（固定电话带区号：+862988881234）"
        )
    return phone


def create_user(
    session: Session,
    username: str,
    role: str,
    password: str,
    *,
    display_name: str = "",
    roster_id: str | None = None,
    phone: str | None = None,
) -> StaffUser:
    """A new account; the password is checked for strength and stored only as an argon2 hash.

    `phone` is where the calls an operator takes are put through to (staff/seats.py).
    """
    username = username.strip()
    if not username or len(username) > 64 or any(c.isspace() for c in username):
        raise AccountError("用户名须为 1 到 64 个字符，不能有空格")
    if role not in ROLES:
        roles = "、".join(f"{code}（{ROLE_LABELS[code]}）" for code in ROLES)
        raise AccountError(f"没有这个角色：{role}；角色有 {roles}")
    if roster_id and role != LAWYER:
        raise AccountError("只有律师的账号才关联排班表上的座席（--roster-id）")
    if session.scalar(select(StaffUser).where(StaffUser.username == username)):
        raise AccountError(f"用户 {username} 已经存在：请换一个用户名")
    if roster_id and session.scalar(select(StaffUser).where(StaffUser.roster_id == roster_id)):
        raise AccountError(f"排班表座席 {roster_id} 已关联到另一个账号")
    phone = normalise_phone(phone) if phone is not None else None
    check_strength(password)
    user = StaffUser(
        username=username,
        role=role,
        password_hash=hash_password(password),
        display_name=display_name or username,
        roster_id=roster_id,
        phone=phone,
    )
    session.add(user)
    session.flush()
    return user


def set_password(session: Session, user: StaffUser, password: str) -> None:
    """A new password; every session signed in with the old one ends."""
    check_strength(password)
    user.password_hash = hash_password(password)
    user.password_changed_at = utcnow()
    end_sessions_of(session, user.id, user.password_changed_at)


@dataclass(frozen=True)
class SignInAttempt:
    """A sign-in let through the limits, to be checked against `password_hash` outside any transaction.

    An unknown or disabled account gets a dummy hash, so it costs the same argon2 work as a real one: the
    answer's timing does not tell which usernames exist.
    """

    username: str
    user_id: int | None
    password_hash: str


def _failures(session: Session, since: datetime, *where: ColumnElement[bool]) -> tuple[int, datetime | None]:
    """How many failed sign-ins match, and the oldest of them."""
    count, oldest = session.execute(
        select(func.count(), func.min(AuditEntry.at)).where(
            AuditEntry.action == "login_failed", AuditEntry.at >= since, *where
        )
    ).one()
    return count, oldest


def start_sign_in(
    session: Session, username: str, *, ip: str | None, limit: SignInLimit, now: datetime
) -> SignInAttempt:
    """Apply the limits and find the account (reads only: short, before the slow password check).

    Failures are counted from the audit log, so the limits hold across restarts and for every process.
    """
    since = now - limit.window
    name = username[:64]
    count, oldest = _failures(session, since, AuditEntry.actor == name, AuditEntry.ip == ip)
    if count >= limit.failures:
        raise TooManyAttempts(int(((oldest or now) + limit.window - now).total_seconds()))
    if ip is not None:
        count, oldest = _failures(session, since, AuditEntry.ip == ip)
        if count >= limit.failures * limit.address_factor and not _signed_in_from(
            session, name, ip, now - limit.known_for
        ):
            raise TooManyAttempts(int(((oldest or now) + limit.window - now).total_seconds()))
    user = session.scalar(select(StaffUser).where(StaffUser.username == username))
    if user is None or not user.active:
        return SignInAttempt(username, None, dummy_hash())
    return SignInAttempt(username, user.id, user.password_hash)


def _signed_in_from(session: Session, username: str, ip: str, since: datetime) -> bool:
    """Whether this account signed in successfully from this address lately: its owner's own desk."""
    found = session.scalar(
        select(AuditEntry.id)
        .where(AuditEntry.action == "login", AuditEntry.actor == username, AuditEntry.ip == ip, AuditEntry.at >= since)
        .limit(1)
    )
    return found is not None


def check_attempt(attempt: SignInAttempt, password: str) -> tuple[bool, str | None]:
    """The argon2 check (slow: run it outside any transaction); and a new hash when the stored one is outdated."""
    matches = verify_password(attempt.password_hash, password)
    if not matches or attempt.user_id is None:
        return False, None
    return True, (hash_password(password) if needs_rehash(attempt.password_hash) else None)


def finish_sign_in(
    session: Session, attempt: SignInAttempt, matched: bool, new_hash: str | None, *, ip: str | None, now: datetime
) -> StaffUser | None:
    """Audit the attempt; the account when the password matched and the account is (still) active."""
    user = session.get(StaffUser, attempt.user_id) if matched and attempt.user_id is not None else None
    if user is None or not user.active or user.password_hash != attempt.password_hash:
        record(session, actor=attempt.username[:64], role=None, action="login_failed", ip=ip, at=now)
        return None
    if new_hash is not None:
        user.password_hash = new_hash
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
