"""Live recognition of one call's audio track: partial and final results while the caller speaks.

Everything here blocks (Kaldi decoding) and holds no event loop: the WebSocket handler runs `accept` and `finish`
in a worker pool, one call at a time per stream, so one recognizer is never fed from two threads at once.
The model is shared by all calls; each stream has its own recognizers.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import vosk

from speech.grammar import MenuChoice, MenuGrammar, decide
from speech.telephone import TELEPHONE_RATE, ulaw_decode, ulaw_encode
from speech.text import normalize_transcript
from speech.vocabulary import is_word

PARTIAL_EVERY_S = 0.3  # audio seconds between two partial results (a partial costs a best-path search)


@dataclass
class SpeechResult:
    """A partial or final result; times are seconds of audio from the start of the stream."""

    kind: Literal["partial", "final"]
    text: str
    words: list[dict[str, Any]] = field(default_factory=list)
    start: float | None = None
    end: float | None = None
    audio_s: float = 0.0
    source: Literal["free", "grammar"] = "free"

    def to_detail(self) -> dict[str, Any]:
        """The call-event detail of this result."""
        detail = {"text": self.text, "audio_s": round(self.audio_s, 3), "source": self.source}
        if self.start is not None:
            detail["start"], detail["end"] = round(self.start, 3), round(self.end or self.start, 3)
        return detail


class TrackRecognizer:
    """One Vosk recognizer on one audio track, fed 16-bit PCM bytes in order."""

    def __init__(
        self,
        model: vosk.Model,
        rate: int = TELEPHONE_RATE,
        grammar: str | None = None,
        source: Literal["free", "grammar"] = "free",
        partial_every_s: float = PARTIAL_EVERY_S,
    ) -> None:
        if grammar is None:
            self._rec = vosk.KaldiRecognizer(model, float(rate))
        else:
            self._rec = vosk.KaldiRecognizer(model, float(rate), grammar)
        self._rec.SetWords(True)
        self.rate = rate
        self.source = source
        self._partial_every = partial_every_s
        self._samples = 0
        self._last_partial_at = 0.0
        self._partial = ""
        self._finished = False
        self.finals: list[SpeechResult] = []

    @property
    def audio_s(self) -> float:
        """Seconds of audio fed so far."""
        return self._samples / self.rate

    def _final(self, raw: str) -> SpeechResult | None:
        result = json.loads(raw)
        words = [
            {"word": w["word"], "start": float(w["start"]), "end": float(w["end"]), "conf": float(w.get("conf", 1.0))}
            for w in result.get("result", [])
        ]
        self._partial = ""
        self._last_partial_at = self.audio_s
        if not result.get("text"):
            return None
        final = SpeechResult(
            "final",
            normalize_transcript(result["text"]),
            words,
            words[0]["start"] if words else None,
            words[-1]["end"] if words else None,
            self.audio_s,
            self.source,
        )
        self.finals.append(final)
        return final

    def accept(self, pcm: bytes) -> list[SpeechResult]:
        """Feed audio; returns the final result of an utterance that ended, or a changed partial (throttled)."""
        if self._finished or not pcm:
            return []
        self._samples += len(pcm) // 2
        if self._rec.AcceptWaveform(pcm):
            final = self._final(self._rec.Result())
            return [final] if final else []
        if self.audio_s - self._last_partial_at < self._partial_every:
            return []
        self._last_partial_at = self.audio_s
        return self._changed_partial()

    def _changed_partial(self) -> list[SpeechResult]:
        text = normalize_transcript(json.loads(self._rec.PartialResult()).get("partial", ""))
        if text == self._partial:
            return []
        self._partial = text
        return [SpeechResult("partial", text, audio_s=self.audio_s, source=self.source)] if text else []

    @property
    def partial(self) -> str:
        """The latest partial text (as last computed)."""
        return self._partial

    def partial_now(self) -> str:
        """The partial text of the audio fed so far, computed now."""
        if not self._finished:
            self._changed_partial()
        return self._partial

    def finish(self) -> SpeechResult | None:
        """No more audio: the final result of what is pending (a dropped call's last words too)."""
        if self._finished:
            return None
        self._finished = True
        return self._final(self._rec.FinalResult())

    def text(self, with_partial: bool = True) -> str:
        """Everything recognised so far: the finals, then the partial."""
        parts = [f.text for f in self.finals] + ([self._partial] if with_partial and self._partial else [])
        return normalize_transcript(" ".join(p for p in parts if p))


@dataclass
class ListenOutcome:
    """What one `accept` or `finish` produced: results to note, and a menu choice if one was made."""

    results: list[SpeechResult] = field(default_factory=list)
    choice: MenuChoice | None = None
    cpu_s: float = 0.0


class LiveListener:
    """Recognition for one stream: free speech always; at a menu, the menu's grammar alongside."""

    def __init__(
        self,
        model: vosk.Model,
        grammar: MenuGrammar | None = None,
        rate: int = TELEPHONE_RATE,
        partial_every_s: float = PARTIAL_EVERY_S,
    ) -> None:
        self.free = TrackRecognizer(model, rate, None, "free", partial_every_s)
        self.grammar = grammar
        self.menu = (
            TrackRecognizer(model, rate, grammar.json(), "grammar", partial_every_s)
            if grammar is not None and grammar.usable
            else None
        )
        self.choice: MenuChoice | None = None
        self._lock = threading.Lock()
        self._window: list[str] = []  # free-speech finals since the last menu decision
        self.cpu_s = 0.0

    def accept(self, mulaw: bytes) -> ListenOutcome:
        """Feed μ-law bytes (8 kHz); blocking."""
        start = time.thread_time()
        pcm = ulaw_decode(mulaw).astype("<i2").tobytes()
        with self._lock:
            results = self.free.accept(pcm)
            self._window += [r.text for r in results if r.kind == "final"]
            choice = None
            if self.menu is not None:
                menu_results = self.menu.accept(pcm)
                results += menu_results
                for result in menu_results:
                    if result.kind == "final" and choice is None:
                        choice = self._decide(result)
        return self._outcome(results, choice, start)

    def _decide(self, final: SpeechResult) -> MenuChoice | None:
        """At the end of a grammar utterance: the choice, if the caller made one (once per stream)."""
        if self.choice is not None or self.grammar is None:
            return None
        free_text = " ".join([*self._window, self.free.partial_now()])
        self._window = []
        self.choice = decide(self.grammar, final.words, free_text)
        return self.choice

    def finish(self) -> ListenOutcome:
        """The stream ended: final results of what was pending (also when the socket dropped mid-word)."""
        start = time.thread_time()
        with self._lock:
            results = []
            choice = None
            final = self.free.finish()
            if final:
                results.append(final)
                self._window.append(final.text)
            if self.menu is not None:
                menu_final = self.menu.finish()
                if menu_final:
                    results.append(menu_final)
                    choice = self._decide(menu_final)
        return self._outcome(results, choice, start)

    def _outcome(self, results: list[SpeechResult], choice: MenuChoice | None, start: float) -> ListenOutcome:
        spent = time.thread_time() - start
        self.cpu_s += spent
        return ListenOutcome(results, choice, spent)

    def transcript(self) -> str:
        """The free-speech transcript so far (finals and the latest partial)."""
        with self._lock:
            return self.free.text()

    def words(self) -> list[dict[str, Any]]:
        """Timed words of the free-speech finals so far."""
        with self._lock:
            return [w for f in self.free.finals for w in f.words if is_word(w["word"])]


@dataclass
class LagMeter:
    """How far decoding runs behind the audio arriving: the wall time from a frame's arrival to its decoding."""

    behind_after_s: float = 1.0  # a lag above this counts as falling behind real time
    max_lag_s: float = 0.0
    total_lag_s: float = 0.0
    last_lag_s: float = 0.0
    batches: int = 0
    behind_batches: int = 0
    behind_episodes: int = 0
    lags: list[float] = field(default_factory=list)
    _behind: bool = False

    def record(self, arrived_at: float, decoded_at: float) -> bool:
        """Note one decoded batch (its oldest frame's arrival, and when its decoding ended); True when this starts
        a lag episode."""
        lag = max(0.0, decoded_at - arrived_at)
        self.lags.append(lag)
        self.last_lag_s = lag
        self.batches += 1
        self.total_lag_s += lag
        self.max_lag_s = max(self.max_lag_s, lag)
        behind = lag > self.behind_after_s
        started = behind and not self._behind
        if behind:
            self.behind_batches += 1
        if started:
            self.behind_episodes += 1
        self._behind = behind
        return started

    def summary(self) -> dict[str, Any]:
        """For the stream's closing call event."""
        mean = self.total_lag_s / self.batches if self.batches else 0.0
        p95 = float(np.percentile(self.lags, 95)) if self.lags else 0.0
        return {
            "batches": self.batches,
            "lag_mean_ms": round(mean * 1000, 1),
            "lag_p95_ms": round(p95 * 1000, 1),
            "lag_max_ms": round(self.max_lag_s * 1000, 1),
            "lag_last_ms": round(self.last_lag_s * 1000, 1),
            "behind_batches": self.behind_batches,
            "behind_episodes": self.behind_episodes,
        }

    def kept_up(self) -> bool:
        """Decoding kept pace with the audio: 95 % of the batches and the last one waited under `behind_after_s`
        (Vosk spends a few hundred ms of CPU on the first 100 ms of speech of each recognizer; that one wait
        is caught up, it is not falling behind)."""
        return not self.lags or (
            float(np.percentile(self.lags, 95)) <= self.behind_after_s and self.last_lag_s <= self.behind_after_s
        )


class LiveTranscripts:
    """The listeners of the streams running in this process, by call and step, for the webhooks to read."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._live: dict[tuple[str, str], LiveListener] = {}
        self._done: dict[tuple[str, str], tuple[str, list[dict[str, Any]]]] = {}

    def add(self, call_sid: str, step: str, listener: LiveListener) -> None:
        with self._lock:
            self._live[(call_sid, step)] = listener
            self._done.pop((call_sid, step), None)

    def finished(self, call_sid: str, step: str, text: str, words: list[dict[str, Any]]) -> None:
        """The stream ended: keep its final text a while for a webhook that asks late."""
        with self._lock:
            self._live.pop((call_sid, step), None)
            self._done[(call_sid, step)] = (text, words)
            while len(self._done) > 1000:
                self._done.pop(next(iter(self._done)))

    def snapshot(self, call_sid: str, step: str) -> tuple[str, list[dict[str, Any]]] | None:
        """(text, words) heard so far on the call's stream for `step`, or None if there is none."""
        with self._lock:
            listener = self._live.get((call_sid, step))
            done = self._done.get((call_sid, step))
        if listener is not None:
            return listener.transcript(), listener.words()
        return done

    def active(self) -> int:
        with self._lock:
            return len(self._live)


def pcm_to_mulaw_frames(pcm: np.ndarray, frame_bytes: int = 160) -> list[bytes]:
    """8 kHz PCM as 20 ms μ-law frames (the last one padded with silence)."""
    codes = ulaw_encode(np.asarray(pcm, dtype=np.int16))
    if len(codes) % frame_bytes:
        codes += b"\xff" * (frame_bytes - len(codes) % frame_bytes)  # 0xFF is μ-law silence
    return [codes[i : i + frame_bytes] for i in range(0, len(codes), frame_bytes)]
