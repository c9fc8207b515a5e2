"""Alerts people see: the open ones (and those acknowledged a moment ago), and acknowledging one — who and when."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from routing.classify import Taxonomy
from routing.corrections import urgency_flag_labels
from routing.tables import Alert, Ticket
from routing.tickets import add_event

# Alert kinds (stable codes, written by routing.decide, routing.sla_watch, routing.survey, the IVR) as staff read them.
ALERT_LABELS = {
    "urgent": "紧急工单",
    "emergency": "紧急求助（来电人按键或呼救）",
    "overdue": "超期督办",
    "near_deadline": "临期提醒",
    "dispatch_late": "派单超时",
    "dissatisfied": "回访不满意",
}
# The kinds that sound and flash on the consoles until someone acknowledges them.
SOUNDING = ("urgent", "emergency")


class AlertError(ValueError):
    """An alert that cannot be acknowledged (none such)."""


def alert_label(kind: str) -> str:
    return ALERT_LABELS.get(kind, f"提醒（{kind}）")


def recent_alerts(
    session: Session,
    *,
    kinds: Sequence[str] | None = None,
    now: datetime,
    acknowledged_within: timedelta = timedelta(0),
    limit: int = 200,
) -> list[Alert]:
    """Unacknowledged alerts, and those acknowledged within `acknowledged_within` (so others see who took it),
    newest first."""
    query = select(Alert).order_by(Alert.id.desc()).limit(limit)
    if acknowledged_within > timedelta(0):
        query = query.where(or_(Alert.acknowledged_at.is_(None), Alert.acknowledged_at >= now - acknowledged_within))
    else:
        query = query.where(Alert.acknowledged_at.is_(None))
    if kinds:
        query = query.where(Alert.kind.in_(list(kinds)))
    return list(session.scalars(query))


def acknowledge(session: Session, alert_id: int, *, actor: str, now: datetime) -> tuple[Alert, bool]:
    """Record that `actor` has seen the alert and takes it (the alert row, and the ticket's history).
    Returns the alert and whether this call acknowledged it (False: someone already had — theirs stands)."""
    alert = session.get(Alert, alert_id, with_for_update=True)
    if alert is None:
        raise AlertError(f"没有编号为 {alert_id} 的提醒：请刷新提醒列表后重新选择")
    if alert.acknowledged_at is not None:
        return alert, False
    alert.acknowledged_at, alert.acknowledged_by = now, actor
    if alert.ticket_id is not None:
        ticket = session.get(Ticket, alert.ticket_id)
        if ticket is not None:
            add_event(
                session, ticket, "alert_acknowledged", f"{alert_label(alert.kind)}：{actor} 已确认收到", actor=actor
            )
    return alert, True


def alert_text(alert: Alert, ticket: Ticket | None, taxonomy: Taxonomy) -> str:
    """What the alert is about, in words a supervisor reads: the urgency flags, the subject and the caller's words
    (the kind's label and the ticket number are shown beside it)."""
    if ticket is None:
        return alert_label(alert.kind)
    parts = []
    labels = urgency_flag_labels(taxonomy)
    flags = "、".join(labels.get(f, f) for f in ticket.urgency_flags or [])
    if flags:
        parts.append(f"紧急标记：{flags}")
    parts.append(f"事项：{taxonomy.label(ticket.subject)}")
    if ticket.summary:
        parts.append(ticket.summary[:80])
    return " · ".join(parts)
