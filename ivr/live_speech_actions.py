"""What live speech does to a call: its call events, the redirect a spoken choice makes, the final transcript.

Each function here blocks (database, Twilio REST): a stream runs them in order in a thread, off the event loop.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker
from twilio.rest import Client

from hotline.db import transaction
from ivr import call as ivr_call
from ivr.flow import EMERGENCY, Flow
from ivr.route_calls import DISTRICT_STEP, district_answer
from ivr.steps import CALLER_VOICE
from ivr.twiml import next_url, step_url, urgent_url
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event, find_call
from recordings.live_transcripts import keep_live_transcript, replace_live_transcript
from recordings.tables import Recording
from routing.tickets import WordsFrom, ticket_for_call, write_caller_words
from speech.grammar import MenuChoice
from speech.model import SharedModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LiveDesk:
    """What live speech acts with: the database, the account's REST client, the call flow, the speech model."""

    factory: sessionmaker[Session]
    rest: Client  # Twilio's, or the emulator's
    flow: Flow
    model: SharedModel


def write_event(desk: LiveDesk, call_sid: str, kind: CallEventKind, detail: dict[str, Any]) -> None:
    """A call event of the call's stream (none when the call is unknown)."""
    with transaction(desk.factory) as session:
        call = find_call(session, call_sid)
        if call is not None:
            add_call_event(session, call, kind, **detail)


def choice_target(step: str, base_url: str, choice: MenuChoice) -> tuple[str, str | None]:
    """What a choice heard at `step` does, and the URL the call moves to (None: it stays where it is).

    At a menu: its `spoken` (sure) or `confirm` (unsure) step. At the district question after routing: a district
    said aloud counts as its key; an unsure one waits for the key.
    """
    if step == DISTRICT_STEP:
        if not choice.confident:
            return "none: not sure, the caller may press the key", None
        if choice.choice == EMERGENCY:
            return "emergency", base_url + urgent_url(CALLER_VOICE, DISTRICT_STEP)
        return "district", base_url + next_url(district_answer(attempt=1, said=choice.choice))
    action = "spoken" if choice.confident else "confirm"
    query = {"choice": choice.choice}
    if choice.confident:
        query["confidence"] = f"{choice.confidence:.2f}"
    return action, base_url + step_url(step, action, **query)


def redirect(desk: LiveDesk, call_sid: str, stream_sid: str, step: str, base_url: str, choice: MenuChoice) -> None:
    """Move the live call where the choice leads, if it is still where the choice was heard; a call event says
    what was done."""
    action, url = choice_target(step, base_url, choice)
    detail: dict[str, Any] = {
        "stream": stream_sid,
        "step": step,
        "choice": choice.choice,
        "phrase": choice.phrase,
        "confidence": choice.confidence,
        "confident": choice.confident,
        "heard": choice.grammar_text,
        "free_text": choice.free_text,
        "evidence": choice.evidence,
    }
    with desk.factory() as session:
        still_there = ivr_call.at_step(session, call_sid, step)
    if not still_there:
        write_event(desk, call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": "none: the call moved on"})
        return
    if url is None:
        write_event(desk, call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action})
        return
    try:
        desk.rest.calls(call_sid).update(url=url, method="POST")
    except Exception as exc:  # noqa: BLE001  the REST call failing leaves the caller at the menu: keys still work
        log.warning("redirecting call %s to %s failed: %s", call_sid, url, exc)
        write_event(desk, call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action, "error": str(exc)})
        return
    write_event(desk, call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action})


def final_transcript(desk: LiveDesk, call_sid: str, text: str, words: list[dict[str, Any]]) -> None:
    """The problem stream ended: its final text replaces the live snapshot the recording got, unless the batch
    transcript of the recording is already there; with no snapshot taken yet, it becomes the ticket's text."""
    if not text:
        return
    with transaction(desk.factory) as session:
        call = find_call(session, call_sid)
        if call is None:
            return
        recording = session.scalar(
            select(Recording)
            .where(Recording.call_id == call.id, Recording.source == "problem")
            .order_by(Recording.id.desc())
            .limit(1)
        )
        if recording is None:
            return  # no recording yet: the `recorded` webhook takes the snapshot when it comes
        if keep_live_transcript(session, recording, text, words, desk.model.name):
            ticket = ticket_for_call(session, call.id)
            if ticket is not None:
                write_caller_words(ticket, text, WordsFrom.LIVE)  # the route step classifies and routes it
        else:
            replace_live_transcript(session, recording, text, words)
