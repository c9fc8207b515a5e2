"""A known week of calls, tickets and surveys (Beijing time), for the report and dashboard tests.

The expected figures in the tests are counted by hand from the comments here.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from recordings.tables import Call
from routing.tables import (
    LawyerPresence,
    QueueEntry,
    SatisfactionSurvey,
    Ticket,
    TicketEvent,
)

BJ = ZoneInfo("Asia/Shanghai")


def bj(*args: int) -> datetime:
    return datetime(*args, tzinfo=BJ)


def _call(
    session: Session, sid: str, at: datetime, menu: str | None, status: str = "completed", queue: str | None = None
) -> Call:
    call = Call(
        call_sid=sid, from_number="+8613800000000", to_number="+8612351", status=status, menu_choice=menu, started_at=at
    )
    session.add(call)
    if queue is not None:
        session.add(QueueEntry(call_sid=sid, entered_at=at, left_at=at, outcome=queue))
    return call


def _ticket(
    session: Session,
    n: int,
    created: datetime,
    *,
    status: str,
    kind: str,
    subject: str,
    cls: str,
    route: str,
    due: datetime | None = None,
    replied: datetime | None = None,
    district: str | None = None,
    employer: str | None = None,
    caller: str = "+8613800000000",
    closed: datetime | None = None,
    recovered: float | None = None,
) -> Ticket:
    ticket = Ticket(
        number=f"12351-{created:%Y%m%d}-{n:04d}",
        caller_number=caller,
        status=status,
        kind=kind,
        subject=subject,
        handling_class=cls,
        route=route,
        created_at=created,
        reply_due_at=due,
        district=district,
        entities={"employer": employer} if employer else {},
        closed_at=closed,
        recovered_amount=recovered,
    )
    session.add(ticket)
    session.flush()
    session.add(TicketEvent(ticket_id=ticket.id, kind="accepted", at=created))
    if replied is not None:
        session.add(TicketEvent(ticket_id=ticket.id, kind="replied", at=replied))
    return ticket


def load_week(session: Session) -> dict[str, Ticket]:
    """Calls of Tue 24 Nov 2026 (and around it), the tickets accepted that day, and the surveys answered."""
    # Calls on Tuesday 24 November: 7 calls, 4 answered (c1, c4, c6, c7).
    _call(session, "c1", bj(2026, 11, 24, 10, 0), "legal", queue="bridged")  # answered: a lawyer took it
    _call(session, "c2", bj(2026, 11, 24, 10, 5), "legal", queue="hangup")  # hung up waiting: not answered
    _call(session, "c3", bj(2026, 11, 24, 10, 10), None)  # hung up in the greeting
    _call(session, "c4", bj(2026, 11, 24, 9, 0), "help")  # answered
    _call(session, "c5", bj(2026, 11, 24, 11, 0), None, status="canceled")  # never connected
    _call(session, "c6", bj(2026, 11, 24, 12, 0), "operator", status="in-progress")  # answered
    _call(session, "c7", bj(2026, 11, 24, 23, 59, 59), "help")  # the day's last second: answered
    # The rest of the week (Mon 23 - Sun 29): 2 more, both answered; Sunday 22 is the week before.
    _call(session, "c8", bj(2026, 11, 25, 0, 0), "help")
    _call(session, "c9", bj(2026, 11, 23, 0, 30), "policy")
    _call(session, "c10", bj(2026, 11, 22, 23, 59), "help")

    t = {}
    # Accepted before the week: t0 archived on the 24th with 5000 recovered; t8 overdue under supervision.
    t["t0"] = _ticket(
        session,
        1,
        bj(2026, 11, 10, 9, 0),
        status="archived",
        kind="help",
        subject="wage_arrears",
        cls="assist",
        route="local_union",
        due=bj(2026, 11, 19, 17, 30),
        replied=bj(2026, 11, 12, 9, 0),
        closed=bj(2026, 11, 24, 14, 0),
        recovered=5000.0,
        district="雁塔区",
    )
    t["t8"] = _ticket(
        session,
        2,
        bj(2026, 11, 20, 9, 0),
        status="supervised",
        kind="help",
        subject="severance",
        cls="assist",
        route="local_union",
        due=bj(2026, 11, 23, 17, 30),
        district="碑林区",
    )
    # Accepted on Tuesday 24 November: 7 tickets.
    t["t1"] = _ticket(
        session,
        1,
        bj(2026, 11, 24, 10, 0),
        status="replied",
        kind="consult",
        subject="wage_arrears",
        cls="consult",
        route="lawyer_queue",
        due=bj(2026, 11, 25, 17, 30),
        replied=bj(2026, 11, 24, 15, 30),
    )  # 5.5 working hours = 0.611 days, on time
    t["t2"] = _ticket(
        session,
        2,
        bj(2026, 11, 24, 10, 5),
        status="accepted",
        kind="consult",
        subject="labor_contract",
        cls="consult",
        route="lawyer_callback",
        due=bj(2026, 11, 25, 17, 30),
    )  # still open after its deadline: late
    t["t3"] = _ticket(
        session,
        3,
        bj(2026, 11, 24, 9, 0),
        status="archived",
        kind="help",
        subject="wage_arrears",
        cls="assist",
        route="local_union",
        due=bj(2026, 12, 3, 17, 30),
        replied=bj(2026, 11, 26, 12, 0),  # 8.5 h + 9 h + 3.5 h = 21 h = 2.333 days, on time
        closed=bj(2026, 11, 26, 16, 0),
        recovered=12000.0,
        district="雁塔区",
        employer="鑫达建筑公司",
        caller="+8613900000001",
    )
    t["t4"] = _ticket(
        session,
        4,
        bj(2026, 11, 24, 11, 0),
        status="replied",
        kind="consult",
        subject="social_insurance",
        cls="consult",
        route="knowledge_base",
        due=bj(2026, 11, 25, 17, 30),
        replied=bj(2026, 11, 24, 11, 0),
    )  # then asked for a person
    session.add(TicketEvent(ticket_id=t["t4"].id, kind="asked_for_person", at=bj(2026, 11, 24, 11, 1)))
    t["t5"] = _ticket(
        session,
        5,
        bj(2026, 11, 24, 11, 30),
        status="replied",
        kind="consult",
        subject="social_insurance",
        cls="consult",
        route="knowledge_base",
        due=bj(2026, 11, 25, 17, 30),
        replied=bj(2026, 11, 24, 11, 30),
    )  # resolved in the call
    t["t6"] = _ticket(
        session,
        6,
        bj(2026, 11, 24, 13, 0),
        status="dispatched",
        kind="help",
        subject="safety",
        cls="urgent",
        route="supervisor",
        due=bj(2026, 11, 24, 21, 0),
        district="碑林区",
        employer="某机械厂",
    )
    t["t7"] = _ticket(
        session,
        7,
        bj(2026, 11, 24, 16, 0),
        status="replied",
        kind="help",
        subject="wage_arrears",
        cls="assist",
        route="local_union",
        due=bj(2026, 11, 24, 17, 0),
        replied=bj(2026, 11, 25, 9, 30),  # 1.5 h + 1 h = 0.278 days, after its deadline
        district="雁塔区",
        employer="鑫达建筑公司",
        caller="+8613900000002",
    )
    # The lawyer queue: t1's caller was bridged, t2's hung up; one caller waits now (since 13:50 on the 24th).
    session.flush()
    session.query(QueueEntry).filter(QueueEntry.call_sid == "c1").update({"ticket_id": t["t1"].id})
    session.query(QueueEntry).filter(QueueEntry.call_sid == "c2").update({"ticket_id": t["t2"].id})
    session.add(QueueEntry(call_sid="c-waiting", entered_at=bj(2026, 11, 24, 13, 50)))
    # Lawyers (Tuesday: L03, L04 on duty): L03 signed in and on a call, L04 away; L01 signed in but off duty.
    session.add_all(
        [
            LawyerPresence(lawyer_id="L03", signed_in=True, on_call_sid="c-other"),
            LawyerPresence(lawyer_id="L04", signed_in=False),
            LawyerPresence(lawyer_id="L01", signed_in=True),
        ]
    )
    # Surveys answered on the 24th: satisfied, basic, dissatisfied (one unreachable); on the 26th: satisfied.
    for round_, (status, result, at) in enumerate(
        [
            ("answered", "satisfied", bj(2026, 11, 24, 10, 0)),
            ("answered", "basic", bj(2026, 11, 24, 11, 0)),
            ("answered", "dissatisfied", bj(2026, 11, 24, 19, 0)),
            ("unreachable", None, bj(2026, 11, 24, 20, 0)),
            ("answered", "satisfied", bj(2026, 11, 26, 9, 0)),
        ],
        start=1,
    ):
        session.add(
            SatisfactionSurvey(ticket_id=t["t0"].id, round=round_, status=status, result=result, answered_at=at)
        )
    return t
