"""Staff accounts and the audit log of who looked at what."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hotline.db import Base, utcnow


class StaffUser(Base):
    """A person who signs in: operator, lawyer, inspector, supervisor or admin."""

    __tablename__ = "staff_users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # A lawyer's id on the duty roster (routing/data/roster.yaml), so the seat console knows whose seat it is.
    roster_id: Mapped[str | None] = mapped_column(String(32), unique=True)
    # The phone an operator's calls are put through to when they take calls (E.164, +86...).
    phone: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    password_changed_at: Mapped[datetime] = mapped_column(default=utcnow)


class OperatorPresence(Base):
    """Whether an operator takes calls now, and which call they are on (staff/seats.py)."""

    __tablename__ = "operator_presence"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    signed_in: Mapped[bool] = mapped_column(Boolean, default=False)
    on_call_sid: Mapped[str | None] = mapped_column(String(64))
    # Set when the operator signs in or is freed from a call: for a free operator, the start of their idle time.
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AuditEntry(Base):
    """One access worth answering for: a sign-in (or a failed one), a ticket viewed, a recording played."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(64), index=True)  # username, or what was typed at a failed sign-in
    role: Mapped[str | None] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(32), index=True)  # login, login_failed, view_ticket, play_recording
    target: Mapped[str | None] = mapped_column(String(64))  # ticket number, recording sid, call sid
    ip: Mapped[str | None] = mapped_column(String(64), index=True)  # the sign-in limits count failures by address
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class StaffSessionRecord(Base):
    """A sign-in's session, kept server-side: signing out (or disabling the account) ends it at once."""

    __tablename__ = "staff_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the id in the cookie, never the id
    user_id: Mapped[int] = mapped_column(ForeignKey("staff_users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime]
    ended_at: Mapped[datetime | None]
