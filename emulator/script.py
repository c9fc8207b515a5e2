"""What the caller does (CallerScript) and what happened on the call (CallReport)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from emulator.signing import Delivery


@dataclass
class CallerScript:
    """The caller's part: keys per <Gather> in order ("" = silent), audio said at each <Record>.

    `speak` is what the caller says at each <Gather> in order (None = nothing), over the prompt; it reaches the
    service only through a Media Stream open at that moment, and the caller then waits up to `wait_for_speech`
    real seconds for the service to redirect the call. `stream_keys` are pressed while connected to a
    bidirectional stream (<Connect><Stream>). `finish_key` is the key that ends a <Record> (when it is one of
    the Record's finishOnKey and `finish_with_hash` holds); `queue_keys` are pressed at the first <Gather> of
    a queue's wait document (one key per wait document, in order).
    """

    keys: list[str] = field(default_factory=list)
    say: Path | list[Path] | None = None
    hang_up_during_record: bool = False
    finish_with_hash: bool = True
    hang_up_when_done: bool = False
    wait_for_redirect: float = 0.0
    speak: list[Path | None] = field(default_factory=list)
    wait_for_speech: float = 10.0
    stream_keys: str = ""
    finish_key: str = "#"
    queue_keys: str = ""

    def spoken(self, index: int) -> Path | None:
        """The file said at the `index`-th <Gather>, if any."""
        said = self.speak[index] if index < len(self.speak) else None
        return Path(said) if said else None

    def clip(self, index: int) -> Path | None:
        """The file said at the `index`-th <Record> (one path is said every time; a list is used in turn)."""
        if self.say is None:
            return None
        if isinstance(self.say, (list, tuple)):
            return Path(self.say[index]) if index < len(self.say) else None
        return Path(self.say)


@dataclass
class CallReport:
    """The outcome of one emulated call."""

    call_sid: str
    heard: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    recorded: list[dict] = field(default_factory=list)
    dialled: list[str] = field(default_factory=list)
    enqueued: list[str] = field(default_factory=list)
    streams: list[dict] = field(default_factory=list)
    ended_by: str = ""
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    duration: int = 0
    requests: list[Delivery] = field(default_factory=list)
    timeline: list[dict] = field(default_factory=list)

    def sent(self, kind: str) -> list[Delivery]:
        """Every request (all attempts) of one kind: voice, gather, record, redirect, update, enqueue,
        enqueue-wait, dial, connect, recording-status, call-status or stream-status."""
        return [d for d in self.requests if d.kind == kind]

    def to_dict(self) -> dict:
        """JSON-friendly form of the whole report."""
        return {
            "call_sid": self.call_sid,
            "heard": list(self.heard),
            "keys": list(self.keys),
            "recorded": [dict(r) for r in self.recorded],
            "dialled": list(self.dialled),
            "enqueued": list(self.enqueued),
            "streams": [dict(s) for s in self.streams],
            "ended_by": self.ended_by,
            "errors": list(self.errors),
            "warnings": list(self.warnings),
            "duration": self.duration,
            "requests": [d.to_dict() for d in self.requests],
            "timeline": [dict(t) for t in self.timeline],
        }
