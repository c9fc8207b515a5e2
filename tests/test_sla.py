"""Working-day clocks on China's official calendar; reminders and escalation with the clock driven by the test."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from hotline.db import transaction
from recordings.calls import record_call
from routing.calendar import WorkingCalendar
from routing.lifecycle import TransitionError, extend, start_clock, transition
from routing.sla import load_sla
from routing.sla_watch import scan
from routing.tables import Alert
from routing.tickets import open_ticket_for_call

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def test_official_holidays_and_make_up_working_weekends():
    cal = WorkingCalendar()
    assert not cal.is_workday(date(2026, 10, 1))  # National Day
    assert cal.is_workday(date(2026, 10, 9))  # the Friday after the holiday week
    assert not cal.is_workday(date(2026, 11, 28))  # an ordinary Saturday
    # 2026's make-up working weekend day after National Day (a Saturday that is a workday)
    assert cal.is_workday(date(2026, 10, 10)) and date(2026, 10, 10).weekday() == 5


def test_a_year_the_package_does_not_know_counts_weekdays_and_takes_the_hotlines_own_days():
    cal = WorkingCalendar(extra_holidays=frozenset({date(2027, 1, 1)}))
    assert not cal.is_workday(date(2027, 1, 1))
    assert cal.is_workday(date(2027, 1, 4)) and not cal.is_workday(date(2027, 1, 9))


def test_general_help_is_dispatched_within_one_working_hour_across_the_national_day_break():
    sla = load_sla()
    dispatch_by, reply_by = sla.deadlines("assist", bj(2026, 9, 30, 17, 0))
    # 30 minutes left on 30 September, the holiday week off, the rest on 8 October from 08:30.
    assert dispatch_by == bj(2026, 10, 8, 9, 0)
    assert reply_by.date() == date(2026, 10, 15)  # 7 working days: 8, 9, 10 (make-up Sat), 12, 13, 14, 15


def test_working_days_between_counts_only_working_time():
    cal = WorkingCalendar()
    assert cal.working_days_between(bj(2026, 11, 23, 8, 30), bj(2026, 11, 24, 17, 30)) == pytest.approx(2.0)
    assert cal.working_days_between(bj(2026, 11, 27, 17, 30), bj(2026, 11, 30, 8, 30)) == 0.0  # a weekend


def _ticket(session, handling_class: str, accepted: datetime, n: int = 1):
    call, _ = record_call(session, f"CA{n:032d}", "+8613800000000", "+8612351")
    ticket = open_ticket_for_call(
        session, call_id=call.id, caller_number=call.from_number, menu_choice="help", timezone="Asia/Shanghai"
    )
    ticket.handling_class = handling_class
    ticket.created_at = accepted
    start_clock(ticket, load_sla())
    return ticket


def test_reminder_before_the_deadline_then_escalation_after_it_each_once(migrated):
    sla = load_sla()
    with transaction(migrated) as session:
        ticket = _ticket(session, "assist", bj(2026, 11, 23, 9, 0))  # Monday
        transition(session, ticket, "dispatched", actor="dispatcher", note="to 雁塔区总工会")
        due = ticket.reply_due_at
    assert due == bj(2026, 12, 2, 17, 30)  # 7 working days later, end of day

    with transaction(migrated) as session:
        assert scan(session, sla, due - timedelta(days=2)).reminded == []
        assert scan(session, sla, due - timedelta(hours=3)).reminded == [ticket.number]
        assert scan(session, sla, due - timedelta(hours=2)).reminded == []  # once
    with transaction(migrated) as session:
        result = scan(session, sla, due + timedelta(minutes=1))
        assert result.escalated == [ticket.number]
        assert scan(session, sla, due + timedelta(hours=5)).escalated == []  # once
    with migrated() as session:
        alerts = session.scalars(select(Alert).order_by(Alert.id)).all()
        assert [a.kind for a in alerts] == ["near_deadline", "overdue"]
        from routing.tables import Ticket

        stored = session.get(Ticket, ticket.id)
        assert stored.status == "supervised"
        assert [e.kind for e in stored.events][-3:] == ["reminded", "supervised", "escalated"]
        # People read the deadline in the hotline's local time, to the second (not UTC ISO with microseconds).
        assert stored.events[-3].note == "临期提醒：办结期限 2026-12-02 17:30:00"
        assert alerts[1].message == f"{ticket.number} is overdue (due 2026-12-02 17:30:00)"


def test_an_extension_moves_the_deadline_and_is_counted(migrated):
    sla = load_sla()
    with transaction(migrated) as session:
        ticket = _ticket(session, "assist", bj(2026, 11, 23, 9, 0), n=2)
        before = ticket.reply_due_at
        extend(session, ticket, 3, actor="union:xa-yanta", reason="等待人社部门核实工资表", sla=sla)
        assert ticket.reply_due_at == bj(2026, 12, 7, 17, 30)  # 3 working days after 2 Dec (Thu, Fri, Mon)
        assert ticket.extensions == 1 and ticket.reply_due_at > before
        assert ticket.events[-1].note == "延期 3 个工作日，办结期限改为 2026-12-07 17:30:00：等待人社部门核实工资表"
        with pytest.raises(TransitionError, match="理由"):
            extend(session, ticket, 2, actor="x", reason=" ", sla=sla)


def test_the_closed_loop_refuses_skipping_and_says_what_is_allowed(migrated):
    with transaction(migrated) as session:
        ticket = _ticket(session, "assist", bj(2026, 11, 23, 9, 0), n=3)
        with pytest.raises(TransitionError, match="只能转到转办、督办、回复，不能转到“归档”"):
            transition(session, ticket, "archived", actor="someone")
        for state in ("dispatched", "replied", "callback", "archived"):
            transition(session, ticket, state, actor="staff", recovered_amount=230000 if state == "archived" else None)
        assert ticket.closed_at is not None and ticket.recovered_amount == 230000
        with pytest.raises(TransitionError, match="已归档：不能再流转"):
            transition(session, ticket, "supervised", actor="staff")
