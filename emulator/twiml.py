"""TwiML voice documents parsed into small dataclasses, with Twilio's documented defaults filled in."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from dataclasses import dataclass, field


class TwimlError(ValueError):
    """The body is not a TwiML document (Twilio: 12100 Document parse failure)."""


@dataclass
class Say:
    """Text-to-speech; `loop` plays it that many times (0 = until interrupted, heard once here)."""

    text: str
    voice: str | None = None
    language: str | None = None
    loop: int = 1


@dataclass
class Play:
    """An audio file played to the caller."""

    url: str
    loop: int = 1
    digits: str | None = None


@dataclass
class Pause:
    """Silence of `length` seconds."""

    length: float = 1.0


@dataclass
class Gather:
    """Collects DTMF; nested Say/Play/Pause are heard while it waits."""

    action: str | None = None
    method: str = "POST"
    input: str = "dtmf"
    num_digits: int | None = None
    timeout: float = 5.0
    finish_on_key: str = "#"
    action_on_empty_result: bool = False
    children: list[Say | Play | Pause] = field(default_factory=list)


@dataclass
class Record:
    """Records the caller's voice."""

    action: str | None = None
    method: str = "POST"
    max_length: float = 3600.0
    finish_on_key: str = "1234567890*#"
    play_beep: bool = True
    recording_status_callback: str | None = None
    recording_status_callback_method: str = "POST"
    recording_status_callback_event: list[str] = field(default_factory=lambda: ["completed"])
    timeout: float = 5.0
    trim: str = "trim-silence"
    transcribe: bool = False


@dataclass
class Redirect:
    """Continue with the TwiML at `url`."""

    url: str
    method: str = "POST"


@dataclass
class Hangup:
    """End the call."""


@dataclass
class Reject:
    """Refuse the call (busy or rejected)."""

    reason: str = "rejected"


@dataclass
class Enqueue:
    """Put the caller in a named queue, playing `wait_url` while waiting."""

    queue: str
    action: str | None = None
    method: str = "POST"
    wait_url: str | None = None
    wait_url_method: str = "POST"
    workflow_sid: str | None = None


@dataclass
class Leave:
    """Leave the queue (inside a wait document)."""


@dataclass
class DialTarget:
    """One noun of a Dial: kind is number, client, queue, sip or conference."""

    kind: str
    value: str
    url: str | None = None
    method: str = "POST"

    @property
    def label(self) -> str:
        """How the dialled party is listed in a call report (`+86…`, `client:alice`, `queue:lawyers`)."""
        return self.value if self.kind == "number" else f"{self.kind}:{self.value}"


@dataclass
class Dial:
    """Connect the caller to another party."""

    targets: list[DialTarget] = field(default_factory=list)
    action: str | None = None
    method: str = "POST"
    timeout: float = 30.0
    time_limit: float = 14400.0
    caller_id: str | None = None
    record: str = "do-not-record"


@dataclass
class Stream:
    """A Media Stream noun; `parameters` are its nested <Parameter name value> pairs."""

    url: str | None = None
    name: str | None = None
    track: str = "inbound_track"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    parameters: dict[str, str] = field(default_factory=dict)


@dataclass
class CallRecording:
    """A <Recording> noun of <Start>: record the whole call from now on, in the background."""

    channels: str = "mono"
    track: str = "both"
    trim: str = "do-not-trim"
    status_callback: str | None = None
    status_callback_method: str = "POST"
    status_callback_events: list[str] = field(default_factory=lambda: ["completed"])


@dataclass
class Start:
    """Start forking media (unidirectional streams) or recording the call; the call continues at once."""

    streams: list[Stream] = field(default_factory=list)
    recordings: list[CallRecording] = field(default_factory=list)


@dataclass
class Connect:
    """Connect the call to a bidirectional stream; the call waits there until the stream ends."""

    streams: list[Stream] = field(default_factory=list)
    action: str | None = None
    method: str = "POST"


@dataclass
class Stop:
    """Stop named streams."""

    streams: list[Stream] = field(default_factory=list)


@dataclass
class Unknown:
    """A verb the emulator does not know; reported and skipped."""

    tag: str


Verb = (
    Say
    | Play
    | Pause
    | Gather
    | Record
    | Redirect
    | Hangup
    | Reject
    | Enqueue
    | Leave
    | Dial
    | Start
    | Connect
    | Stop
    | Unknown
)


def _tag(element: ET.Element) -> str:
    return element.tag.rsplit("}", 1)[-1]


def _text(element: ET.Element) -> str:
    return (element.text or "").strip()


def _bool(value: str | None, default: bool) -> bool:
    if value is None:
        return default
    return value.strip().lower() == "true"


def _number(value: str | None, default: float) -> float:
    try:
        return float(value) if value not in (None, "") else default
    except ValueError:
        return default


def _method(value: str | None) -> str:
    return (value or "POST").strip().upper() or "POST"


def _say(el: ET.Element) -> Say:
    return Say(_text(el), el.get("voice"), el.get("language"), int(_number(el.get("loop"), 1)))


def _play(el: ET.Element) -> Play:
    return Play(_text(el), int(_number(el.get("loop"), 1)), el.get("digits"))


def _pause(el: ET.Element) -> Pause:
    return Pause(_number(el.get("length"), 1.0))


