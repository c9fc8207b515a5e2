"""One Media Stream of a call, heard live: its audio to the recognizer, what it heard to the call's events.

Results arrive on the event loop (speech.live); what they lead to (call events, the redirect of a spoken choice,
the final transcript) is written in order by one task per stream, each write in a thread (ivr.live_speech_actions).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from concurrent.futures import Executor
from functools import partial
from typing import Any

from ivr.flow import EMERGENCY
from ivr.live_speech_actions import LiveDesk, final_transcript, redirect, write_event
from recordings.call_events import CallEventKind
from speech.grammar import MenuChoice
from speech.live import StreamSession
from speech.media_messages import Dtmf, Mark, Media, Start
from speech.streaming import ListenOutcome, LiveListener, LiveTranscripts, SpeechResult
from speech.text import clean_transcript

log = logging.getLogger(__name__)

PARTIAL_EVENT_EVERY_S = 1.0  # audio seconds between two partial-result call events of one stream
Action = Callable[[], None]  # one blocking write of a stream, run in a thread


class LiveStream:
    """One running stream: which call and step it serves, its recognition, its ordered writer of what it heard.

    `mode` is `menu` (the menu's grammar and free speech) or `transcribe` (free speech: the problem description).
    """

    def __init__(
        self,
        start: Start,
        step: str,
        mode: str,
        base_url: str,
        listener: LiveListener,
        desk: LiveDesk,
        pool: Executor,
        transcripts: LiveTranscripts,
    ) -> None:
        self.start = start
        self.step = step
        self.mode = mode
        self.base_url = base_url  # the public http(s) base the call is redirected under
        self.listener = listener
        self.desk = desk
        self.session = StreamSession(listener, pool, self._on_outcome, name=f"{start.call_sid}/{step}")
        self._transcripts = transcripts
        self._actions: asyncio.Queue[Action | None] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._last_partial_at = -PARTIAL_EVENT_EVERY_S
        self._emergency_heard = False  # the emergency phrase was heard in this stream's free speech (acted on once)

    @property
    def call_sid(self) -> str:
        """The call this stream is of."""
        return self.start.call_sid

    @property
    def stream_sid(self) -> str:
        """Twilio's id of this stream."""
        return self.start.stream_sid

    def opened(self) -> None:
        """Start recognising and writing (on the running loop); `stream_started` is the stream's first event."""
        self.session.start()
        self._writer = asyncio.get_running_loop().create_task(self._write_in_order())
        self._transcripts.add(self.call_sid, self.step, self.listener)
        self._note(
            CallEventKind.STREAM_STARTED,
            mode=self.mode,
            tracks=list(self.start.tracks),
            grammar=self.listener.grammar is not None,
        )

    def received(self, message: Media | Dtmf | Mark) -> None:
        """A message of the stream: the caller's audio is recognised, a key or a mark is noted."""
        if isinstance(message, Media):
            if message.track == "inbound":  # only the caller is recognised, never what we play
                self.session.push(message.payload, time.monotonic())
        elif isinstance(message, Dtmf):
            self._note(CallEventKind.STREAM_DTMF, digit=message.digit, audio_s=round(self.session.audio_s, 3))
        else:
            self._note(CallEventKind.STREAM_MARK, name=message.name)

    async def closed(self, how: str) -> None:
        """The stream ended (`how`: stopped, dropped, failed, refused: ...): last results, its statistics, its
        transcript; every event is written before this returns."""
        session = self.session
        await session.close()
        listener = self.listener
        text, words = listener.transcript(), listener.words()
        self._transcripts.finished(self.call_sid, self.step, text, words)
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
            log.warning("call %s/%s: decoding fell behind real time (%s)", self.call_sid, self.step, stats)
        if self.mode == "transcribe":
            cleaned = clean_transcript(text)
            self._note(
                CallEventKind.LIVE_TRANSCRIPT,
                text=text,
                readable=cleaned["text"],
                amounts=cleaned["amounts"],
                headcounts=cleaned["headcounts"],
                model=self.desk.model.name,
            )
            self._actions.put_nowait(partial(final_transcript, self.desk, self.call_sid, text, words))
        self._note(CallEventKind.STREAM_STOPPED, **stats)
        self._actions.put_nowait(None)
        if self._writer is not None:
            await self._writer

    # --- what was heard ----------------------------------------------------------------------------

    def _note(self, kind: CallEventKind, **detail: object) -> None:
        """Queue a call event (written in order, off the event loop)."""
        detail = {"stream": self.stream_sid, "step": self.step, **detail}
        self._actions.put_nowait(partial(write_event, self.desk, self.call_sid, kind, detail))

    def _choose(self, choice: MenuChoice) -> None:
        """Queue the redirect a spoken choice makes (in order with the events before it)."""
        self._actions.put_nowait(
            partial(redirect, self.desk, self.call_sid, self.stream_sid, self.step, self.base_url, choice)
        )

    def _on_outcome(self, outcome: ListenOutcome) -> None:
        for result in outcome.results:
            self._heard(result)
        if outcome.choice is not None:
            self._choose(outcome.choice)

    def _heard(self, result: SpeechResult) -> None:
        detail: dict[str, Any] = result.to_detail()
        if result.kind == "partial":
            if result.source == "grammar" or result.audio_s - self._last_partial_at < PARTIAL_EVENT_EVERY_S:
                return
            self._last_partial_at = result.audio_s
            self._note(CallEventKind.SPEECH_PARTIAL, **detail)
            return
        if self.mode == "transcribe":
            cleaned = clean_transcript(result.text)
            detail.update(readable=cleaned["text"], amounts=cleaned["amounts"], headcounts=cleaned["headcounts"])
        self._note(CallEventKind.SPEECH_FINAL, **detail, words=len(result.words))
        if self.mode == "transcribe":
            self._emergency_in(result.text)

    def _emergency_in(self, text: str) -> None:
        """While the caller describes the problem, the emergency phrase in what they say takes them to the
        supervisor (as saying it at a menu does)."""
        emergency = self.desk.flow.emergency
        said = emergency.said_in(text) if emergency is not None and not self._emergency_heard else None
        if said is None:
            return
        self._emergency_heard = True
        self._choose(MenuChoice(EMERGENCY, said, 1.0, True, free_text=text, evidence={"free_text": True}))

    async def _write_in_order(self) -> None:
        """Carry out the stream's writes and redirects in order, each off the event loop."""
        while True:
            action = await self._actions.get()
            if action is None:
                return
            try:
                await asyncio.to_thread(action)
            except Exception:
                log.exception("call %s: writing a live speech event failed", self.call_sid)
