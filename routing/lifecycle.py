"""The ticket's closed loop: 受理 accepted → 转办 dispatched → 督办 supervised → 回复 replied → 回访 callback
→ 归档 archived. Every change goes through here, written down with actor, time and note."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from hotline.db import utcnow
from routing.sla import SlaPolicy
from routing.survey_request import schedule_survey
from routing.tables import Ticket
from routing.tickets import add_event, local_time

STATES = ("accepted", "dispatched", "supervised", "replied", "callback", "archived")
STATE_LABELS = {
    "accepted": "受理",
    "dispatched": "转办",
    "supervised": "督办",
    "replied": "回复",
    "callback": "回访",
    "archived": "归档",
}
# Every kind of ticket event (routing.tickets.add_event: a state reached, or something that happened) as staff
# read it on a ticket's history; the kind stays the code in the JSON.
EVENT_LABELS = {
    **STATE_LABELS,
    "routed": "分派",
    "classified": "机器理解",
    "reclassified": "重新理解",
    "needs_human": "需人工处理",
    "completed": "人工补全",
    "corrected": "人工更正",
    "review_confirmed": "人工确认",
    "linked": "关联案件",
    "merged": "合并",
    "extended": "延期",
    "reminded": "临期提醒",
    "escalated": "超期督办",
    "dispatch_late": "派单超时",
    "urgent": "标记紧急",
    "caller_emergency": "来电人紧急求助",
    "urgent_later": "事后发现紧急",
    "moved_to_supervisor": "转班长/主管",
    "alert_acknowledged": "确认提醒",
    "note": "咨询记录",
    "lawyer_ticket": "律师建单",
    "lawyer_answered": "律师接听",
    "lawyer_unreached": "律师未接通",
    "queue_skipped": "未进律师排队",
    "supervisor_unreached": "班长/主管未接通",
    "dispatcher_queue": "转派单员",
    "asked_for_person": "要求转人工",
    "callback_requested": "待回电",
    "callback_taken": "接手回电",
    "callback_reached": "回电已接通",
    "callback_not_reached": "回电未接通",
    "survey_attempt": "回访呼叫",
    "survey_answered": "回访已答",
    "survey_skipped": "不回访",
    "survey_cancelled": "取消回访",
    "survey_unreachable": "回访未接通",
}

# Which state may follow which. A consultation answered on the spot goes straight to `replied`;
# an unsatisfied callback sends the ticket back under supervision.
ALLOWED = {
    "accepted": {"dispatched", "supervised", "replied"},
    "dispatched": {"supervised", "replied"},
    "supervised": {"dispatched", "replied"},
    "replied": {"callback", "supervised", "archived"},
    "callback": {"archived", "supervised"},
    "archived": set(),
}


# The machine's own names as a ticket event's actor (people act under their usernames).
ACTOR_LABELS = {"system": "系统", "sla": "时限监控", "survey": "自动回访", "caller-ivr": "来电人按键选择"}


def actor_label(actor: str) -> str:
    """Who acted, as staff read it: 系统 for the machine, a person's username as it is."""
    return ACTOR_LABELS.get(actor, actor)


def event_label(kind: str) -> str:
    """A ticket event's kind as staff read it; a kind not listed yet still reads as a record, with its code."""
    return EVENT_LABELS.get(kind, f"记录（{kind}）")


class TransitionError(ValueError):
    """A change the closed loop does not allow; the message says what is allowed instead."""


def transition(
    session: Session,
    ticket: Ticket,
    to: str,
    *,
    actor: str,
    note: str = "",
    now: datetime | None = None,
    recovered_amount: float | None = None,
) -> None:
    """Move a ticket to state `to`, recording who did it and why."""
    if to not in STATES:
        states = "、".join(f"{label}（{code}）" for code, label in STATE_LABELS.items())
        raise TransitionError(f"没有“{to}”这个状态：状态有 {states}")
    if to not in ALLOWED[ticket.status]:
        allowed = "、".join(STATE_LABELS[s] for s in STATES if s in ALLOWED[ticket.status])
        if not allowed:
            raise TransitionError(f"工单 {ticket.number} 已归档：不能再流转")
        raise TransitionError(
            f"工单 {ticket.number} 现在是“{STATE_LABELS[ticket.status]}”：只能转到{allowed}，不能转到“{STATE_LABELS[to]}”"
        )
    if not actor.strip():
        raise TransitionError("请填写经办人（actor）")
    before = ticket.status
    ticket.status = to
    if to == "archived":
        ticket.closed_at = now or utcnow()
    if recovered_amount is not None:
        if recovered_amount < 0:
            raise TransitionError("挽回金额不能是负数")
        ticket.recovered_amount = recovered_amount
    said = f"{STATE_LABELS[before]} → {STATE_LABELS[to]}"  # the states as staff read them; the kind is the code
    add_event(session, ticket, to, said + (f"：{note}" if note else ""), actor=actor)
    if to == "replied":
        schedule_survey(session, ticket)  # the satisfaction callback (回访); its round decides when to call


def extend(session: Session, ticket: Ticket, working_days: int, *, actor: str, reason: str, sla: SlaPolicy) -> None:
    """Push the reply deadline back (延期); counted, with the reason, for the extension statistics."""
    if working_days < 1 or working_days > 30:
        raise TransitionError("延期须为 1 到 30 个工作日")
    if not reason.strip():
        raise TransitionError("延期须说明理由")
    if ticket.status in ("replied", "callback", "archived"):
        raise TransitionError(f"工单 {ticket.number} 已是“{STATE_LABELS[ticket.status]}”：没有可延期的办结期限")
    if ticket.reply_due_at is None:
        raise TransitionError(f"工单 {ticket.number} 还没有办结期限")
    ticket.reply_due_at = sla.extend(ticket.reply_due_at, working_days)
    ticket.extensions += 1
    ticket.reminded_at = None
    add_event(
        session,
        ticket,
        "extended",
        f"延期 {working_days} 个工作日，办结期限改为 {local_time(ticket.reply_due_at, sla.calendar.timezone)}：{reason}",
        actor=actor,
    )


def start_clock(ticket: Ticket, sla: SlaPolicy) -> None:
    """Set the ticket's deadlines from its handling class and when it was accepted."""
    ticket.dispatch_due_at, ticket.reply_due_at = sla.deadlines(ticket.handling_class, ticket.created_at)
