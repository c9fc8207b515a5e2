"""Calls, what happened in them, their recordings and transcripts."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hotline.db import Base, utcnow


class Call(Base):
    """One phone call, known by Twilio's CallSid."""

    __tablename__ = "calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_sid: Mapped[str] = mapped_column(String(64), unique=True)
    from_number: Mapped[str] = mapped_column(String(32), default="")
    to_number: Mapped[str] = mapped_column(String(32), default="")
    status: Mapped[str] = mapped_column(String(24), default="in-progress")
    menu_choice: Mapped[str | None] = mapped_column(String(32))
    started_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    ended_at: Mapped[datetime | None] = mapped_column()
    duration_s: Mapped[int | None] = mapped_column(Integer)
    # Who spoke with the caller (a lawyer's roster id, an operator's or supervisor's username); None: the IVR alone.
    handler: Mapped[str | None] = mapped_column(String(64), index=True)
    handler_role: Mapped[str | None] = mapped_column(String(16))  # operator, lawyer, supervisor
    # Where the caller stands now (a flow step's name or a call_events.Place) and the step whose choice is still
    # to be made (None once chosen); written only by recordings.calls.add_call_event.
    place: Mapped[str] = mapped_column(String(64), default="", server_default="")
    choosing_at: Mapped[str | None] = mapped_column(String(64))

    events: Mapped[list[CallEvent]] = relationship(back_populates="call", order_by="CallEvent.id")
    recordings: Mapped[list[Recording]] = relationship(back_populates="call", order_by="Recording.id")


class CallEvent(Base):
    """A step of a call (menu entered, key pressed, recording saved...), for QA and the consoles."""

    __tablename__ = "call_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    kind: Mapped[str] = mapped_column(String(48))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    call: Mapped[Call] = relationship(back_populates="events")


class Recording(Base):
    """An audio recording of a call: the caller's problem (`<Record>`) or the full call (dual channel)."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_sid: Mapped[str] = mapped_column(String(64), unique=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id", ondelete="CASCADE"), index=True)
    source: Mapped[str] = mapped_column(String(32))  # "problem" or "call"
    source_url: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(24), default="pending")
    path: Mapped[str | None] = mapped_column(Text)  # relative to the recordings root
    sha256: Mapped[str | None] = mapped_column(String(64))
    duration_s: Mapped[float | None] = mapped_column(Float)
    channels: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    call: Mapped[Call] = relationship(back_populates="recordings")
    transcripts: Mapped[list[Transcript]] = relationship(back_populates="recording", order_by="Transcript.id")


class Transcript(Base):
    """What Vosk heard in one channel of a recording, with word times and confidences."""

    __tablename__ = "transcripts"

    id: Mapped[int] = mapped_column(primary_key=True)
    recording_id: Mapped[int] = mapped_column(ForeignKey("recordings.id", ondelete="CASCADE"), index=True)
    channel: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str] = mapped_column(Text, default="")
    words: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # the recognizer's words
    model: Mapped[str] = mapped_column(String(128), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    recording: Mapped[Recording] = relationship(back_populates="transcripts")
