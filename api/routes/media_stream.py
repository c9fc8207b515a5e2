"""The Media Streams WebSocket `/twilio/media`: the caller's audio, recognised live while they speak.

A menu's stream is recognised with the menu's grammar and in free speech; a choice redirects the live call
(Twilio REST `calls(sid).update`) to the menu's `spoken` or `confirm` step. The problem description's stream is
recognised in free speech, so its text is ready when the caller presses #; the flow's emergency phrase heard there
(or at a menu, or at the district question) takes the call to the supervisor. Partial and final results are call
events. Kaldi runs in a worker pool (speech.live), database writes and REST calls in threads: the event loop
only moves messages.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from fastapi import APIRouter, FastAPI, WebSocket
from sqlalchemy import select, update
from starlette.websockets import WebSocketDisconnect, WebSocketState

from api.twilio_auth import is_from_twilio, public_base, signed_url
from hotline import twilio_paths as paths
from hotline.db import transaction
from ivr import call as ivr_call
from ivr.flow import EMERGENCY
from ivr.route_calls import DISTRICT_STEP, district_url
from ivr.twiml import CALLER_VOICE, step_url, urgent_url
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event, find_call
from recordings.tables import Recording, Transcript
from routing.tickets import ticket_for_call
from speech.grammar import MenuChoice, MenuGrammar, build_grammar, report_missing
from speech.live import StreamSession
from speech.media_messages import (
    Connected,
    Dtmf,
    Mark,
    Media,
    MediaMessageError,
    Start,
    Stop,
    parse_message,
)
from speech.model import ModelMissing
from speech.streaming import ListenOutcome, LiveListener, LiveTranscripts, SpeechResult
from speech.text import clean_transcript
from speech.vocabulary import model_vocabulary

log = logging.getLogger(__name__)

PARTIAL_EVENT_EVERY_S = 1.0  # audio seconds between two partial-result call events of one stream
POLICY_VIOLATION = 1008


class LiveSpeech:
    """This process's live speech: the recognition pool, the menus' grammars, the REST client, what was heard."""

    def __init__(self, services, workers: int | None = None) -> None:
        self.services = services
        self.pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 2, thread_name_prefix="asr")
        self.transcripts = LiveTranscripts()
        self.problems: list[str] = []
        self._grammars: dict[str, MenuGrammar] | None = None
        self._lock = threading.Lock()

    def listening(self) -> bool:
        """True when calls should fork their audio to us (a speech model is there)."""
        return self.services.model.available()

    def prepare(self) -> list[str]:
        """Load the model and build every menu's grammar; returns (and logs) the phrase words not in the vocabulary."""
        with self._lock:
            if self._grammars is not None:
                return self.problems
            model = self.services.model
            model.get()
            vocabulary = model_vocabulary(model.path)
            if vocabulary is None:
                log.warning("the vocabulary of %s cannot be read: menu phrases are used unchecked", model.name)
            grammars, problems = {}, []
            flow = self.services.flow
            for step in flow.steps.values():
                spoken = flow.spoken_options(step)  # the emergency phrases are heard at every menu
                if step.kind == "menu" and spoken:
                    grammars[step.name] = build_grammar(step.name, spoken, vocabulary)
                    problems += report_missing(grammars[step.name], model.name)
            # The district question after routing: a caller may say the district instead of pressing its key.
            districts = dict(self.services.routing.directory.district_phrases())
            if flow.emergency is not None and flow.emergency.phrases:
                districts[EMERGENCY] = list(flow.emergency.phrases)
            grammars[DISTRICT_STEP] = build_grammar(DISTRICT_STEP, districts, vocabulary)
            problems += report_missing(grammars[DISTRICT_STEP], model.name)
            self._grammars, self.problems = grammars, problems
            log.info(
                "live speech ready: model %s, %d menu grammar(s), %d missing word(s)",
                model.name,
                len(grammars),
                len(problems),
            )
            return problems

    def grammar(self, step: str) -> MenuGrammar | None:
        self.prepare()
        return (self._grammars or {}).get(step)

    def rest(self):
        return self.services.twilio_rest

    def close(self) -> None:
        self.pool.shutdown(wait=False, cancel_futures=True)


