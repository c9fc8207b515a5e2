"""Batch recognition with Vosk: PCM or a recording file in, text with timed words out (one per channel)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import vosk

from speech.audio import is_silent, load_channels
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
    recognizer = vosk.KaldiRecognizer(model, float(rate))
    recognizer.SetWords(True)
    data = np.asarray(pcm, dtype="<i2").tobytes()
    step = max(1, int(rate * chunk_s)) * 2
    results = []
    for i in range(0, len(data), step):
        if recognizer.AcceptWaveform(data[i : i + step]):  # an endpoint: its text is final now
            results.append(json.loads(recognizer.Result()))
    results.append(json.loads(recognizer.FinalResult()))
    words = [
        {"word": w["word"], "start": float(w["start"]), "end": float(w["end"]), "conf": float(w["conf"])}
        for result in results
        for w in result.get("result", [])
    ]
    text = " ".join(r.get("text", "") for r in results if r.get("text"))
    return Transcript(text=normalize_transcript(text), words=words, model=model_name, channel=channel)


def transcribe_file(model: vosk.Model, path: Path, model_name: str) -> list[Transcript]:
    """Transcribe each channel of a recording; silent channels give empty text; channel is None for mono."""
    audio = load_channels(Path(path))
    several = len(audio.channels) > 1
    transcripts = []
    for index, pcm in enumerate(audio.channels):
        channel = index if several else None
        if is_silent(pcm, audio.rate):
            transcripts.append(Transcript(text="", words=[], model=model_name, channel=channel))
        else:
            transcripts.append(recognize_pcm(model, pcm, audio.rate, model_name=model_name, channel=channel))
    return transcripts


def merge_by_time(transcripts: list[Transcript]) -> list[dict[str, Any]]:
    """All channels' words in order of start time, each with its `channel`."""
    merged = [{**word, "channel": t.channel} for t in transcripts for word in t.words]
    merged.sort(key=lambda w: (w["start"], w["end"], -1 if w["channel"] is None else w["channel"]))
    return merged
