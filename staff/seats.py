"""Operator seats: who takes calls now, and which operator the next caller who asks for a person is put through to.

An operator signs in to take calls (their account must have a phone); the caller goes to the free operator who
has waited longest since signing in or since their last call, so calls are shared evenly. A claimed operator is
busy with that call until its `<Dial>` ends (or the call does). Quality inspection then knows who took each call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hotline.db import rows_changed, utcnow
from staff.roles import OPERATOR, ROLE_LABELS, role_allows
from staff.tables import OperatorPresence, StaffUser

OPERATOR_SEATS = "operators"  # the value of a dial step's `seats:` that rings a free operator's own phone


class SeatError(ValueError):
    """An operator cannot take calls; the message says why and what to do."""


@dataclass(frozen=True)
class OperatorSeat:
    """An operator's seat as the consoles show it; `free` = signed in, with a phone, not on a call."""

    username: str
    display_name: str
    phone: str | None
    signed_in: bool
    on_call_sid: str | None
    since: datetime | None  # when they signed in or were last freed (idle since, when free)

    @property
    def free(self) -> bool:
        return self.signed_in and self.phone is not None and self.on_call_sid is None


@dataclass(frozen=True)
class Claimed:
    """The operator a call is being put through to."""

    username: str
    phone: str


def _presence(session: Session, username: str) -> OperatorPresence:
    presence = session.get(OperatorPresence, username)
    if presence is None:
        presence = OperatorPresence(username=username, signed_in=False, updated_at=utcnow())
        session.add(presence)
    return presence


def sign_in(session: Session, user: StaffUser) -> OperatorPresence:
    """The operator takes calls from now on; signing in again changes nothing (their idle time keeps counting)."""
    if not role_allows(user.role, (OPERATOR,)):
        raise SeatError(f"只有话务员可以接听热线来电：{user.username} 是{ROLE_LABELS.get(user.role, user.role)}")
    if not user.phone:
        raise SeatError(
            f"{user.username} 没有登记接听电话，来电无法转接：请管理员设置（hotline users phone {user.username} +86…）"
        )
    presence = _presence(session, user.username)
    if not presence.signed_in:
        presence.signed_in, presence.updated_at = True, utcnow()
    session.flush()
    return presence


def sign_out(session: Session, username: str) -> OperatorPresence:
    """The operator stops taking calls; a call they are on goes on, and frees them when it ends."""
    presence = _presence(session, username)
    if presence.signed_in:
        presence.signed_in, presence.updated_at = False, utcnow()
    session.flush()
    return presence


def claim_free_operator(session: Session, call_sid: str) -> Claimed | None:
    """The free operator idle longest, now marked on `call_sid`; None when nobody is free.

    A retried webhook gets the operator already claimed for the call. The claim is one conditional UPDATE, so
    two callers at once never get the same operator (the loser of the race tries the next one).
    """
    already = session.execute(
        select(StaffUser.username, StaffUser.phone)
        .join(OperatorPresence, OperatorPresence.username == StaffUser.username)
        .where(OperatorPresence.on_call_sid == call_sid)
    ).first()
    if already is not None and already.phone:
        return Claimed(already.username, already.phone)
    candidates = session.execute(
        select(StaffUser.username, StaffUser.phone)
        .join(OperatorPresence, OperatorPresence.username == StaffUser.username)
        .where(
            OperatorPresence.signed_in.is_(True),
            OperatorPresence.on_call_sid.is_(None),
            StaffUser.phone.is_not(None),
            StaffUser.active.is_(True),
        )
        .order_by(OperatorPresence.updated_at, OperatorPresence.username)
    ).all()
    for username, phone in candidates:
        if phone is None:  # never: the query keeps only operators with a phone (this narrows the column's type)
            continue
        taken = rows_changed(
            session,
            update(OperatorPresence)
            .where(
                OperatorPresence.username == username,
                OperatorPresence.signed_in.is_(True),
                OperatorPresence.on_call_sid.is_(None),
            )
            .values(on_call_sid=call_sid, updated_at=utcnow()),
        )
        if taken == 1:
            return Claimed(username, phone)
    return None


def release(session: Session, call_sid: str) -> str | None:
    """Free the operator claimed for this call (their idle time starts now); returns who it was."""
    freed = session.scalars(
        select(OperatorPresence).where(OperatorPresence.on_call_sid == call_sid).order_by(OperatorPresence.username)
    ).all()
    for presence in freed:
        presence.on_call_sid, presence.updated_at = None, utcnow()
    session.flush()
    return freed[0].username if freed else None


def seat_of(session: Session, user: StaffUser) -> OperatorSeat:
    """One operator's seat (a user who never signed in is signed out)."""
    presence = session.get(OperatorPresence, user.username)
    return OperatorSeat(
        user.username,
        user.display_name,
        user.phone,
        bool(presence and presence.signed_in),
        presence.on_call_sid if presence else None,
        presence.updated_at if presence else None,
    )


def operator_seats(session: Session) -> list[OperatorSeat]:
    """Every active operator, and anyone else with a presence row (an admin who took calls), by username."""
    rows = session.execute(
        select(StaffUser, OperatorPresence)
        .outerjoin(OperatorPresence, OperatorPresence.username == StaffUser.username)
        .where(StaffUser.active.is_(True), (StaffUser.role == OPERATOR) | OperatorPresence.username.is_not(None))
        .order_by(StaffUser.username)
    ).all()
    return [
        OperatorSeat(
            u.username,
            u.display_name,
            u.phone,
            bool(p and p.signed_in),
            p.on_call_sid if p else None,
            p.updated_at if p else None,
        )
        for u, p in rows
    ]