@asynccontextmanager
async def _lifespan(app: FastAPI) -> AsyncIterator[None]:
    live = LiveSpeech(app.state.services)
    app.state.live_speech = live

    def warm_up() -> None:  # the first caller's menu must not wait for the model to load
        try:
            live.prepare()
        except ModelMissing:
            log.info("no speech model yet: calls are not listened to live")
        except Exception:
            log.exception("preparing live speech failed")

    if live.listening():
        threading.Thread(target=warm_up, name="live-speech-warm-up", daemon=True).start()
    try:
        yield
    finally:
        live.close()


router = APIRouter(tags=["twilio"], lifespan=_lifespan)


def _ws_url(url: str) -> str:
    for plain, ws in (("https://", "wss://"), ("http://", "ws://")):
        if url.startswith(plain):
            return ws + url[len(plain) :]
    return url


def _http_url(url: str) -> str:
    for ws, plain in (("wss://", "https://"), ("ws://", "http://")):
        if url.startswith(ws):
            return plain + url[len(ws) :]
    return url


@dataclass
class _Stream:
    """One running stream: which call and step it serves, its recognition, its ordered writer of events."""

    start: Start
    step: str
    mode: str
    base_url: str
    listener: LiveListener
    live: LiveSpeech
    session: StreamSession | None = None
    events: asyncio.Queue = field(default_factory=asyncio.Queue)
    writer: asyncio.Task | None = None
    last_partial_at: float = -PARTIAL_EVENT_EVERY_S
    started_at: float = field(default_factory=time.monotonic)
    emergency_heard: bool = False  # the emergency phrase was heard in this stream's free speech (acted on once)

    @property
    def call_sid(self) -> str:
        return self.start.call_sid

    def note(self, kind: CallEventKind, **detail: object) -> None:
        """Queue a call event (written in order, off the event loop)."""
        self.events.put_nowait(("event", kind, {"stream": self.start.stream_sid, "step": self.step, **detail}))

    def on_outcome(self, outcome: ListenOutcome) -> None:
        for result in outcome.results:
            self._result(result)
        if outcome.choice is not None:
            self.events.put_nowait(("choice", outcome.choice, None))

    def _result(self, result: SpeechResult) -> None:
        detail = result.to_detail()
        if result.kind == "partial":
            if result.source == "grammar" or result.audio_s - self.last_partial_at < PARTIAL_EVENT_EVERY_S:
                return
            self.last_partial_at = result.audio_s
            self.note(CallEventKind.SPEECH_PARTIAL, **detail)
            return
        if self.mode == "transcribe":
            cleaned = clean_transcript(result.text)
            detail.update(readable=cleaned["text"], amounts=cleaned["amounts"], headcounts=cleaned["headcounts"])
        self.note(CallEventKind.SPEECH_FINAL, **detail, words=len(result.words))
        if self.mode == "transcribe":
            self._emergency_in(result.text)

    def _emergency_in(self, text: str) -> None:
        """While the caller describes the problem, the emergency phrase in what they say takes them to the
        supervisor (as saying it at a menu does)."""
        emergency = self.live.services.flow.emergency
        said = emergency.said_in(text) if emergency is not None and not self.emergency_heard else None
        if said is None:
            return
        self.emergency_heard = True
        self.events.put_nowait(
            ("choice", MenuChoice(EMERGENCY, said, 1.0, True, free_text=text, evidence={"free_text": True}), None)
        )


def _write_event(live: LiveSpeech, call_sid: str, kind: CallEventKind, detail: dict) -> None:
    with transaction(live.services.factory) as session:
        call = find_call(session, call_sid)
        if call is not None:
            add_call_event(session, call, kind, **detail)


def _choice_target(stream: _Stream, choice: MenuChoice) -> tuple[str, str | None]:
    """What a choice heard on this stream does, and the URL the call moves to (None: it stays where it is).

    At a menu: its `spoken` (sure) or `confirm` (unsure) step. At the district question after routing: a district
    said aloud counts as its key; an unsure one waits for the key.
    """
    if stream.step == DISTRICT_STEP:
        if not choice.confident:
            return "none: not sure, the caller may press the key", None
        if choice.choice == EMERGENCY:
            return "emergency", stream.base_url + urgent_url(CALLER_VOICE, DISTRICT_STEP)
        return "district", stream.base_url + district_url(attempt=1, said=choice.choice)
    action = "spoken" if choice.confident else "confirm"
    query = {"choice": choice.choice}
    if choice.confident:
        query["confidence"] = f"{choice.confidence:.2f}"
    return action, stream.base_url + step_url(stream.step, action, **query)


