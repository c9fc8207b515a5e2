"""Batch recognition with Vosk: PCM or a recording file in, text with timed words out (one per channel)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import vosk

from speech.audio import load_channels, sounding_spans
from speech.text import normalize_transcript


@dataclass
class Transcript:
    """What was said on one channel: normalized text and Vosk's words with times in seconds."""

    text: str
    words: list[dict[str, Any]] = field(default_factory=list)  # {"word", "start", "end", "conf"}
    model: str = ""
    channel: int | None = None


def recognize_pcm(
    model: vosk.Model,
    pcm: np.ndarray,
    rate: int,
    *,
    chunk_s: float = 0.25,
    model_name: str = "",
    channel: int | None = None,
) -> Transcript:
    """Recognize mono 16-bit PCM at its own rate (8 kHz is fed as 8 kHz) with a fresh recognizer."""
    return recognize_spans(model, pcm, rate, [(0, len(pcm))], chunk_s=chunk_s, model_name=model_name, channel=channel)


def recognize_spans(
    model: vosk.Model,
    pcm: np.ndarray,
    rate: int,
    spans: list[tuple[int, int]],
    *,
    chunk_s: float = 0.25,
    model_name: str = "",
    channel: int | None = None,
) -> Transcript:
    """Recognize only the `spans` (sample ranges, in order) of `pcm`, one after another in one recognizer;
    each word's times are those in `pcm`."""
    recognizer = vosk.KaldiRecognizer(model, float(rate))
    recognizer.SetWords(True)
    step = max(1, int(rate * chunk_s))
    results = []
    fed = 0
    shifts: list[tuple[int, int]] = []  # at each span's start: (samples fed so far, where the span is in `pcm`)
    for start, end in spans:
        shifts.append((fed, start))
        for i in range(start, end, step):
            piece = np.asarray(pcm[i : min(i + step, end)], dtype="<i2").tobytes()
            if recognizer.AcceptWaveform(piece):  # an endpoint: its text is final now
                results.append(json.loads(recognizer.Result()))
        fed += end - start
    results.append(json.loads(recognizer.FinalResult()))

    def shift_s(word_start_s: float) -> float:
        """How far the span a word starts in was moved forward when fed (a word keeps one span's shift)."""
        at = word_start_s * rate
        return next(((orig - first) / rate for first, orig in reversed(shifts) if first <= at), 0.0)

    words = []
    for result in results:
        for w in result.get("result", []):
            shift = shift_s(float(w["start"]))
            words.append(
                {
                    "word": w["word"],
                    "start": round(float(w["start"]) + shift, 3),
                    "end": round(float(w["end"]) + shift, 3),
                    "conf": float(w["conf"]),
                }
            )
    text = " ".join(r.get("text", "") for r in results if r.get("text"))
    return Transcript(text=normalize_transcript(text), words=words, model=model_name, channel=channel)


def transcribe_file(model: vosk.Model, path: Path, model_name: str) -> list[Transcript]:
    """Transcribe each channel of a recording; silent channels give empty text; channel is None for mono.

    Only the stretches of each channel with sound in them are recognised (`sounding_spans`): each side of a
    whole-call recording is quiet most of the time (the other side speaking, holds, rings), and Vosk spends
    about as much on a second of silence as on a second of speech.
    """
    audio = load_channels(Path(path))
    several = len(audio.channels) > 1
    transcripts = []
    for index, pcm in enumerate(audio.channels):
        channel = index if several else None
        spans = sounding_spans(pcm, audio.rate)
        if not spans:
            transcripts.append(Transcript(text="", words=[], model=model_name, channel=channel))
        else:
            transcripts.append(recognize_spans(model, pcm, audio.rate, spans, model_name=model_name, channel=channel))
    return transcripts


def merge_by_time(transcripts: list[Transcript]) -> list[dict[str, Any]]:
    """All channels' words in order of start time, each with its `channel`."""
    merged = [{**word, "channel": t.channel} for t in transcripts for word in t.words]
    merged.sort(key=lambda w: (w["start"], w["end"], -1 if w["channel"] is None else w["channel"]))
    return merged
