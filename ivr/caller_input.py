"""What a caller did, typed, for carrier edges that drive a call themselves (Asterisk): the keys pressed, a
recording ended, a dial's result, a hang-up. The engine's handlers read Twilio's form fields (the Twilio edge
hands them its webhooks' forms as they come); `as_form` is the one place that writes those names for the others.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CallerLine:
    """The call as its carrier knows it: its id (the call's sid in our rows), the caller's number, the number
    called."""

    call_sid: str
    caller: str = ""
    called: str = ""


@dataclass(frozen=True)
class RecordingDone:
    """A recording of the caller ended: its id at the carrier, its length, where the carrier serves it."""

    sid: str
    duration_s: int | None = None
    url: str = ""


@dataclass(frozen=True)
class DialResult:
    """A call to a person ended: `status` in Twilio's words (completed, busy, no-answer, failed, canceled)."""

    status: str
    duration_s: int | None = None


@dataclass(frozen=True)
class CallerDid:
    """What the caller did since the last decisions: `keys` pressed at a question (empty: none, None: no
    question), a recording, a dial's result; `hung_up` when the caller left meanwhile."""

    keys: str | None = None
    recording: RecordingDone | None = None
    dialled: DialResult | None = None
    hung_up: bool = False


def as_form(line: CallerLine, did: CallerDid | None = None) -> dict[str, str]:
    """The fields a Twilio webhook would carry for this, as the engine's handlers read them."""
    did = did or CallerDid()
    form = {"CallSid": line.call_sid, "From": line.caller, "To": line.called}
    if did.keys is not None:
        form["Digits"] = did.keys
    if did.recording is not None:
        form |= {"RecordingSid": did.recording.sid, "RecordingUrl": did.recording.url}
        if did.recording.duration_s is not None:
            form["RecordingDuration"] = str(did.recording.duration_s)
        if did.hung_up:
            form["Digits"] = "hangup"  # what Twilio's record action says of a caller who hung up mid-recording
    if did.dialled is not None:
        form["DialCallStatus"] = did.dialled.status
        if did.dialled.duration_s is not None:
            form["DialCallDuration"] = str(did.dialled.duration_s)
    return form
