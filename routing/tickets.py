"""Opening tickets: one per call, numbered per day, every change written down as an event."""

from __future__ import annotations

from datetime import UTC, date, datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hotline.db import rows_changed, utcnow
from routing.classify import classify
from routing.person_reasons import PersonReason, reason_text
from routing.tables import Ticket, TicketCounter, TicketEvent

TICKET_PREFIX = "12351"


def ticket_number(day: date, serial: int) -> str:
    """`12351-20261124-0001`: the hotline, the local day, the day's serial."""
    return f"{TICKET_PREFIX}-{day:%Y%m%d}-{serial:04d}"


def next_serial(session: Session, day: date) -> int:
    """The next serial for `day`, safe against concurrent callers (a counter row, updated in place).

    On PostgreSQL the number is taken in a short transaction of its own, so the counter row is not locked
    while the rest of the webhook runs (a number may then go unused if that webhook fails: gaps are fine).
    SQLite serialises writers anyway, so there it is part of the caller's transaction.
    """
    if session.get_bind().dialect.name == "postgresql":
        with Session(session.get_bind()) as own, own.begin():
            return _bump(own, day)
    return _bump(session, day)


def _bump(session: Session, day: date) -> int:
    for _ in range(3):
        bumped = rows_changed(
            session, update(TicketCounter).where(TicketCounter.day == day).values(last=TicketCounter.last + 1)
        )
        if bumped == 1:
            return session.execute(select(TicketCounter.last).where(TicketCounter.day == day)).scalar_one()
        try:
            with session.begin_nested():
                session.add(TicketCounter(day=day, last=1))
            return 1
        except IntegrityError:  # another call opened the day first: bump theirs
            continue
    raise RuntimeError(f"could not allocate a ticket number for {day}")


def local_day(moment: datetime, timezone: str) -> date:
    """The hotline's calendar day at `moment`."""
    return moment.astimezone(ZoneInfo(timezone)).date()


def local_time(moment: datetime | str, timezone: str) -> str:
    """A moment as people at the hotline read it: local time to the second, e.g. "2026-11-25 18:30:05".

    For whatever a person reads (CLI output, reports, notes); JSON keeps the UTC ISO time with its offset.
    A naive moment is taken as UTC (as the database stores it); an ISO string is parsed first.
    """
    if isinstance(moment, str):
        moment = datetime.fromisoformat(moment)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S")


# The voice menu's choices (a call's `menu_choice`, routing/data/taxonomy.yaml `menu`) as a ticket's note says them.
MENU_LABELS = {
    "legal": "法律咨询",
    "help": "维权求助",
    "policy": "政策咨询",
    "operator": "转人工",
    "emergency": "紧急求助",
}


class WordsFrom(StrEnum):
    """Where a ticket's text (what the caller reported, `Ticket.summary`) came from."""

    LIVE = "live"  # the live stream heard the caller while they spoke
    RECORDING = "recording"  # the batch transcript of the caller's recording
    PERSON = "person"  # written by a member of staff (a lawyer's ticket, an operator's completion)


def write_caller_words(ticket: Ticket, words: str, source: WordsFrom) -> bool:
    """The one writer of a ticket's text. A person's words stand: a transcript that arrives after a member of
    staff wrote what the caller said does not replace them; nor does an empty transcript replace words heard
    live. True when the words were written."""
    if ticket.words_from == WordsFrom.PERSON and source != WordsFrom.PERSON:
        return False
    if not words and ticket.summary:
        return False
    ticket.summary, ticket.words_from = words, source
    return True


def add_event(session: Session, ticket: Ticket, kind: str, note: str = "", actor: str = "system") -> None:
    """Write down something that happened to a ticket."""
    session.add(TicketEvent(ticket_id=ticket.id, kind=kind, note=note, actor=actor))


def ticket_for_call(session: Session, call_id: int) -> Ticket | None:
    """The call's ticket, if one was opened."""
    return session.scalar(select(Ticket).where(Ticket.call_id == call_id))


def open_ticket_for_call(
    session: Session,
    *,
    call_id: int,
    caller_number: str,
    menu_choice: str | None,
    timezone: str,
    needs_person: PersonReason | None = None,
) -> Ticket:
    """The call's ticket, opened now if it has none (retried webhooks find the same one); `needs_person` marks a
    new one for a person at once."""
    existing = ticket_for_call(session, call_id)
    if existing is not None:
        return existing
    result = classify(menu_choice, "")
    now = utcnow()
    day = local_day(now, timezone)
    ticket = Ticket(
        number=ticket_number(day, next_serial(session, day)),
        call_id=call_id,
        caller_number=caller_number,
        menu_choice=menu_choice,
        subject=result.subject,
        handling_class=result.handling_class,
        route=result.route,
        created_at=now,
    )
    try:
        with session.begin_nested():
            session.add(ticket)
            session.flush()
    except IntegrityError:  # the same call's retried webhook opened it a moment ago
        opened = ticket_for_call(session, call_id)
        if opened is None:  # not that: another constraint failed, which must not pass as "no ticket"
            raise
        return opened
    add_event(session, ticket, "accepted", f"来电受理；菜单选择：{MENU_LABELS.get(menu_choice or '', '没有选择')}")
    if needs_person is not None:
        flag_for_person(session, ticket, needs_person)
    return ticket


def flag_for_person(
    session: Session, ticket: Ticket, reason: PersonReason, *, recording_sid: str | None = None
) -> None:
    """Mark a ticket for a person to look at, keeping every earlier reason: the code for code, the sentence for
    people (the one writer of both)."""
    text = reason_text(reason, recording_sid)
    ticket.needs_human = True
    ticket.needs_human_codes = [*(ticket.needs_human_codes or []), reason.value]
    ticket.needs_human_reason = text if not ticket.needs_human_reason else f"{ticket.needs_human_reason}；{text}"
    add_event(session, ticket, "needs_human", text)
