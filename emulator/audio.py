"""Recordings as Twilio makes them: the caller's voice through the phone line, 8 kHz 16-bit PCM WAV."""

from __future__ import annotations

import io
import math
import wave
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from speech.audio import SILENCE_DBFS
from speech.telephone import TELEPHONE_RATE, telephone_round_trip

PROMPT_TONE_HZ = 300.0
# A faint tone marks where the service's prompts play on the outbound channel (Twilio's recording has the
# synthesised voice there, which the emulator cannot make). It is a mark for tests that read the file, not speech:
# 6 dB under what the service counts as sound, so its transcription does not spend minutes of CPU turning a tone
# into nonsense words. The second channel's speech path is tested with real speech (tests/test_speech.py).
PROMPT_TONE_LEVEL = round(math.sqrt(2) * 32768 * 10 ** ((SILENCE_DBFS - 6) / 20))


@dataclass
class CallerAudio:
    """What the caller says at one Record: 8 kHz telephone PCM, or raw bytes when the file is not a WAV."""

    source: Path
    pcm: np.ndarray | None = None
    raw: bytes | None = None

    @property
    def duration(self) -> float:
        """Seconds of speech (raw bytes counted as 8 kHz 16-bit)."""
        if self.pcm is not None:
            return len(self.pcm) / TELEPHONE_RATE
        return len(self.raw or b"") / (2 * TELEPHONE_RATE)

    def clipped(self, seconds: float) -> CallerAudio:
        """The first `seconds` of it (maxLength)."""
        if self.pcm is not None:
            return CallerAudio(self.source, pcm=self.pcm[: int(seconds * TELEPHONE_RATE)])
        return CallerAudio(self.source, raw=(self.raw or b"")[: int(seconds * 2 * TELEPHONE_RATE)])


def _read_wav(data: bytes) -> tuple[np.ndarray, int]:
    with wave.open(io.BytesIO(data)) as wav:
        rate, channels, width = wav.getframerate(), wav.getnchannels(), wav.getsampwidth()
        frames = wav.readframes(wav.getnframes())
    if width == 2:
        samples = np.frombuffer(frames, dtype="<i2").astype(np.int32)
    elif width == 1:
        samples = (np.frombuffer(frames, dtype=np.uint8).astype(np.int32) - 128) << 8
    elif width == 4:
        samples = np.frombuffer(frames, dtype="<i4").astype(np.int64) >> 16
    else:
        raise wave.Error(f"{8 * width}-bit samples are not supported")
    if channels > 1:
        samples = samples[: len(samples) - len(samples) % channels].reshape(-1, channels).mean(axis=1)
    if rate <= 0:
        raise wave.Error("no sample rate")
    return np.asarray(samples).astype(np.int16), rate


def _to_multiple_of_8k(pcm: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """Linear resampling to 16 kHz for rates the telephone path cannot decimate by an integer."""
    if rate % TELEPHONE_RATE == 0 or len(pcm) == 0:
        return pcm, rate
    target = 16000
    n_out = round(len(pcm) * target / rate)
    positions = np.arange(n_out) * (rate / target)
    resampled = np.interp(positions, np.arange(len(pcm)), pcm.astype(np.float64))
    return np.clip(np.round(resampled), -32768, 32767).astype(np.int16), target


def load_caller_audio(path: Path) -> CallerAudio:
    """Read what the caller says: a WAV goes through the telephone path, anything else stays raw bytes."""
    data = Path(path).read_bytes()
    try:
        pcm, rate = _read_wav(data)
    except (wave.Error, EOFError, ValueError):
        return CallerAudio(Path(path), raw=data)
    pcm, rate = _to_multiple_of_8k(pcm, rate)
    if len(pcm) == 0:
        return CallerAudio(Path(path), pcm=np.zeros(0, dtype=np.int16))
    return CallerAudio(Path(path), pcm=telephone_round_trip(pcm, rate))


def wav_bytes(channels: list[np.ndarray], rate: int = TELEPHONE_RATE) -> bytes:
    """16-bit PCM WAV of one or more equally long channels."""
    length = max((len(c) for c in channels), default=0)
    stacked = np.zeros((length, len(channels)), dtype="<i2")
    for i, channel in enumerate(channels):
        stacked[: len(channel), i] = channel
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as wav:
        wav.setnchannels(len(channels))
        wav.setsampwidth(2)
        wav.setframerate(rate)
        wav.writeframes(stacked.tobytes())
    return buffer.getvalue()


def recording_media(audio: CallerAudio, trailing_silence: float = 0.0) -> tuple[bytes, float]:
    """The media of a <Record> recording and its length in seconds: mono WAV, or the raw bytes unchanged."""
    if audio.pcm is None:
        return audio.raw or b"", audio.duration
    pcm = np.concatenate([audio.pcm, np.zeros(int(trailing_silence * TELEPHONE_RATE), dtype=np.int16)])
    return wav_bytes([pcm]), len(pcm) / TELEPHONE_RATE


@dataclass
class Segment:
    """Audio on the call timeline: `track` is inbound (caller) or outbound (service prompts)."""

    track: str
    start: float
    duration: float
    pcm: np.ndarray | None = None


def _tone(seconds: float) -> np.ndarray:
    t = np.arange(int(seconds * TELEPHONE_RATE)) / TELEPHONE_RATE
    return (PROMPT_TONE_LEVEL * np.sin(2 * np.pi * PROMPT_TONE_HZ * t)).astype(np.int16)


def call_recording_media(segments: list[Segment], start: float, end: float, dual: bool) -> bytes:
    """A full-call recording from `start` to `end`: channel 1 the caller, channel 2 the service side."""
    n = max(0, round((end - start) * TELEPHONE_RATE))
    inbound = np.zeros(n, dtype=np.int32)
    outbound = np.zeros(n, dtype=np.int32)
    for seg in segments:
        pcm = seg.pcm if seg.pcm is not None else _tone(seg.duration)
        offset = round((seg.start - start) * TELEPHONE_RATE)
        lo, hi = max(0, offset), min(n, offset + len(pcm))
        if hi <= lo:
            continue
        target = inbound if seg.track == "inbound" else outbound
        target[lo:hi] += pcm[lo - offset : hi - offset]
    if dual:
        channels = [np.clip(inbound, -32768, 32767), np.clip(outbound, -32768, 32767)]
    else:
        channels = [np.clip(inbound + outbound, -32768, 32767)]
    return wav_bytes([c.astype(np.int16) for c in channels])
