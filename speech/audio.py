"""Recording files in: decode WAV (PCM, μ-law, A-law), MP3 and what ffmpeg reads into 16-bit PCM per channel.

Our own sample work is numpy only (no stdlib `audioop`, gone in Python 3.13): sample-width conversion,
G.711 decoding and resampling. pydub reads PCM WAV itself and hands everything else to ffmpeg.
Rates above 16 kHz come down to 16 kHz; lower rates (8 kHz telephone audio) stay as they are, because
Vosk takes them natively and upsampling first costs accuracy (measured on the Korean clips after a
μ-law round trip: 26 % CER fed at 8 kHz, 46 % upsampled to 16 kHz first).
"""

from __future__ import annotations

import math
import shutil
import struct
import wave
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from speech.errors import AudioError
from speech.telephone import ulaw_decode

if TYPE_CHECKING:
    from pydub import AudioSegment  # imported late at run time: pydub warns at import when ffmpeg is missing

TARGET_RATE = 16000
# A channel whose loudest 50 ms frame has an RMS below this many dB relative to full scale (32768) holds
# no speech. Speech peaks far above it (the quietest real clips in shared/data/speech peak at -34 dBFS, most
# near -10); the pauses of those clips sit at -55 to -80 dBFS, about where an idle phone line is.
SILENCE_DBFS = -50.0
_SILENCE_FRAME_S = 0.05
PAD_S, BRIDGE_S = 0.5, 2.0  # sounding_spans: quiet kept around sound, and the longest pause kept whole

_WAVE_PCM, _WAVE_ALAW, _WAVE_ULAW, _WAVE_EXTENSIBLE = 0x0001, 0x0006, 0x0007, 0xFFFE
_KAISER_BETA = 8.0  # Kaiser window shape for about 80 dB stop-band attenuation
_STOPBAND_DB = 80.0


@dataclass
class DecodedAudio:
    """A decoded recording: one mono int16 array per channel, all at `rate`."""

    rate: int
    channels: list[np.ndarray]
    duration_s: float


def load_channels(path: Path) -> DecodedAudio:
    """Decode a recording file into per-channel mono 16-bit PCM at its native rate (capped at 16 kHz)."""
    path = Path(path)
    if not path.is_file():
        raise AudioError("not_found", str(path))
    with path.open("rb") as fh:
        head = fh.read(64)
    if not head:
        raise AudioError("empty", f"{path} is 0 bytes")
    kind = _sniff(head)
    if kind == "wav":
        rate, channels = _load_wav(path)
    elif kind.startswith("not-audio:"):
        raise AudioError("unsupported_format", f"{path} is a {kind.split(':', 1)[1]} file, not audio")
    elif kind == "text":
        raise AudioError("corrupt", f"{path} is text (perhaps an error page saved in place of the recording)")
    elif kind == "unknown" and not shutil.which("ffmpeg"):
        raise AudioError("corrupt", f"{path} is not WAV nor any audio format recognised without ffmpeg")
    else:
        rate, channels = _load_with_ffmpeg(path, "mp3" if kind == "mp3" else None)
    if not channels or channels[0].size == 0:
        raise AudioError("empty", f"{path} has a header but no samples")
    if rate > TARGET_RATE:
        channels = [_resample(ch, rate, TARGET_RATE) for ch in channels]
        rate = TARGET_RATE
    return DecodedAudio(rate=rate, channels=channels, duration_s=channels[0].size / rate)


def is_silent(pcm: np.ndarray, rate: int, threshold_dbfs: float = SILENCE_DBFS) -> bool:
    """True when no 50 ms frame of `pcm` is louder (RMS) than `threshold_dbfs` (default -50 dBFS)."""
    if np.asarray(pcm).size == 0:
        return True
    levels, _ = _frame_levels(pcm, rate)
    return float(np.max(levels)) < 32768.0 * 10 ** (threshold_dbfs / 20)


