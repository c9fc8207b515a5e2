"""Call records: one row per CallSid, and the events of each call."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from recordings.call_events import CallEventKind, choosing_after, place_after
from recordings.tables import Call, CallEvent


def find_call(session: Session, call_sid: str) -> Call | None:
    """The call with this CallSid, if known."""
    return session.scalar(select(Call).where(Call.call_sid == call_sid))


def record_call(session: Session, call_sid: str, from_number: str, to_number: str) -> tuple[Call, bool]:
    """The call's row, created on first sight; True when it is new (Twilio retries webhooks)."""
    call = find_call(session, call_sid)
    if call is not None:
        return call, False
    call = Call(call_sid=call_sid, from_number=from_number, to_number=to_number)
    try:
        with session.begin_nested():
            session.add(call)
            session.flush()
    except IntegrityError:  # a concurrent retry created it
        created = find_call(session, call_sid)
        if created is None:  # not that: another constraint failed, which must not pass as "no call"
            raise
        return created, False
    return call, True


def add_call_event(session: Session, call: Call, kind: CallEventKind, **detail: object) -> None:
    """Note a step of the call (menu entered, key pressed, recording saved...), of a declared kind.

    The one writer of where the call stands (`Call.place`, `Call.choosing_at`): read there, never re-derived
    from the event log."""
    session.add(CallEvent(call_id=call.id, kind=kind, detail=detail))
    call.place = place_after(kind, detail, call.place or "")
    call.choosing_at = choosing_after(kind, detail, call.choosing_at)
