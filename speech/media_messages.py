"""Twilio Media Streams messages as small typed dataclasses, parsed strictly; imports nothing of the project.

Twilio → us: `connected`, `start`, `media`, `dtmf` (bidirectional streams only), `mark`, `stop`.
Us → Twilio (bidirectional streams only): `media`, `mark`, `clear`. `encode` writes any of them as JSON text,
so the emulator speaks the same protocol the service reads.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Callable
from dataclasses import astuple, dataclass, field
from typing import Any, Literal

MULAW = "audio/x-mulaw"
MULAW_RATE = 8000
FRAME_MS = 20  # Twilio sends 20 ms of audio (160 μ-law bytes) a media message
FRAME_BYTES = MULAW_RATE * FRAME_MS // 1000
_SID = {
    "stream": re.compile(r"^MZ[0-9a-fA-F]{32}$"),
    "call": re.compile(r"^CA[0-9a-fA-F]{32}$"),
    "account": re.compile(r"^AC[0-9a-fA-F]{32}$"),
}
_DIGITS = re.compile(r"^[0-9]+$")
DTMF_DIGITS = "0123456789*#"
TRACKS = ("inbound", "outbound")

MediaErrorCode = Literal[
    "not_json", "not_an_object", "unknown_event", "missing_field", "bad_field", "unsupported_media"
]


class MediaMessageError(ValueError):
    """A message that is not what the Media Streams protocol allows; `code` is stable, the text says what."""

    def __init__(self, code: MediaErrorCode, detail: str) -> None:
        super().__init__(f"{code}: {detail}")
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class MediaFormat:
    """The audio a stream carries: always 8 kHz mono μ-law on Twilio."""

    encoding: str = MULAW
    sample_rate: int = MULAW_RATE
    channels: int = 1


@dataclass(frozen=True)
class Connected:
    """First message on a new socket."""

    protocol: str = "Call"
    version: str = "1.0.0"


@dataclass(frozen=True)
class Start:
    """The stream's metadata; `custom_parameters` are the <Parameter> pairs of the <Stream> noun."""

    stream_sid: str
    account_sid: str
    call_sid: str
    tracks: tuple[str, ...] = ("inbound",)
    custom_parameters: dict[str, str] = field(default_factory=dict)
    media_format: MediaFormat = MediaFormat()
    sequence_number: int = 1


@dataclass(frozen=True)
class Media:
    """20 ms of μ-law audio; `timestamp_ms` counts from the start of the stream, `chunk` from 1."""

    stream_sid: str
    track: str
    chunk: int
    timestamp_ms: int
    payload: bytes
    sequence_number: int = 0


@dataclass(frozen=True)
class Dtmf:
    """A key the caller pressed (bidirectional streams only)."""

    stream_sid: str
    digit: str
    track: str = "inbound_track"
    sequence_number: int = 0


@dataclass(frozen=True)
class Mark:
    """Twilio → us: audio we sent up to this mark has played. Us → Twilio: please tell us when it has."""

    stream_sid: str
    name: str
    sequence_number: int = 0


@dataclass(frozen=True)
class Stop:
    """The stream ended (the call hung up, or <Stop><Stream> ran)."""

    stream_sid: str
    account_sid: str
    call_sid: str
    sequence_number: int = 0


@dataclass(frozen=True)
class Clear:
    """Us → Twilio: drop the audio we sent that has not played yet."""

    stream_sid: str


Inbound = Connected | Start | Media | Dtmf | Mark | Stop
Outbound = Media | Mark | Clear


# --- parsing -------------------------------------------------------------------------------------------


