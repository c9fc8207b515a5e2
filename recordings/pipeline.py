"""What happens to a recording after the call: start it, download it, store it, transcribe it.

Each public method is a job handler (see hotline.jobs): it runs in a worker thread, never in a webhook,
and is safe to run twice. Bad audio never loses a ticket: it is flagged for a person, the error kept.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import delete, select
from sqlalchemy.orm import Session, sessionmaker

from hotline.credentials import TwilioCredentials
from hotline.db import transaction, utcnow
from hotline.jobs import BACKGROUND, URGENT, Handler, RetryLater, WaitForResource, enqueue
from recordings.call_events import CallEventKind
from recordings.calls import add_call_event
from recordings.store import StoredFile, recording_file, recording_path, store_recording
from recordings.tables import Call, Recording, Transcript
from routing.config import RoutingData
from routing.person_reasons import PersonReason
from routing.service import is_routed, route_ticket
from routing.tables import Ticket
from routing.tickets import WordsFrom, flag_for_person, ticket_for_call, write_caller_words
from speech.audio import load_channels
from speech.errors import AudioError
from speech.model import ModelMissing, SharedModel
from speech.scripted import ScriptedRecognizer
from speech.transcribe import Transcript as SpeechTranscript
from speech.transcribe import transcribe_file

log = logging.getLogger(__name__)

FETCH_RECORDING = "fetch_recording"
TRANSCRIBE_RECORDING = "transcribe_recording"

# Recording statuses, in the order a healthy recording passes through them.
PENDING, STORED, WAITING_MODEL, TRANSCRIBED, FAILED = "pending", "stored", "waiting_model", "transcribed", "failed"
# A recording's status as staff read it (the ticket page's "转写" line); the status stays the code in the JSON.
STATUS_LABELS = {
    PENDING: "等待下载录音",
    STORED: "录音已保存，等待转写",
    WAITING_MODEL: "等待语音识别模型",
    TRANSCRIBED: "已转写",
    FAILED: "转写失败",
    "none": "没有录音",
}
AUDIO_TYPES = ("audio/", "application/octet-stream")


@dataclass
class PipelineConfig:
    """How hard to try (attempts and back-off for downloads and REST calls), and where things are."""

    recordings_root: Path
    attempts: int = 5
    backoff_s: float = 1.0
    timeout_s: float = 30.0
    routing: RoutingData | None = None  # to route tickets whose caller hung up before routing
    scripted: ScriptedRecognizer | None = None  # tests only: known audio → scripted Mandarin text
    # The IVR's hook (ivr.urgent.after_words) when the words changed what is understood of a routed ticket: the
    # caller, if still on the line, is taken where the final route says (the supervisor's phone).
    after_words: Callable[[Session, Call, Ticket, str], None] | None = None


@dataclass(frozen=True)
class StoredAudio:
    """What a stored recording holds: its length and channels, or why it cannot be played."""

    duration_s: float | None
    channels: int | None
    problem: str | None


def audio_of(root: Path, stored: StoredFile) -> StoredAudio:
    """Decode a stored recording once (outside any transaction: it takes a moment) to know what it holds."""
    try:
        audio = load_channels(recording_file(root, stored.relative_path))
    except AudioError as exc:
        return StoredAudio(None, None, f"{exc.code}: {exc}")
    return StoredAudio(audio.duration_s, len(audio.channels), None)


def keep_stored(session: Session, recording: Recording, stored: StoredFile, audio: StoredAudio) -> None:
    """The recording's file is ours (from any carrier): note where, its checksum and length, and queue its
    transcription when it can be played (the caller's problem first: it is wanted while they are on the line)."""
    recording.path, recording.sha256 = stored.relative_path, stored.sha256
    recording.duration_s, recording.channels = audio.duration_s, audio.channels
    sid = recording.recording_sid
    add_call_event(
        session,
        recording.call,
        CallEventKind.RECORDING_STORED,
        recording_sid=sid,
        sha256=stored.sha256,
        bytes=stored.size,
    )
    if audio.problem is None:
        recording.status = STORED
        priority = URGENT if recording.source == "problem" else BACKGROUND
        enqueue(session, TRANSCRIBE_RECORDING, f"transcribe:{sid}", {"recording_sid": sid}, priority=priority)


class RecordingPipeline:
    """The job handlers for recordings, with everything they need passed in."""

    def __init__(
        self,
        factory: sessionmaker[Session],
        credentials: TwilioCredentials,
        model: SharedModel,
        config: PipelineConfig,
    ) -> None:
        self._factory = factory
        self._credentials = credentials
        self._model = model
        self._config = config

    def handlers(self) -> dict[str, Handler]:
        """Job kind → handler, for the JobRunner."""
        return {
            FETCH_RECORDING: self.fetch_recording,
            TRANSCRIBE_RECORDING: self.transcribe_recording,
        }

    def _backoff(self, attempt: int) -> float:
        return self._config.backoff_s * 2.0 ** (attempt - 1)

    # --- download and store --------------------------------------------------------------------

    def fetch_recording(self, payload: dict[str, Any], attempt: int) -> None:
        """Download a finished recording with the account's credentials, store it, check it decodes."""
        sid = payload["recording_sid"]
        with self._factory() as session:
            recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
            if recording is None or recording.status != PENDING:
                return  # already done (a retried callback) or unknown
            url, call = recording.source_url, recording.call
        try:
            data = self._download(url)
        except _DownloadError as exc:
            if exc.transient and attempt < self._config.attempts:
                raise RetryLater(str(exc), self._backoff(attempt)) from exc
            self._fail(sid, f"download failed after {attempt} attempt(s): {exc}")
            return
        stored = store_recording(
            self._config.recordings_root, recording_path(call.started_at, call.call_sid, sid), data
        )
        audio = audio_of(self._config.recordings_root, stored)
        with transaction(self._factory) as session:
            recording = session.execute(select(Recording).where(Recording.recording_sid == sid)).scalar_one()
            keep_stored(session, recording, stored, audio)
        if audio.problem is not None:
            self._fail(sid, f"the recording cannot be played: {audio.problem}")

    def _download(self, url: str) -> bytes:
        auth = (self._credentials.account_sid, self._credentials.auth_token)
        try:
            response = httpx.get(url + ".wav", auth=auth, timeout=self._config.timeout_s, follow_redirects=True)
        except httpx.HTTPError as exc:
            raise _DownloadError(f"{type(exc).__name__}: {exc}", transient=True) from exc
        if response.status_code != 200:
            # 404 may only mean "not ready yet"; every failure is retried before it is final.
            raise _DownloadError(f"HTTP {response.status_code} from {url}", transient=True)
        content_type = response.headers.get("content-type", "").split(";")[0].strip().lower()
        if not content_type.startswith(AUDIO_TYPES):
            raise _DownloadError(f"expected audio, got content type {content_type or 'none'!r}", transient=False)
        return response.content

    # --- transcription ---------------------------------------------------------------------------

    def transcribe_recording(self, payload: dict[str, Any], attempt: int) -> None:
        """Transcribe every channel with Vosk; the problem recording's words go into the ticket."""
        sid = payload["recording_sid"]
        with self._factory() as session:
            recording = session.scalar(select(Recording).where(Recording.recording_sid == sid))
            if recording is None or recording.path is None:
                return
            path, source = recording_file(self._config.recordings_root, recording.path), recording.source
        try:
            transcripts = self._scripted(path) if source == "problem" else None
            if transcripts is None:
                transcripts = transcribe_file(self._model.get(), path, self._model.name)
        except ModelMissing as exc:
            with transaction(self._factory) as session:
                recording = session.execute(select(Recording).where(Recording.recording_sid == sid)).scalar_one()
                recording.status = WAITING_MODEL
            raise WaitForResource(str(exc)) from exc
        except AudioError as exc:
            self._fail(sid, f"the recording cannot be transcribed: {exc.code}: {exc}")
            return
        with transaction(self._factory) as session:
            recording = session.execute(select(Recording).where(Recording.recording_sid == sid)).scalar_one()
            session.execute(delete(Transcript).where(Transcript.recording_id == recording.id))
            for t in transcripts:
                session.add(
                    Transcript(recording_id=recording.id, channel=t.channel, text=t.text, words=t.words, model=t.model)
                )
            recording.status, recording.error = TRANSCRIBED, None
            text = " ".join(t.text for t in transcripts if t.text).strip()  # already cleaned by speech
            add_call_event(session, recording.call, CallEventKind.TRANSCRIBED, recording_sid=sid, chars=len(text))
            ticket = ticket_for_call(session, recording.call_id)
            if source == "problem" and ticket is not None:
                self._understand(session, ticket, text, call=recording.call)
                if not text:
                    flag_for_person(session, ticket, PersonReason.NO_SPEECH, recording_sid=sid)

    def _scripted(self, path: Path) -> list[SpeechTranscript] | None:
        """Tests only: the scripted text of known audio, in place of the (unavailable) Mandarin model."""
        if self._config.scripted is None:
            return None
        text = self._config.scripted.text_for(load_channels(path).channels[0])
        return None if text is None else [SpeechTranscript(text=text, words=[], model="scripted-test", channel=None)]

    def _understand(self, session: Session, ticket: Ticket, text: str, *, call: Call) -> None:
        """The caller's words are in: route the ticket if the live call could not (the caller hung up early)."""
        call_over = call.ended_at is not None
        if self._config.routing is None:
            write_caller_words(ticket, text, WordsFrom.RECORDING)  # no routing data given (tools, tests)
        elif call_over or is_routed(ticket):
            route_ticket(session, ticket, text, self._config.routing, utcnow(), WordsFrom.RECORDING)
            if self._config.after_words is not None:
                self._config.after_words(session, call, ticket, text)
        # else the live call routes it (ivr.route_calls) now that the words are here, and writes them then

    # --- failures --------------------------------------------------------------------------------

    def _fail(self, recording_sid: str, error: str) -> None:
        """The recording is unusable: keep the error, and put the call's ticket in front of a person."""
        log.warning("recording %s: %s", recording_sid, error)
        with transaction(self._factory) as session:
            recording = session.execute(select(Recording).where(Recording.recording_sid == recording_sid)).scalar_one()
            recording.status, recording.error = FAILED, error
            add_call_event(
                session, recording.call, CallEventKind.RECORDING_FAILED, recording_sid=recording_sid, error=error
            )
            ticket = ticket_for_call(session, recording.call_id)
            if ticket is not None and recording.source == "problem":
                flag_for_person(session, ticket, PersonReason.RECORDING_UNUSABLE, recording_sid=recording_sid)


class _DownloadError(Exception):
    def __init__(self, message: str, *, transient: bool) -> None:
        super().__init__(message)
        self.transient = transient
