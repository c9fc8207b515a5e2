"""Media Streams as Twilio sends them: a signed WebSocket per stream, 20 ms μ-law frames at the pace of speech.

While a stream is open it always carries audio, as a phone line does: the caller's words when they speak, silence
frames otherwise, so the service's recognizer hears the pauses that end an utterance. `speed` > 1 sends faster
than real time (tests); DTMF goes out on bidirectional (<Connect>) streams only, as on Twilio.
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from emulator.signing import SIGNATURE_HEADER, USER_AGENT, sign
from emulator.streams import StreamInfo
from speech.media_messages import (
    FRAME_BYTES,
    FRAME_MS,
    Clear,
    Connected,
    Dtmf,
    Inbound,
    Mark,
    Media,
    MediaMessageError,
    Start,
    Stop,
    encode,
    parse_outbound,
)
from speech.streaming import pcm_to_mulaw_frames

log = logging.getLogger(__name__)
SILENCE_FRAME = b"\xff" * FRAME_BYTES


@dataclass
class _Speech:
    frames: list[bytes]
    done: threading.Event = field(default_factory=threading.Event)
    sent: int = 0


class _Stream:
    """One open stream: a sender thread paced by the clock, and a reader of what the service sends back."""

    def __init__(self, info: StreamInfo, connection, speed: float, silence: bool) -> None:
        self.info = info
        self.connection = connection
        self.period = FRAME_MS / 1000 / speed
        self.silence = silence
        self.inbox: queue.Queue = queue.Queue()
        self.closed_by_service = threading.Event()
        self.stopping = threading.Event()
        self.sequence = 0
        self.chunk = 0
        self.received: list[object] = []
        self.error: str | None = None
        self.speech_frames = 0
        self.sender = threading.Thread(target=self._send_loop, name=f"stream-{info.sid[:8]}", daemon=True)
        self.reader = threading.Thread(target=self._read_loop, name=f"stream-read-{info.sid[:8]}", daemon=True)

    def _send(self, message: Inbound | Clear, outbound: bool = False) -> None:
        self.connection.send(encode(message, outbound=outbound))

    def _next(self) -> int:
        self.sequence += 1
        return self.sequence

    def start(self) -> None:
        self._send(Connected())
        self._send(
            Start(
                self.info.sid,
                self.info.account_sid,
                self.info.call_sid,
                tuple(t for t in ("inbound", "outbound") if self.info.track in (f"{t}_track", "both_tracks")),
                dict(self.info.parameters),
                sequence_number=self._next(),
            )
        )
        self.sender.start()
        self.reader.start()

    def _send_loop(self) -> None:
        speech: _Speech | None = None
        t0 = time.monotonic()
        n = 0
        try:
            while not self.closed_by_service.is_set():
                while speech is None or speech.sent >= len(speech.frames):
                    if speech is not None:
                        speech.done.set()
                        speech = None
                    try:
                        item = self.inbox.get_nowait()
                    except queue.Empty:
                        break
                    if isinstance(item, _Speech):
                        speech = item
                    else:  # a key or a mark echo: sent between two frames, numbered in order
                        self._send(dataclasses.replace(item, sequence_number=self._next()))
                if speech is None and self.stopping.is_set():
                    break
                if speech is not None:
                    frame = speech.frames[speech.sent]
                    speech.sent += 1
                    self.speech_frames += 1
                elif self.silence:
                    frame = SILENCE_FRAME
                else:
                    frame = None
                if frame is not None:
                    self.chunk += 1
                    self._send(
                        Media(self.info.sid, "inbound", self.chunk, (self.chunk - 1) * FRAME_MS, frame, self._next())
                    )
                n += 1
                delay = t0 + n * self.period - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            if not self.closed_by_service.is_set():
                self._send(Stop(self.info.sid, self.info.account_sid, self.info.call_sid, self._next()))
        except Exception as exc:  # the service closed the socket, or it broke
            self.error = self.error or f"stream {self.info.sid}: {type(exc).__name__}: {exc}"
        finally:
            if speech is not None:
                speech.done.set()
            while True:  # wake whoever waits for speech that can no longer be sent
                try:
                    item = self.inbox.get_nowait()
                except queue.Empty:
                    break
                if isinstance(item, _Speech):
                    item.done.set()

    def _read_loop(self) -> None:
        try:
            for raw in self.connection:
                try:
                    message = parse_outbound(raw)
                except MediaMessageError as exc:
                    self.error = f"stream {self.info.sid}: the service sent {exc}"
                    continue
                self.received.append(message)
                if isinstance(message, Mark):  # all our audio "played" at once: the mark comes back
                    self.inbox.put(Mark(self.info.sid, message.name))
        except Exception:
            pass
        finally:
            self.closed_by_service.set()

    def close(self, timeout: float) -> None:
        self.stopping.set()
        self.sender.join(timeout)
        with contextlib.suppress(Exception):
            self.connection.close()
        self.reader.join(2.0)


class WebSocketStreamer:
    """The emulator's MediaStreamer that really streams: one signed WebSocket per <Stream>."""

    def __init__(
        self, auth_token: str, *, speed: float = 1.0, silence: bool = True, connect_timeout: float = 5.0
    ) -> None:
        if speed <= 0:
            raise ValueError("speed must be > 0 (1 = real time)")
        self.auth_token = auth_token
        self.speed = speed
        self.silence = silence
        self.connect_timeout = connect_timeout
        self.errors: list[str] = []
        self._streams: dict[str, _Stream] = {}
        self._lock = threading.Lock()

    def open(self, stream: StreamInfo) -> None:
        """Connect (signed as Twilio signs it), send `connected` and `start`, then frames until closed."""
        from websockets.sync.client import connect

        headers = {SIGNATURE_HEADER: sign(self.auth_token, stream.url, {}), "User-Agent": USER_AGENT}
        options: dict[str, Any] = {  # keyword arguments of websockets' connect(), whichever version is installed
            "additional_headers": headers,
            "open_timeout": self.connect_timeout,
            "compression": None,
            "proxy": None,
            "user_agent_header": None,
        }
        try:
            try:
                connection = connect(stream.url, legacy=True, **options)  # a plain connection, kept open
            except TypeError:  # websockets before 16 has no `legacy` (and always connects directly)
                connection = connect(stream.url, **options)
        except Exception as exc:
            self.errors.append(f"stream {stream.url}: cannot connect: {type(exc).__name__}: {exc}")
            return
        live = _Stream(stream, connection, self.speed, self.silence)
        try:
            live.start()
        except Exception as exc:
            self.errors.append(f"stream {stream.url}: {type(exc).__name__}: {exc}")
            connection.close()
            return
        with self._lock:
            self._streams[stream.sid] = live

    def _get(self, stream: StreamInfo) -> _Stream | None:
        with self._lock:
            return self._streams.get(stream.sid)

    def send_audio(self, stream: StreamInfo, pcm: np.ndarray, at: float) -> None:
        """Queue the caller's words (8 kHz PCM) and return once they have been sent, at the stream's pace."""
        live = self._get(stream)
        if live is None:
            return
        speech = _Speech(pcm_to_mulaw_frames(pcm))
        live.inbox.put(speech)
        speech.done.wait(len(speech.frames) * live.period + 30.0)

    def send_dtmf(self, stream: StreamInfo, digit: str, at: float) -> None:
        """A key, on bidirectional streams only (Twilio sends no dtmf on <Start><Stream>)."""
        live = self._get(stream)
        if live is not None and stream.kind == "connect":
            live.inbox.put(Dtmf(stream.sid, digit, sequence_number=0))

    def hold(self, stream: StreamInfo, timeout: float) -> None:
        """<Connect><Stream>: wait until the service ends the stream (closes the socket) or `timeout` passes."""
        live = self._get(stream)
        if live is not None:
            live.closed_by_service.wait(timeout)

    def close(self, stream: StreamInfo) -> None:
        """Send `stop` and close the socket."""
        with self._lock:
            live = self._streams.pop(stream.sid, None)
        if live is None:
            return
        refused = live.closed_by_service.is_set() and not live.stopping.is_set()
        live.close(timeout=10.0)
        code = getattr(live.connection, "close_code", None)
        if refused and code not in (None, 1000, 1005):
            self.errors.append(f"stream {stream.url}: the service closed it (code {code})")
        elif live.error and not refused:
            self.errors.append(live.error)

    def received(self, stream_sid: str) -> list[object]:
        """What the service sent back on a stream (bidirectional streams), while it is open."""
        live = self._streams.get(stream_sid)
        return list(live.received) if live else []