def _frame_levels(pcm: np.ndarray, rate: int) -> tuple[np.ndarray, int]:
    """The RMS of each 50 ms frame of `pcm` (the last one zero-padded) and the frame length in samples."""
    x = np.asarray(pcm, dtype=np.float64)
    frame = max(1, int(rate * _SILENCE_FRAME_S))
    n = -(-x.size // frame) * frame
    frames = np.pad(x, (0, n - x.size)).reshape(-1, frame)
    return np.sqrt(np.mean(frames**2, axis=1)), frame


def sounding_spans(
    pcm: np.ndarray,
    rate: int,
    *,
    threshold_dbfs: float = SILENCE_DBFS,
    pad_s: float = PAD_S,
    bridge_s: float = BRIDGE_S,
) -> list[tuple[int, int]]:
    """The stretches of `pcm` with sound in them, as (start, end) sample indices, in order.

    A stretch is every frame louder than `threshold_dbfs`, widened by `pad_s` each side (the soft start and
    end of a word, and the quiet the recogniser needs before speech); stretches less than `bridge_s` apart are
    one (a speaker's pauses stay in).
    """
    if np.asarray(pcm).size == 0:
        return []
    levels, frame = _frame_levels(pcm, rate)
    loud = np.flatnonzero(levels >= 32768.0 * 10 ** (threshold_dbfs / 20))
    if loud.size == 0:
        return []
    pad, bridge = round(pad_s / _SILENCE_FRAME_S), round(bridge_s / _SILENCE_FRAME_S)
    spans: list[tuple[int, int]] = []
    start = prev = int(loud[0])
    for f in loud[1:]:
        if f - prev > bridge + 2 * pad:
            spans.append((start, prev))
            start = int(f)
        prev = int(f)
    spans.append((start, prev))
    size = np.asarray(pcm).size
    return [(max(0, (a - pad) * frame), min(size, (b + 1 + pad) * frame)) for a, b in spans]


def write_wav(path: Path, pcm: np.ndarray | Sequence[np.ndarray], rate: int) -> None:
    """Write 16-bit PCM WAV: a 1-D array (mono), a (frames, channels) array, or a list of channel arrays."""
    if isinstance(pcm, np.ndarray):
        data = pcm
    else:
        data = np.stack([np.asarray(ch) for ch in pcm], axis=1)
    data = np.asarray(data, dtype=np.int16)
    channels = 1 if data.ndim == 1 else data.shape[1]
    with wave.open(str(path), "wb") as w:
        w.setnchannels(channels)
        w.setsampwidth(2)
        w.setframerate(int(rate))
        w.writeframes(data.astype("<i2").tobytes())


# --- format sniffing -----------------------------------------------------------------------------------

_NOT_AUDIO = {
    b"\x89PNG": "PNG image",
    b"\xff\xd8\xff": "JPEG image",
    b"GIF8": "GIF image",
    b"%PDF": "PDF",
    b"PK\x03\x04": "ZIP",
}
_COMPRESSED = (b"OggS", b"fLaC", b"#!AMR", b"\x1a\x45\xdf\xa3", b"FORM", b".snd")


def _sniff(head: bytes) -> str:
    """What the first bytes say a file is: wav, mp3, compressed, not-audio:<what>, text or unknown."""
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return "wav"
    for magic, what in _NOT_AUDIO.items():
        if head.startswith(magic):
            return f"not-audio:{what}"
    if head[:3] == b"ID3" or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0 and head[1] & 0x06):
        return "mp3"
    if head.startswith(_COMPRESSED) or head[4:8] == b"ftyp":
        return "compressed"
    for cut in range(4):  # the 64 bytes may end inside a multi-byte character
        try:
            text = head[: len(head) - cut].decode("utf-8")
        except UnicodeDecodeError:
            continue
        return "text" if all(c.isprintable() or c.isspace() for c in text) else "unknown"
    return "unknown"


# --- WAV -----------------------------------------------------------------------------------------------


@dataclass
class _WavInfo:
    format_tag: int
    channels: int
    rate: int
    bits: int
    data: bytes


