"""Media Streams seen by the emulator, and the plug-in point for actually streaming audio."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

import numpy as np


@dataclass
class StreamInfo:
    """One <Start><Stream> or <Connect><Stream> of a call."""

    sid: str
    call_sid: str
    account_sid: str
    url: str
    kind: str
    name: str | None = None
    track: str = "inbound_track"
    parameters: dict[str, str] = field(default_factory=dict)
    started_at: float = 0.0
    stopped_at: float | None = None

    def to_dict(self) -> dict:
        """What a call report lists for this stream."""
        return {
            "sid": self.sid,
            "url": self.url,
            "kind": self.kind,
            "name": self.name,
            "track": self.track,
            "parameters": dict(self.parameters),
            "started_at": self.started_at,
            "stopped_at": self.stopped_at,
        }


class MediaStreamer(Protocol):
    """Carries a call's audio to the service's WebSocket; the interpreter calls it at these points."""

    def open(self, stream: StreamInfo) -> None:
        """The stream starts (send `connected` and `start`)."""

    def send_audio(self, stream: StreamInfo, pcm: np.ndarray, at: float) -> None:
        """The caller speaks: 8 kHz 16-bit PCM starting at virtual second `at`."""

    def send_dtmf(self, stream: StreamInfo, digit: str, at: float) -> None:
        """The caller presses a key."""

    def hold(self, stream: StreamInfo, timeout: float) -> None:
        """For <Connect><Stream>: block until the service ends the stream or `timeout` real seconds pass."""

    def close(self, stream: StreamInfo) -> None:
        """The stream ends (send `stop`)."""


class NullStreamer:
    """Records nothing and sends nothing: the default until a WebSocket streamer is plugged in."""

    def open(self, stream: StreamInfo) -> None:
        """Nothing to open."""

    def send_audio(self, stream: StreamInfo, pcm: np.ndarray, at: float) -> None:
        """Audio is dropped."""

    def send_dtmf(self, stream: StreamInfo, digit: str, at: float) -> None:
        """Keys are dropped."""

    def hold(self, stream: StreamInfo, timeout: float) -> None:
        """Returns at once: the bidirectional stream ends immediately."""

    def close(self, stream: StreamInfo) -> None:
        """Nothing to close."""
