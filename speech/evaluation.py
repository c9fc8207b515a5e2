"""How well and how fast the recognizer does on a labelled set: CER and real-time factor, wideband and telephone.

A manifest is a TSV file with a header row and the columns `id`, `file`, `transcript` (files relative to the
manifest; `text` is accepted for `transcript`, and `id` defaults to the file name). Wideband: the file at its own
rate (16 kHz at most) through the batch recognizer the recordings pipeline uses. Telephone: the file as a phone
line delivers it (8 kHz, μ-law, 20 ms frames) through the live recognizer of the Media Streams path.
CER counts the characters of the set's script (Han, Hangul, else letters and digits) with all else removed.
"""

from __future__ import annotations

import csv
import time
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import vosk

from speech.audio import _resample, load_channels
from speech.media_messages import FRAME_BYTES
from speech.streaming import LiveListener
from speech.telephone import TELEPHONE_RATE, telephone_round_trip, ulaw_encode
from speech.transcribe import recognize_pcm

BATCH_BYTES = 5 * FRAME_BYTES  # the live path feeds 100 ms at a time


class ManifestError(ValueError):
    """The manifest cannot be used; the message says which line and why."""


@dataclass(frozen=True)
class Clip:
    """One labelled recording."""

    id: str
    path: Path
    transcript: str


@dataclass
class ConditionResult:
    """CER and speed of one condition over the whole set."""

    edits: int = 0
    reference_chars: int = 0
    audio_s: float = 0.0
    decode_s: float = 0.0
    hypotheses: dict[str, str] = field(default_factory=dict)

    @property
    def cer(self) -> float:
        return self.edits / self.reference_chars if self.reference_chars else 0.0

    @property
    def rtf(self) -> float:
        """Decoding seconds per second of audio, one stream on one core."""
        return self.decode_s / self.audio_s if self.audio_s else 0.0

    def summary(self) -> dict[str, Any]:
        return {"cer": round(self.cer, 4), "rtf": round(self.rtf, 4)}


def read_manifest(path: Path) -> list[Clip]:
    """The clips of a manifest; raises ManifestError naming the problem."""
    path = Path(path)
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh, delimiter="\t"))
    except OSError as exc:
        raise ManifestError(f"cannot read {path}: {exc.strerror}") from exc
    if not rows:
        raise ManifestError(f"{path} has no clips (a header row, then id, file, transcript per line)")
    clips = []
    for line, row in enumerate(rows, 2):
        text = row.get("transcript", row.get("text"))
        if not row.get("file") or text is None:
            raise ManifestError(f"{path}:{line}: needs the columns id, file, transcript (tab-separated)")
        audio = (path.parent / row["file"]).resolve()
        if not audio.is_file():
            raise ManifestError(f"{path}:{line}: {row['file']} not found next to the manifest")
        clips.append(Clip(row.get("id") or Path(row["file"]).stem, audio, text))
    return clips


def _script(texts: list[str]) -> str:
    counts = {"hangul": 0, "han": 0, "other": 0}
    for ch in "".join(texts):
        if "\uac00" <= ch <= "\ud7a3":
            counts["hangul"] += 1
        elif "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff":
            counts["han"] += 1
        elif ch.isalnum():
            counts["other"] += 1
    return max(counts, key=counts.__getitem__)


def scoring_chars(text: str, script: str) -> str:
    """The characters CER counts: Hangul syllables, Han characters, or letters and digits (case-folded)."""
    if script == "hangul":
        return "".join(ch for ch in text if "\uac00" <= ch <= "\ud7a3")
    if script == "han":
        return "".join(ch for ch in text if "\u3400" <= ch <= "\u9fff" or "\uf900" <= ch <= "\ufaff")
    return "".join(ch for ch in unicodedata.normalize("NFKC", text).casefold() if ch.isalnum())


def edit_distance(a: str, b: str) -> int:
    """Levenshtein distance."""
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return previous[-1]


def stream_telephone(model: vosk.Model, pcm8k: np.ndarray) -> str:
    """The live path: μ-law frames in 100 ms batches through a LiveListener (free speech), then its final."""
    codes = ulaw_encode(pcm8k)
    listener = LiveListener(model)
    for i in range(0, len(codes), BATCH_BYTES):
        listener.accept(codes[i : i + BATCH_BYTES])
    listener.finish()
    return listener.transcript()


def _score(result: ConditionResult, clip: Clip, hypothesis: str, seconds: float, elapsed: float, script: str) -> None:
    result.hypotheses[clip.id] = hypothesis
    reference = scoring_chars(clip.transcript, script)
    result.edits += edit_distance(reference, scoring_chars(hypothesis, script))
    result.reference_chars += len(reference)
    result.audio_s += seconds
    result.decode_s += elapsed


def evaluate(model: vosk.Model, clips: list[Clip]) -> dict[str, ConditionResult]:
    """CER and RTF of every clip, wideband (batch, own rate) and over the telephone path (live, 8 kHz μ-law)."""
    script = _script([c.transcript for c in clips])
    results = {"wideband": ConditionResult(), "telephone": ConditionResult()}
    for clip in clips:
        audio = load_channels(clip.path)
        pcm = audio.channels[0] if len(audio.channels) == 1 else np.mean(audio.channels, axis=0).astype(np.int16)
        start = time.perf_counter()
        wide = recognize_pcm(model, pcm, audio.rate).text
        _score(results["wideband"], clip, wide, audio.duration_s, time.perf_counter() - start, script)
        rate = audio.rate
        if rate % TELEPHONE_RATE:  # 11.025 kHz and the like: to 16 kHz first, then down as a phone line does
            pcm, rate = _resample(pcm, rate, 16000), 16000
        phone = telephone_round_trip(pcm, rate) if rate != TELEPHONE_RATE else pcm
        start = time.perf_counter()
        heard = stream_telephone(model, phone)
        _score(results["telephone"], clip, heard, len(phone) / TELEPHONE_RATE, time.perf_counter() - start, script)
    return results


def report(results: dict[str, ConditionResult], clips: int) -> dict[str, Any]:
    """The JSON of `hotline bench asr --json`."""
    return {"wideband": results["wideband"].summary(), "telephone": results["telephone"].summary(), "clips": clips}
