"""The audit log: every sign-in, every ticket viewed, every recording played, with who and from where."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hotline.db import utcnow
from staff.tables import AuditEntry


def record(session: Session, *, actor: str, role: str | None, action: str, target: str | None = None,
           ip: str | None = None, detail: dict | None = None, at: datetime | None = None) -> AuditEntry:
    """Write one entry in the caller's transaction (so an access is logged exactly when it happens)."""
    entry = AuditEntry(actor=actor, role=role, action=action, target=target, ip=ip, detail=detail or {},
                       at=at or utcnow())
    session.add(entry)
    return entry
