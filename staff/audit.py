"""The audit log: every sign-in, every ticket viewed, every recording played, with who and from where."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from hotline.db import utcnow
from staff.tables import AuditEntry


def record(
    session: Session,
    *,
    actor: str,
    role: str | None,
    action: str,
    target: str | None = None,
    ip: str | None = None,
    detail: dict[str, Any] | None = None,
    at: datetime | None = None,
) -> AuditEntry:
    """Write one entry in the caller's transaction (so an access is logged exactly when it happens)."""
    entry = AuditEntry(
        actor=actor, role=role, action=action, target=target, ip=ip, detail=detail or {}, at=at or utcnow()
    )
    session.add(entry)
    return entry


# A console list refreshes every few seconds; a ticket already in the log for this person this recently is not
# written again for showing up in a list (opening the ticket itself is always written).
LIST_VIEW_AGAIN_AFTER = timedelta(minutes=10)


def not_viewed_lately(
    session: Session, actor: str, targets: list[str], *, within: timedelta = LIST_VIEW_AGAIN_AFTER
) -> list[str]:
    """The tickets among `targets` this person has no `view_ticket` entry for within `within`."""
    if not targets:
        return []
    seen = set(
        session.scalars(
            select(AuditEntry.target).where(
                AuditEntry.actor == actor,
                AuditEntry.action == "view_ticket",
                AuditEntry.target.in_(targets),
                AuditEntry.at >= utcnow() - within,
            )
        )
    )
    return [t for t in targets if t not in seen]