def _object(value: object, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise MediaMessageError("missing_field" if value is None else "bad_field", f"{where} must be an object")
    return value


def _text(obj: dict[str, Any], key: str, where: str, pattern: re.Pattern[str] | None = None) -> str:
    if key not in obj:
        raise MediaMessageError("missing_field", f"{where}.{key} is missing")
    value = obj[key]
    if not isinstance(value, str) or (pattern is not None and not pattern.match(value)):
        raise MediaMessageError("bad_field", f"{where}.{key} is {value!r}")
    return value


def _count(obj: dict[str, Any], key: str, where: str) -> int:
    """A non-negative integer that Twilio sends as a string of digits (an int is accepted too)."""
    if key not in obj:
        raise MediaMessageError("missing_field", f"{where}.{key} is missing")
    value = obj[key]
    if isinstance(value, bool) or not (isinstance(value, int) or (isinstance(value, str) and _DIGITS.match(value))):
        raise MediaMessageError("bad_field", f"{where}.{key} is {value!r}, not a count")
    number = int(value)
    if number < 0:
        raise MediaMessageError("bad_field", f"{where}.{key} is negative")
    return number


def _sequence(obj: dict[str, Any]) -> int:
    return _count(obj, "sequenceNumber", "message") if "sequenceNumber" in obj else 0


def _parse_start(msg: dict[str, Any]) -> Start:
    body = _object(msg.get("start"), "start")
    stream_sid = _text(body, "streamSid", "start", _SID["stream"])
    if "streamSid" in msg and msg["streamSid"] != stream_sid:
        raise MediaMessageError("bad_field", "streamSid differs from start.streamSid")
    tracks = body.get("tracks", ["inbound"])
    if not isinstance(tracks, list) or not tracks or any(t not in TRACKS for t in tracks):
        raise MediaMessageError("bad_field", f"start.tracks is {tracks!r}")
    params = body.get("customParameters", {}) or {}
    if not isinstance(params, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in params.items()):
        raise MediaMessageError("bad_field", "start.customParameters must map names to strings")
    fmt = _object(body.get("mediaFormat"), "start.mediaFormat")
    media_format = MediaFormat()
    if (fmt.get("encoding"), fmt.get("sampleRate"), fmt.get("channels")) != astuple(media_format):
        raise MediaMessageError("unsupported_media", f"expected 8 kHz mono {MULAW}, got {fmt}")
    return Start(
        stream_sid=stream_sid,
        account_sid=_text(body, "accountSid", "start", _SID["account"]),
        call_sid=_text(body, "callSid", "start", _SID["call"]),
        tracks=tuple(tracks),
        custom_parameters=dict(params),
        media_format=media_format,
        sequence_number=_sequence(msg),
    )


def _parse_media(msg: dict[str, Any]) -> Media:
    body = _object(msg.get("media"), "media")
    track = _text(body, "track", "media")
    if track not in TRACKS:
        raise MediaMessageError("bad_field", f"media.track is {track!r}")
    try:
        payload = base64.b64decode(_text(body, "payload", "media"), validate=True)
    except binascii.Error as exc:
        raise MediaMessageError("bad_field", f"media.payload is not base64: {exc}") from exc
    return Media(
        stream_sid=_text(msg, "streamSid", "message", _SID["stream"]),
        track=track,
        chunk=_count(body, "chunk", "media"),
        timestamp_ms=_count(body, "timestamp", "media"),
        payload=payload,
        sequence_number=_sequence(msg),
    )


def _parse_dtmf(msg: dict[str, Any]) -> Dtmf:
    body = _object(msg.get("dtmf"), "dtmf")
    digit = _text(body, "digit", "dtmf")
    if len(digit) != 1 or digit not in DTMF_DIGITS:
        raise MediaMessageError("bad_field", f"dtmf.digit is {digit!r}")
    return Dtmf(
        _text(msg, "streamSid", "message", _SID["stream"]),
        digit,
        str(body.get("track", "inbound_track")),
        _sequence(msg),
    )


def _parse_mark(msg: dict[str, Any]) -> Mark:
    body = _object(msg.get("mark"), "mark")
    return Mark(_text(msg, "streamSid", "message", _SID["stream"]), _text(body, "name", "mark"), _sequence(msg))


def _parse_stop(msg: dict[str, Any]) -> Stop:
    body = _object(msg.get("stop"), "stop")
    return Stop(
        stream_sid=_text(msg, "streamSid", "message", _SID["stream"]),
        account_sid=_text(body, "accountSid", "stop", _SID["account"]),
        call_sid=_text(body, "callSid", "stop", _SID["call"]),
        sequence_number=_sequence(msg),
    )


def _parse_connected(msg: dict[str, Any]) -> Connected:
    return Connected(_text(msg, "protocol", "connected"), _text(msg, "version", "connected"))


_PARSERS: dict[str, Callable[[dict[str, Any]], Inbound]] = {
    "connected": _parse_connected,
    "start": _parse_start,
    "media": _parse_media,
    "dtmf": _parse_dtmf,
    "mark": _parse_mark,
    "stop": _parse_stop,
}


def _load(raw: str | bytes) -> dict[str, Any]:
    try:
        msg = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MediaMessageError("not_json", str(exc)) from exc
    if not isinstance(msg, dict):
        raise MediaMessageError("not_an_object", f"a JSON {type(msg).__name__}")
    return msg


def parse_message(raw: str | bytes) -> Inbound:
    """One message from Twilio; raises MediaMessageError for anything the protocol does not allow."""
    msg = _load(raw)
    event = msg.get("event")
    if event not in _PARSERS:
        raise MediaMessageError("unknown_event", f"event {event!r}")
    return _PARSERS[event](msg)


def parse_outbound(raw: str | bytes) -> Outbound:
    """One message the service sends back on a bidirectional stream (the emulator reads these)."""
    msg = _load(raw)
    event = msg.get("event")
    sid = _text(msg, "streamSid", "message", _SID["stream"])
    if event == "media":
        body = _object(msg.get("media"), "media")
        try:
            payload = base64.b64decode(_text(body, "payload", "media"), validate=True)
        except binascii.Error as exc:
            raise MediaMessageError("bad_field", f"media.payload is not base64: {exc}") from exc
        return Media(sid, "outbound", 0, 0, payload)
    if event == "mark":
        return Mark(sid, _text(_object(msg.get("mark"), "mark"), "name", "mark"))
    if event == "clear":
        return Clear(sid)
    raise MediaMessageError("unknown_event", f"event {event!r} (a service sends media, mark or clear)")


# --- writing -------------------------------------------------------------------------------------------


def encode(message: Inbound | Clear, *, outbound: bool = False) -> str:
    """JSON text of a message as it travels on the socket; `outbound=True` for the service → Twilio forms."""
    if isinstance(message, Connected):
        body: dict[str, Any] = {"event": "connected", "protocol": message.protocol, "version": message.version}
    elif isinstance(message, Start):
        body = {
            "event": "start",
            "sequenceNumber": str(message.sequence_number),
            "start": {
                "accountSid": message.account_sid,
                "streamSid": message.stream_sid,
                "callSid": message.call_sid,
                "tracks": list(message.tracks),
                "customParameters": dict(message.custom_parameters),
                "mediaFormat": {
                    "encoding": message.media_format.encoding,
                    "sampleRate": message.media_format.sample_rate,
                    "channels": message.media_format.channels,
                },
            },
            "streamSid": message.stream_sid,
        }
    elif isinstance(message, Media):
        payload = base64.b64encode(message.payload).decode("ascii")
        if outbound:
            return json.dumps({"event": "media", "streamSid": message.stream_sid, "media": {"payload": payload}})
        body = {
            "event": "media",
            "sequenceNumber": str(message.sequence_number),
            "media": {
                "track": message.track,
                "chunk": str(message.chunk),
                "timestamp": str(message.timestamp_ms),
                "payload": payload,
            },
            "streamSid": message.stream_sid,
        }
    elif isinstance(message, Dtmf):
        body = {
            "event": "dtmf",
            "streamSid": message.stream_sid,
            "sequenceNumber": str(message.sequence_number),
            "dtmf": {"track": message.track, "digit": message.digit},
        }
    elif isinstance(message, Mark):
        body = {"event": "mark", "streamSid": message.stream_sid, "mark": {"name": message.name}}
        if not outbound:
            body["sequenceNumber"] = str(message.sequence_number)
    elif isinstance(message, Stop):
        body = {
            "event": "stop",
            "sequenceNumber": str(message.sequence_number),
            "streamSid": message.stream_sid,
            "stop": {"accountSid": message.account_sid, "callSid": message.call_sid},
        }
    elif isinstance(message, Clear):
        body = {"event": "clear", "streamSid": message.stream_sid}
    else:  # pragma: no cover - the union is closed
        raise TypeError(f"not a Media Streams message: {message!r}")
    return json.dumps(body, ensure_ascii=False)