def _read_wav_info(path: Path) -> _WavInfo:
    """Walk the RIFF chunks of a WAV file: its format and its sample bytes."""
    raw = path.read_bytes()
    pos, fmt, data = 12, None, None
    while pos + 8 <= len(raw):
        chunk_id, size = raw[pos : pos + 4], struct.unpack_from("<I", raw, pos + 4)[0]
        body = raw[pos + 8 : pos + 8 + size]  # a truncated last chunk keeps what is there
        if chunk_id == b"fmt ":
            fmt = body
        elif chunk_id == b"data":
            data = body
            break
        pos += 8 + size + (size & 1)
    if fmt is None or len(fmt) < 16:
        raise AudioError("corrupt", f"{path}: the WAV header is cut short or has no format chunk")
    if data is None:
        raise AudioError("corrupt", f"{path}: the WAV file has no data chunk (cut short?)")
    tag, channels, rate, _byte_rate, _align, bits = struct.unpack_from("<HHIIHH", fmt)
    if tag == _WAVE_EXTENSIBLE and len(fmt) >= 26:
        tag = struct.unpack_from("<H", fmt, 24)[0]  # first two bytes of the SubFormat GUID
    if channels == 0 or rate == 0:
        raise AudioError("corrupt", f"{path}: the WAV header says {channels} channels at {rate} Hz")
    return _WavInfo(tag, channels, rate, bits, data)


def _load_wav(path: Path) -> tuple[int, list[np.ndarray]]:
    """PCM WAV through pydub, G.711 WAV in numpy, any other WAV codec through ffmpeg."""
    info = _read_wav_info(path)
    if info.format_tag in (_WAVE_ULAW, _WAVE_ALAW):
        decode = ulaw_decode if info.format_tag == _WAVE_ULAW else alaw_decode
        usable = len(info.data) - len(info.data) % info.channels
        return info.rate, _split(decode(info.data[:usable]), info.channels)
    if info.format_tag == _WAVE_PCM:
        if info.bits not in (8, 16, 24, 32):
            raise AudioError("unsupported_format", f"{path}: {info.bits}-bit PCM")
        if not info.data:
            raise AudioError("empty", f"{path} has a WAV header but no samples")
        from pydub import AudioSegment  # imported late: pydub warns at import when ffmpeg is missing

        try:
            with open(path, "rb") as fh:  # our own handle: pydub leaves the files it opens to the collector
                segment = AudioSegment.from_wav(fh)
        except Exception as exc:  # pydub raises assorted errors on damaged files
            raise AudioError("corrupt", f"{path}: {exc}") from exc
        return _segment_channels(segment)
    return _load_with_ffmpeg(path, None)


def alaw_decode(codes: bytes) -> np.ndarray:
    """G.711 A-law bytes → 16-bit linear PCM (the telephone codec of China and Europe)."""
    a = np.frombuffer(codes, dtype=np.uint8).astype(np.int32) ^ 0x55
    segment = (a >> 4) & 0x07
    t = (a & 0x0F) << 4
    magnitude = np.where(segment == 0, t + 8, (t + 0x108) << np.maximum(segment - 1, 0))
    return np.where(a & 0x80, magnitude, -magnitude).astype(np.int16)


# --- ffmpeg (through pydub) ----------------------------------------------------------------------------


def _load_with_ffmpeg(path: Path, fmt: str | None) -> tuple[int, list[np.ndarray]]:
    """Decode anything ffmpeg knows (MP3, Ogg, FLAC, M4A, float WAV, ...)."""
    if not shutil.which("ffmpeg"):
        raise AudioError("needs_ffmpeg", str(path))
    from pydub import AudioSegment
    from pydub.exceptions import CouldntDecodeError

    try:
        # A file object, not the name: pydub would otherwise trust a ".wav" name over the content.
        with path.open("rb") as fh:
            segment = AudioSegment.from_file(fh, format=fmt)
    except FileNotFoundError as exc:  # ffprobe missing although ffmpeg is there
        raise AudioError("needs_ffmpeg", f"{path}: {exc}") from exc
    except IndexError as exc:  # ffprobe found streams, none of them audio
        raise AudioError("unsupported_format", f"{path} has no audio stream") from exc
    except (CouldntDecodeError, KeyError, ValueError, OSError) as exc:
        raise AudioError("corrupt", f"{path}: {_first_line(exc)}") from exc
    return _segment_channels(segment)


