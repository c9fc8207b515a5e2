"""The telephone path in numpy: 8 kHz G.711 μ-law, as Twilio carries a call.

No dependence on the standard library's `audioop` (gone in Python 3.13). Used to decode Media Streams
frames, and by the emulator and benchmarks to put wideband speech through what a phone line does to it.
"""

from __future__ import annotations

import numpy as np

TELEPHONE_RATE = 8000
_BIAS = 0x84
_CLIP = 32635


def ulaw_encode(pcm: np.ndarray) -> bytes:
    """16-bit linear PCM → G.711 μ-law bytes (one byte a sample)."""
    x = np.asarray(pcm, dtype=np.int32)
    sign = np.where(x < 0, 0x80, 0)
    magnitude = np.minimum(np.abs(x), _CLIP) + _BIAS
    exponent = np.zeros_like(magnitude)
    for e in range(1, 8):
        exponent[magnitude >= (0x80 << e)] = e
    mantissa = (magnitude >> (exponent + 3)) & 0x0F
    codes: bytes = (~(sign | (exponent << 4) | mantissa) & 0xFF).astype(np.uint8).tobytes()  # np.where gives Any
    return codes


def ulaw_decode(codes: bytes) -> np.ndarray:
    """G.711 μ-law bytes → 16-bit linear PCM."""
    u = ~np.frombuffer(codes, dtype=np.uint8).astype(np.int32) & 0xFF
    exponent = (u >> 4) & 0x07
    magnitude = ((((u & 0x0F) << 3) + _BIAS) << exponent) - _BIAS
    return np.where(u & 0x80, -magnitude, magnitude).astype(np.int16)


def _lowpass(cutoff_hz: float, rate: int, taps: int = 255) -> np.ndarray:
    """Kaiser-windowed sinc low-pass; -6 dB at `cutoff_hz`."""
    fc = cutoff_hz / rate
    n = np.arange(taps) - (taps - 1) / 2
    h = 2 * fc * np.sinc(2 * fc * n) * np.kaiser(taps, 8.0)
    taps_out: np.ndarray = h / h.sum()  # numpy's stubs type the division of these arrays as Any
    return taps_out


def downsample_to_8k(pcm: np.ndarray, rate: int) -> np.ndarray:
    """Band-limit and decimate to 8 kHz (16, 24, 32 or 48 kHz in, an integer factor)."""
    if rate == TELEPHONE_RATE:
        return np.asarray(pcm, dtype=np.int16)
    factor, remainder = divmod(rate, TELEPHONE_RATE)
    if remainder:
        raise ValueError(f"cannot take {rate} Hz audio to 8 kHz by an integer factor")
    # Cut at 3.8 kHz, close to what a codec keeps: the small Vosk models lose accuracy fast below that.
    filtered = np.convolve(np.asarray(pcm, dtype=np.float64), _lowpass(3800.0, rate), mode="same")
    return np.clip(np.round(filtered[::factor]), -32768, 32767).astype(np.int16)


def telephone_round_trip(pcm: np.ndarray, rate: int) -> np.ndarray:
    """What a caller's voice sounds like after a phone line: 8 kHz, through μ-law and back."""
    return ulaw_decode(ulaw_encode(downsample_to_8k(pcm, rate)))