def _gather(el: ET.Element) -> Gather:
    children: list[Say | Play | Pause] = []
    for child in el:
        kind = _tag(child)
        if kind == "Say":
            children.append(_say(child))
        elif kind == "Play":
            children.append(_play(child))
        elif kind == "Pause":
            children.append(_pause(child))
    num = el.get("numDigits")
    return Gather(
        action=el.get("action"),
        method=_method(el.get("method")),
        input=(el.get("input") or "dtmf").strip(),
        num_digits=(int(_number(num, 0)) or None) if num else None,
        timeout=_number(el.get("timeout"), 5.0),
        finish_on_key=el.get("finishOnKey", "#"),
        action_on_empty_result=_bool(el.get("actionOnEmptyResult"), False),
        children=children,
    )


def _record(el: ET.Element) -> Record:
    events = (el.get("recordingStatusCallbackEvent") or "completed").replace(",", " ").split()
    max_length = _number(el.get("maxLength"), 3600.0)
    return Record(
        action=el.get("action"),
        method=_method(el.get("method")),
        max_length=max_length if max_length > 0 else 3600.0,
        finish_on_key=el.get("finishOnKey", "1234567890*#"),
        play_beep=_bool(el.get("playBeep"), True),
        recording_status_callback=el.get("recordingStatusCallback"),
        recording_status_callback_method=_method(el.get("recordingStatusCallbackMethod")),
        recording_status_callback_event=events,
        timeout=_number(el.get("timeout"), 5.0),
        trim=el.get("trim") or "trim-silence",
        transcribe=_bool(el.get("transcribe"), False),
    )


def _dial(el: ET.Element) -> Dial:
    targets: list[DialTarget] = []
    if _text(el):
        targets.append(DialTarget("number", _text(el)))
    for child in el:
        kind = _tag(child).lower()
        if kind == "client":
            identity = child.find("{*}Identity")
            if identity is None:
                identity = child.find("Identity")
            value = _text(identity) if identity is not None else _text(child)
        else:
            value = _text(child)
        if kind in {"number", "client", "queue", "sip", "conference"}:
            targets.append(DialTarget(kind, value, child.get("url"), _method(child.get("method"))))
        tail = (child.tail or "").strip()
        if tail:
            targets.append(DialTarget("number", tail))
    return Dial(
        targets=targets,
        action=el.get("action"),
        method=_method(el.get("method")),
        timeout=_number(el.get("timeout"), 30.0),
        time_limit=_number(el.get("timeLimit"), 14400.0),
        caller_id=el.get("callerId"),
        record=el.get("record") or "do-not-record",
    )


def _streams(el: ET.Element) -> list[Stream]:
    streams = []
    for child in el:
        if _tag(child) != "Stream":
            continue
        params = {p.get("name", ""): p.get("value", "") for p in child if _tag(p) == "Parameter" and p.get("name")}
        streams.append(
            Stream(
                url=child.get("url"),
                name=child.get("name"),
                track=child.get("track") or "inbound_track",
                status_callback=child.get("statusCallback"),
                status_callback_method=_method(child.get("statusCallbackMethod")),
                parameters=params,
            )
        )
    return streams


def _call_recordings(el: ET.Element) -> list[CallRecording]:
    return [
        CallRecording(
            channels=child.get("channels") or "mono",
            track=child.get("track") or "both",
            trim=child.get("trim") or "do-not-trim",
            status_callback=child.get("recordingStatusCallback"),
            status_callback_method=_method(child.get("recordingStatusCallbackMethod")),
            status_callback_events=(child.get("recordingStatusCallbackEvent") or "completed").split(),
        )
        for child in el
        if _tag(child) == "Recording"
    ]


def _verb(el: ET.Element) -> Verb:
    kind = _tag(el)
    if kind == "Say":
        return _say(el)
    if kind == "Play":
        return _play(el)
    if kind == "Pause":
        return _pause(el)
    if kind == "Gather":
        return _gather(el)
    if kind == "Record":
        return _record(el)
    if kind == "Redirect":
        return Redirect(_text(el), _method(el.get("method")))
    if kind == "Hangup":
        return Hangup()
    if kind == "Reject":
        return Reject(el.get("reason") or "rejected")
    if kind == "Enqueue":
        return Enqueue(
            queue=_text(el),
            action=el.get("action"),
            method=_method(el.get("method")),
            wait_url=el.get("waitUrl"),
            wait_url_method=_method(el.get("waitUrlMethod")),
            workflow_sid=el.get("workflowSid"),
        )
    if kind == "Leave":
        return Leave()
    if kind == "Dial":
        return _dial(el)
    if kind == "Start":
        return Start(_streams(el), _call_recordings(el))
    if kind == "Connect":
        return Connect(_streams(el), el.get("action"), _method(el.get("method")))
    if kind == "Stop":
        return Stop(_streams(el))
    return Unknown(kind)


def parse_twiml(body: str | bytes) -> list[Verb]:
    """Parse a TwiML voice document into its verbs; raises TwimlError for anything that is not one."""
    raw = body.encode("utf-8") if isinstance(body, str) else body
    if not raw.strip():
        raise TwimlError("empty document")
    try:
        root = ET.fromstring(raw.strip())
    except ET.ParseError as exc:
        raise TwimlError(f"not XML: {exc}") from exc
    if _tag(root) != "Response":
        raise TwimlError(f"root element is <{_tag(root)}>, not <Response>")
    return [_verb(child) for child in root]
