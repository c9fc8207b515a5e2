"""Alerts over HTTP: the open ones for the consoles (polled every few seconds), and acknowledging one."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from sqlalchemy.orm import Session

from api.deps import RowId, SessionDep
from api.errors import Refusal
from api.responses.staff import AlertAcknowledged, AlertView
from api.staff_auth import audit, require_roles
from hotline.db import utcnow
from routing.alerts import SOUNDING, AlertError, acknowledge, alert_label, alert_text, recent_alerts
from routing.classify import default_taxonomy
from routing.tables import Alert, Ticket
from staff.roles import OPERATOR, SUPERVISOR
from staff.tables import StaffUser

router = APIRouter(prefix="/api", tags=["alerts"])

# Supervisors take urgent tickets; operators on /tickets see them too, and either may acknowledge (admin passes).
AlertStaff = Annotated[StaffUser, Depends(require_roles(SUPERVISOR, OPERATOR))]


def alert_view(session: Session, alert: Alert) -> dict:
    """One alert as the consoles read it: codes for scripts, Chinese words for people, UTC times with offsets."""
    ticket = session.get(Ticket, alert.ticket_id) if alert.ticket_id else None
    return {
        "id": alert.id,
        "at": alert.at.isoformat(),
        "kind": alert.kind,
        "kind_label": alert_label(alert.kind),
        "sounding": alert.kind in SOUNDING and alert.acknowledged_at is None,
        "ticket_id": alert.ticket_id,
        "ticket_number": ticket.number if ticket else None,
        "urgency_flags": list(ticket.urgency_flags or []) if ticket else [],
        "message": alert.message,
        "text": alert_text(alert, ticket, default_taxonomy()),
        "acknowledged_at": alert.acknowledged_at.isoformat() if alert.acknowledged_at else None,
        "acknowledged_by": alert.acknowledged_by,
    }


@router.get(
    "/alerts",
    summary="Alerts, newest first: the unacknowledged ones, and with `acknowledged_within_minutes` "
    "those acknowledged lately (who and when); `kind` may be repeated",
    response_model=list[AlertView],
)
def get_alerts(
    session: SessionDep,
    _user: AlertStaff,
    unacknowledged: bool = True,
    acknowledged_within_minutes: int = 0,
    kind: Annotated[list[str] | None, Query()] = None,
    limit: int = 200,
) -> list[dict]:
    if not 0 <= acknowledged_within_minutes <= 24 * 60:
        raise Refusal(422, "已确认提醒的显示时长须在 0 到 1440 分钟之间（acknowledged_within_minutes）", "bad_window")
    now = utcnow()
    within = timedelta(minutes=acknowledged_within_minutes) if unacknowledged else timedelta(days=3650)
    alerts = recent_alerts(session, kinds=kind, now=now, acknowledged_within=within, limit=min(max(limit, 1), 500))
    return [alert_view(session, a) for a in alerts]


@router.post(
    "/alerts/{alert_id}/acknowledge",
    summary="I have seen this alert and take it: recorded with who and "
    "when; the consoles stop sounding it for everyone",
    response_model=AlertAcknowledged,
)
def post_acknowledge(alert_id: RowId, session: SessionDep, request: Request, user: AlertStaff) -> dict:
    try:
        alert, acknowledged = acknowledge(session, alert_id, actor=user.username, now=utcnow())
    except AlertError as exc:
        raise Refusal(404, str(exc), "no_alert") from exc
    if acknowledged:
        audit(
            session,
            request,
            user,
            "acknowledge_alert",
            str(alert.id),
            {"kind": alert.kind, "ticket_id": alert.ticket_id},
        )
    session.commit()
    return {**alert_view(session, alert), "acknowledged_now": acknowledged}