def _redirect(live: LiveSpeech, stream: _Stream, choice: MenuChoice) -> None:
    """Move the live call where the choice leads, if it is still where the choice was heard."""
    action, url = _choice_target(stream, choice)
    detail = {
        "stream": stream.start.stream_sid,
        "step": stream.step,
        "choice": choice.choice,
        "phrase": choice.phrase,
        "confidence": choice.confidence,
        "confident": choice.confident,
        "heard": choice.grammar_text,
        "free_text": choice.free_text,
        "evidence": choice.evidence,
    }
    with live.services.factory() as session:
        still_there = ivr_call.at_step(session, stream.call_sid, stream.step)
    if not still_there:
        _write_event(
            live, stream.call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": "none: the call moved on"}
        )
        return
    if url is None:
        _write_event(live, stream.call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action})
        return
    try:
        live.rest().calls(stream.call_sid).update(url=url, method="POST")
    except Exception as exc:  # noqa: BLE001  the REST call failing leaves the caller at the menu: keys still work
        log.warning("redirecting call %s to %s failed: %s", stream.call_sid, url, exc)
        _write_event(
            live, stream.call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action, "error": str(exc)}
        )
        return
    _write_event(live, stream.call_sid, CallEventKind.SPEECH_CHOICE, {**detail, "action": action})


def _final_transcript(live: LiveSpeech, stream: _Stream, text: str, words: list[dict]) -> None:
    """The problem stream ended: its final text replaces the live snapshot the ticket got, unless the batch
    transcript of the recording is already there; with no snapshot taken yet, it becomes the ticket's text."""
    if not text:
        return
    model = f"live:{live.services.model.name}"
    with transaction(live.services.factory) as session:
        call = find_call(session, stream.call_sid)
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
        models = session.scalars(select(Transcript.model).where(Transcript.recording_id == recording.id)).all()
        if not models:
            session.add(Transcript(recording_id=recording.id, channel=None, text=text, words=words, model=model))
            ticket = ticket_for_call(session, call.id)
            if ticket is not None:
                ticket.summary = text  # the route step classifies and routes it
        elif all(m.startswith("live:") for m in models):
            session.execute(
                update(Transcript)
                .where(Transcript.recording_id == recording.id, Transcript.model.like("live:%"))
                .values(text=text, words=words)
            )


async def _write_events(live: LiveSpeech, stream: _Stream) -> None:
    """Write a stream's events and carry out its choices in order, each off the event loop."""
    while True:
        item = await stream.events.get()
        if item is None:
            return
        kind, what, detail = item
        try:
            if kind == "event":
                await asyncio.to_thread(_write_event, live, stream.call_sid, what, detail)
            elif kind == "choice":
                await asyncio.to_thread(_redirect, live, stream, what)
            elif kind == "transcript":
                await asyncio.to_thread(_final_transcript, live, stream, *what)
        except Exception:
            log.exception("call %s: writing a live speech event failed", stream.call_sid)


def _known_call(live: LiveSpeech, start: Start) -> bool:
    with live.services.factory() as session:
        return find_call(session, start.call_sid) is not None


async def _open(websocket: WebSocket, live: LiveSpeech, start: Start) -> _Stream | None:
    """A `start` message: accept it for a call we answered, on our account; None (logged) otherwise."""
    services = live.services
    if start.account_sid != services.credentials.account_sid:
        log.warning("media stream %s refused: account %s is not ours", start.stream_sid, start.account_sid)
        return None
    if not await asyncio.to_thread(_known_call, live, start):
        log.warning("media stream %s refused: call %s is unknown", start.stream_sid, start.call_sid)
        return None
    params = start.custom_parameters
    step = params.get("step", "")
    mode = params.get("mode", "transcribe")
    if mode not in ("menu", "transcribe") or (step not in services.flow.steps and step != DISTRICT_STEP):
        log.warning("media stream %s refused: step %r / mode %r are not ours", start.stream_sid, step, mode)
        return None
    try:
        model = await asyncio.to_thread(services.model.get)
        grammar = await asyncio.to_thread(live.grammar, step) if mode == "menu" else None
        listener = await asyncio.get_running_loop().run_in_executor(live.pool, LiveListener, model, grammar)
    except ModelMissing:
        log.warning("media stream %s of call %s not recognised: no speech model", start.stream_sid, start.call_sid)
        return None
    base = _http_url(public_base(websocket, services.settings.public_url))
    stream = _Stream(start, step, mode, base, listener, live)
    stream.session = StreamSession(listener, live.pool, stream.on_outcome, name=f"{start.call_sid}/{step}")
    stream.session.start()
    stream.writer = asyncio.get_running_loop().create_task(_write_events(live, stream))
    live.transcripts.add(start.call_sid, step, listener)
    stream.note(CallEventKind.STREAM_STARTED, mode=mode, tracks=list(start.tracks), grammar=grammar is not None)
    return stream