def _first_line(exc: Exception) -> str:
    """The useful part of an ffmpeg error: the last non-empty line it printed."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return lines[-1] if lines else type(exc).__name__


def _segment_channels(segment: AudioSegment) -> tuple[int, list[np.ndarray]]:
    """A pydub AudioSegment's samples as int16 arrays, one per channel."""
    width, channels = segment.sample_width, segment.channels
    raw = segment.raw_data
    raw = raw[: len(raw) - len(raw) % (width * channels)]
    if width == 1:
        pcm = np.frombuffer(raw, dtype=np.int8).astype(np.int16) << 8  # pydub made 8-bit signed
    elif width == 2:
        pcm = np.frombuffer(raw, dtype="<i2")
    elif width == 4:  # 32-bit, and 24-bit that pydub widened to 32
        pcm = (np.frombuffer(raw, dtype="<i4") >> 16).astype(np.int16)
    else:
        raise AudioError("unsupported_format", f"{width * 8}-bit samples")
    return segment.frame_rate, _split(pcm, channels)


def _split(interleaved: np.ndarray, channels: int) -> list[np.ndarray]:
    """Interleaved samples → one contiguous int16 array per channel."""
    frames = np.asarray(interleaved, dtype=np.int16).reshape(-1, channels)
    return [np.ascontiguousarray(frames[:, c]) for c in range(channels)]


# --- resampling ----------------------------------------------------------------------------------------


def _resample(pcm: np.ndarray, rate_in: int, rate_out: int) -> np.ndarray:
    """Rational-ratio polyphase resampling with a Kaiser-windowed sinc (pass to 0.45, stop from 0.5 × lower rate)."""
    g = math.gcd(rate_in, rate_out)
    up, down = rate_out // g, rate_in // g
    low = min(rate_in, rate_out)
    fc = 0.475 * low / rate_in  # -6 dB point, cycles per input sample
    transition = 0.05 * low / rate_in
    half = math.ceil((_STOPBAND_DB - 8.0) / (2.285 * 2 * math.pi * transition) / 2)  # Kaiser's estimate
    n_taps = 2 * half
    phase = np.arange(up)
    base = (phase * down) // up
    tau = ((phase * down) % up / up)[:, None] - np.arange(-half + 1, half + 1)[None, :]
    window = np.i0(_KAISER_BETA * np.sqrt(np.clip(1 - (tau / half) ** 2, 0, None))) / np.i0(_KAISER_BETA)
    taps = 2 * fc * np.sinc(2 * fc * tau) * window
    taps = (taps / taps.sum(axis=1, keepdims=True)).astype(np.float32)

    x = np.asarray(pcm, dtype=np.int16)
    n_out = -(-x.size * up // down)
    n_rows = -(-n_out // up)
    out = np.empty(n_out, dtype=np.float32)
    rows_per_block = max(1, (1 << 22) // (n_taps * up))
    item = np.dtype(np.float32).itemsize
    for j0 in range(0, n_rows, rows_per_block):
        j1 = min(j0 + rows_per_block, n_rows)
        lo = down * j0 + 1 - half  # first input sample index this block reads
        block = _zero_padded(x, lo, lo + down * (j1 - 1 - j0) + int(base[-1]) + n_taps)
        for r in range(up):
            first = r + up * j0
            if first >= n_out:
                break
            count = min(j1, -(-(n_out - r) // up)) - j0
            view = np.lib.stride_tricks.as_strided(
                block[int(base[r]) :], shape=(count, n_taps), strides=(down * item, item), writeable=False
            )
            out[first : first + up * count : up] = view @ taps[r]
    return np.clip(np.round(out), -32768, 32767).astype(np.int16)


def _zero_padded(x: np.ndarray, start: int, stop: int) -> np.ndarray:
    """x[start:stop] as float32, with zeros where the range runs past either end."""
    block = np.zeros(stop - start, dtype=np.float32)
    a, b = max(start, 0), min(stop, x.size)
    if b > a:
        block[a - start : b - start] = x[a:b]
    return block