async def _close(live: LiveSpeech, stream: _Stream, how: str) -> None:
    """Finalise a stream: last results, its statistics, its transcript; every event written before returning."""
    session = stream.session
    assert session is not None
    await session.close()
    listener = stream.listener
    text, words = listener.transcript(), listener.words()
    live.transcripts.finished(stream.call_sid, stream.step, text, words)
    audio_s = session.audio_s
    stats = {
        "how": how,
        "frames": session.frames,
        "audio_s": round(audio_s, 2),
        "cpu_s": round(listener.cpu_s, 3),
        "rtf": round(listener.cpu_s / audio_s, 3) if audio_s else None,
        "kept_up": session.lag.kept_up(),
        **session.lag.summary(),
    }
    if not stats["kept_up"]:
        log.warning("call %s/%s: decoding fell behind real time (%s)", stream.call_sid, stream.step, stats)
    if stream.mode == "transcribe":
        cleaned = clean_transcript(text)
        stream.note(
            CallEventKind.LIVE_TRANSCRIPT,
            text=text,
            readable=cleaned["text"],
            amounts=cleaned["amounts"],
            headcounts=cleaned["headcounts"],
            model=live.services.model.name,
        )
        stream.events.put_nowait(("transcript", (text, words), None))
    stream.note(CallEventKind.STREAM_STOPPED, **stats)
    stream.events.put_nowait(None)
    if stream.writer is not None:
        await stream.writer


@router.websocket(paths.MEDIA_STREAM)
async def media_stream(websocket: WebSocket) -> None:
    """Twilio's Media Streams: signature checked at the handshake, every message parsed strictly."""
    services = websocket.app.state.services
    live: LiveSpeech = websocket.app.state.live_speech
    url = _ws_url(signed_url(websocket, services.settings.public_url))
    if not is_from_twilio(services.validator, url, {}, websocket.headers.get("x-twilio-signature")):
        log.warning("media stream refused: missing or invalid X-Twilio-Signature for %s", url)
        await websocket.close(code=POLICY_VIOLATION)
        return
    await websocket.accept()
    stream: _Stream | None = None
    how = "dropped"
    try:
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                break
            text = message.get("text")
            try:
                if text is None:
                    raise MediaMessageError("not_json", "a binary frame")
                msg = parse_message(text)
            except MediaMessageError as exc:
                log.warning("media stream %s: message refused (%s); closing", stream and stream.start.stream_sid, exc)
                how = f"refused: {exc.code}"
                await websocket.close(code=POLICY_VIOLATION)
                break
            if isinstance(msg, Connected):
                continue
            if isinstance(msg, Start):
                if stream is not None:
                    how = "refused: a second start"
                    await websocket.close(code=POLICY_VIOLATION)
                    break
                stream = await _open(websocket, live, msg)
                if stream is None:
                    await websocket.close(code=POLICY_VIOLATION)
                    return
                continue
            if stream is None or msg.stream_sid != stream.start.stream_sid:
                log.warning(
                    "media stream: %s for stream %s before its start; closing", type(msg).__name__, msg.stream_sid
                )
                how = "refused: not started"
                await websocket.close(code=POLICY_VIOLATION)
                break
            listening = stream.session
            assert listening is not None  # _open gives every stream its session before returning it
            if isinstance(msg, Media):
                if msg.track == "inbound":
                    listening.push(msg.payload, time.monotonic())
            elif isinstance(msg, Dtmf):
                stream.note(CallEventKind.STREAM_DTMF, digit=msg.digit, audio_s=round(listening.audio_s, 3))
            elif isinstance(msg, Mark):
                stream.note(CallEventKind.STREAM_MARK, name=msg.name)
            elif isinstance(msg, Stop):
                how = "stopped"
                break
    except Exception:
        log.exception("media stream %s failed", stream and stream.start.stream_sid)
        how = "failed"
    finally:
        if stream is not None:
            await _close(live, stream, how)
        connected = WebSocketState.CONNECTED
        if websocket.client_state == connected and websocket.application_state == connected:
            try:
                await websocket.close()
            except (RuntimeError, WebSocketDisconnect):  # the peer went away meanwhile
                pass
