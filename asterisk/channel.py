"""One caller's channel in our Stasis application: play prompts, collect keys, record, hang up, over ARI.

The edge's event loop hands this object the events of its channel (`deliver`); the call's own thread waits
on them. Every id we give Asterisk (playbacks, recordings) is derived from the channel's id and a step name,
so a repeated request after a lost answer names the same thing.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import TypeVar

from asterisk.ari import (
    AriClient,
    AriConflict,
    AriError,
    AriNotFound,
    Channel,
    ChannelDestroyed,
    ChannelDtmfReceived,
    ChannelHangupRequest,
    Event,
    PlaybackFinished,
    RecordingFailed,
    RecordingFinished,
    StasisEnd,
    StasisStart,
)

T = TypeVar("T")
log = logging.getLogger(__name__)


_ABANDON = Event("Abandon", "", {})  # our own marker in a call's queue: the service is stopping


def _gone(channel_id: str) -> Channel:
    return Channel(channel_id, "", "Down", "", "")


class CallerHungUp(Exception):
    """The caller hung up (or the channel left our application): the call's steps stop here."""


class EdgeStopped(Exception):
    """The service is stopping: the call's steps stop here and its channel is left to the next start."""


@dataclass(frozen=True)
class PbxMedia:
    """The folder of audio Asterisk plays for us, as the service sees it (`local_dir`) and as Asterisk sees it
    (`dir_on_pbx`: another root when Asterisk runs in a container or chroot)."""

    local_dir: Path
    dir_on_pbx: str

    def uri(self, path: Path) -> str:
        """The ARI media URI of a WAV file in the folder (`sound:` takes the path without its extension)."""
        relative = Path(path).resolve().relative_to(self.local_dir.resolve())
        return "sound:" + str(PurePosixPath(self.dir_on_pbx) / relative.with_suffix(""))


# The argument a snoop channel of ours enters the application with (the whole-call recording's listener): it is
# no caller, and the edge serves it no steps.
SNOOP_ARG = "hotline-call-recording"
SNOOP_SUFFIX = "-snoop"
# The argument a person's phone we rang enters the application with when answered, and the mark in its channel id
# (`<caller's channel>-dial-<step>`): the edge hands its events to the caller's call.
DIAL_ARG = "hotline-dial"
DIAL_MARK = "-dial-"

# Q.850 causes of a call to a person that was not answered, in Twilio's DialCallStatus words; any other is "failed".
_NOT_ANSWERED = {16: "no-answer", 17: "busy", 18: "no-answer", 19: "no-answer", 21: "busy"}


def caller_of(channel_id: str) -> str:
    """The caller's channel a channel of ours belongs to (a person's phone we rang), or the channel itself."""
    return channel_id.split(DIAL_MARK, 1)[0]


@dataclass(frozen=True)
class Dialled:
    """How a call to a person ended, as Twilio's `<Dial>` says it: `status` completed (they answered and the two
    talked), no-answer, busy or failed; `duration_s` of the conversation."""

    status: str
    duration_s: int | None = None
    caller_left: bool = False  # the caller hung up on the person (the call is over; Twilio still says completed)


@dataclass(frozen=True)
class Recorded:
    """A finished recording of the caller: Asterisk's name for it, how it ended, its length if known, and the
    finish key that ended it."""

    name: str
    ended_by: str  # "key" (a finish key), "max_length", "silence" or "hangup"
    duration_s: int | None
    key: str | None = None


class CallChannel:
    """The hotline's side of one call (an ARI channel in our application), driven step by step."""

    def __init__(self, client: AriClient, channel_id: str, media: PbxMedia) -> None:
        self.client = client
        self.id = channel_id
        self.media = media
        self.hung_up = False
        self._events: queue.Queue[Event] = queue.Queue()
        self._keys: list[str] = []  # keys pressed and not yet taken by a step (type-ahead)
        self._playing: str | None = None  # the playback a step waits for
        self._recording: str | None = None  # the recording a step waits for
        self._leg: str | None = None  # the person's phone being rung or talked to

    def deliver(self, event: Event) -> None:
        """An event about this channel, from the edge's event loop."""
        self._events.put(event)

    def resync(self) -> None:
        """After the event stream was down: ask Asterisk how things stand, since events were lost. A channel
        that is gone hung up; a playback or recording that is no longer running finished."""
        if self.client.channel(self.id) is None:
            self.deliver(StasisEnd("StasisEnd", self.client.app, {"channel": {"id": self.id}}, _gone(self.id)))
            return
        playing, recording = self._playing, self._recording
        if playing and not self.client.playback_running(playing):
            self.deliver(
                PlaybackFinished("PlaybackFinished", self.client.app, {}, playing, "", f"channel:{self.id}", "done")
            )
        leg = self._leg
        if leg:  # the person answered or hung up meanwhile
            channel = self.client.channel(leg)
            if channel is None:
                self.deliver(
                    ChannelDestroyed("ChannelDestroyed", self.client.app, {"channel": {"id": leg}}, _gone(leg), 16, "")
                )
            elif channel.state == "Up":
                self.deliver(
                    StasisStart("StasisStart", self.client.app, {"channel": {"id": leg}}, channel, (DIAL_ARG,))
                )
        if recording and not self.client.recording_running(recording):
            self.deliver(
                RecordingFinished(
                    "RecordingFinished", self.client.app, {}, recording, f"channel:{self.id}", "done", None, ""
                )
            )

    def abandon(self) -> None:
        """Stop the call's steps where they are, without touching the channel (the service is stopping)."""
        self._events.put(_ABANDON)

    def _next_event(self, timeout_s: float) -> Event | None:
        try:
            event = self._events.get(timeout=max(0.0, timeout_s))
        except queue.Empty:
            return None
        if event is _ABANDON:
            raise EdgeStopped(self.id)
        if isinstance(event, StasisEnd | ChannelDestroyed | ChannelHangupRequest) and event.channel_id == self.id:
            self.hung_up = True
            raise CallerHungUp(self.id)
        if isinstance(event, ChannelDtmfReceived):
            self._keys.append(event.digit)
        return event

    def _call(self, action: Callable[..., T], *args: object, **kwargs: object) -> T:
        """An ARI request on this channel; a channel that is gone means the caller hung up."""
        if self.hung_up:
            raise CallerHungUp(self.id)
        try:
            return action(*args, **kwargs)
        except AriNotFound as exc:
            if self.client.channel(self.id) is None:
                self.hung_up = True
                raise CallerHungUp(self.id) from exc
            raise

    def answer(self) -> None:
        """Answer the call."""
        self._call(self.client.answer, self.id)

    def play(self, files: list[Path], *, step: str, stop_on_key: bool = False) -> str | None:
        """Play audio files one after another and wait until they end; with `stop_on_key` a key pressed
        meanwhile stops them (a caller who knows the menu need not hear it out), and is returned."""
        if not files:
            return None
        playback_id = f"{self.id}-{step}"
        media = [self.media.uri(path) for path in files]
        self._playing = playback_id
        try:
            self._call(self.client.play, self.id, media, playback_id=playback_id)
        except AriConflict:
            pass  # already playing: asked again after a lost answer
        try:
            while True:
                if stop_on_key and self._keys:
                    self.client.stop_playback(playback_id)
                    return self._keys[0]
                event = self._next_event(3600)
                if isinstance(event, PlaybackFinished) and event.playback_id == playback_id:
                    return self._keys[0] if stop_on_key and self._keys else None
        finally:
            self._playing = None

    def collect_key(self, timeout_s: float) -> str | None:
        """The next key the caller presses (one already pressed counts), or None after `timeout_s`."""
        deadline = time.monotonic() + timeout_s
        while not self._keys:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            self._next_event(left)
        return self._keys.pop(0)

    def collect_keys(self, timeout_s: float, *, count: int | None, finish_on_key: str | None) -> str:
        """Keys up to `count` of them, or up to a key of `finish_on_key` (not returned), each within `timeout_s`
        of the one before (as Twilio's `<Gather>` counts its timeout); what was typed when the time ran out."""
        typed = ""
        while count is None or len(typed) < count:
            key = self.collect_key(timeout_s)
            if key is None:
                break
            if finish_on_key and key in finish_on_key:
                break
            typed += key
        return typed

    def pause(self, seconds: float) -> None:
        """Wait `seconds` on the line (keys pressed meanwhile are kept; a hang-up ends the wait)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            self._next_event(left)

    def start_call_recording(self, name: str) -> str:
        """Record the whole call, both ways (what the caller says and hears), from now until the call ends: on a
        snoop channel of ours (a recording on the caller's own channel would stop at the first prompt).
        Returns the recording's name; a repeat after a lost answer names the same one."""
        snoop_id = self.id + SNOOP_SUFFIX
        snoop = {"app": self.client.app, "appArgs": SNOOP_ARG, "spy": "both", "snoopId": snoop_id}
        deadline = time.monotonic() + 10
        snooping = False
        while True:  # the snoop channel takes a moment to enter the application (longer while events are down)
            try:
                if not snooping:  # once: asking again for a snoop id that exists is refused with a 500
                    with contextlib.suppress(AriConflict):  # the snoop is there already
                        self._call(self.client.request, "POST", f"/channels/{self.id}/snoop", params=snoop)
                    snooping = True
                self.client.record(snoop_id, name)
                return name
            except (AriConflict, AriNotFound):
                if self.client.recording_running(name):
                    return name  # asked again after a lost answer: it runs
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def record(self, *, step: str, max_length_s: int, silence_s: int = 0, finish_on_key: str = "#") -> Recorded:
        """Record what the caller says until a key of `finish_on_key`, `max_length_s`, `silence_s` of silence, or
        the caller hanging up (the recording is kept then too). Asterisk ends a recording on one key or on any:
        with several finish keys, any key ends it."""
        name = f"{self.id}-{step}"
        self._keys.clear()
        self._recording = name
        try:
            self._call(
                self.client.record,
                self.id,
                name,
                max_duration_s=max_length_s,
                max_silence_s=silence_s,
                terminate_on=(finish_on_key if len(finish_on_key) <= 1 else "any") or "none",
            )
        except AriConflict:
            pass  # a recording of that name is already running: asked again after a lost answer
        try:
            while True:
                event = self._next_event(3600)
                if isinstance(event, RecordingFinished | RecordingFailed) and event.name == name:
                    if isinstance(event, RecordingFailed):
                        raise RuntimeError(f"Asterisk could not record the caller: {event.cause or event.state}")
                    pressed = next((k for k in self._keys if k in finish_on_key), None) if finish_on_key else None
                    if len(finish_on_key) > 1 and pressed is None and self._keys:
                        pressed = self._keys[0]  # "any": another key ended it
                    if pressed is not None:
                        ended_by = "key"
                    elif silence_s and event.duration is not None and event.duration < max_length_s - 1:
                        ended_by = "silence"
                    else:
                        ended_by = "max_length"
                    self._keys.clear()
                    return Recorded(name, ended_by, event.duration, pressed)
        except CallerHungUp:
            self.client.stop_recording(name)  # keep what the caller said before hanging up
            return Recorded(name, "hangup", None)
        finally:
            self._recording = None

    def dial(self, endpoint: str, *, step: str, timeout_s: int, caller_id: str | None = None) -> Dialled:
        """Ring a person's phone (`endpoint`, a dial string) for up to `timeout_s`; when they answer, bridge them
        with the caller until one of them hangs up. The caller hears ringing meanwhile. A caller who hangs up
        ends the ringing or the conversation (CallerHungUp)."""
        leg = f"{self.id}{DIAL_MARK}{step}"
        self._leg = leg
        try:
            self._call(
                self.client.originate,
                endpoint,
                channel_id=leg,
                app_args=DIAL_ARG,
                caller_id=caller_id,
                timeout_s=timeout_s,
            )
        except AriConflict:
            pass  # already ringing: asked again after a lost answer
        except AriError as exc:  # no such endpoint, a trunk that is down: Twilio says "failed"
            self._leg = None
            return self._not_placed(endpoint, exc)
        ringing = f"{leg}-ringing"
        try:
            with contextlib.suppress(AriError):  # a PBX without tones: the caller waits in silence
                self.client.play(self.id, "tone:ring", playback_id=ringing)
            answered = self._ring(leg, timeout_s)
            self.client.stop_playback(ringing)
            if answered is not None:
                return answered
            return self._talk(leg, step)
        except CallerHungUp:
            self.client.hangup(leg)
            raise
        finally:
            self._leg = None

    def _not_placed(self, endpoint: str, exc: AriError) -> Dialled:
        log.error("call %s: Asterisk could not ring %s: %s", self.id, endpoint, exc)
        return Dialled("failed")

    def _ring(self, leg: str, timeout_s: int) -> Dialled | None:
        """Wait for the person to answer (None) or not (how it ended); the ringing stops at `timeout_s`."""
        deadline = time.monotonic() + timeout_s + 2  # Asterisk ends it at timeout_s; this only if it does not
        while True:
            left = deadline - time.monotonic()
            event = self._next_event(left) if left > 0 else None
            if event is None and time.monotonic() >= deadline:
                self.client.hangup(leg, "no_answer")
                return Dialled("no-answer")
            if event is None or event.channel_id != leg:
                continue
            if isinstance(event, StasisStart):
                return None
            if isinstance(event, ChannelDestroyed):
                return Dialled(_NOT_ANSWERED.get(event.cause, "failed"))

    def _talk(self, leg: str, step: str) -> Dialled:
        """The person answered: caller and person in one bridge until one of them hangs up."""
        answered = time.monotonic()
        bridge = f"{self.id}-bridge-{step}"
        caller_left = False
        try:
            self.client.create_bridge(bridge)
            self._call(self.client.add_to_bridge, bridge, self.id, leg)
            while True:
                event = self._next_event(3600)
                if (
                    event is not None
                    and event.channel_id == leg
                    and isinstance(event, StasisEnd | ChannelDestroyed | ChannelHangupRequest)
                ):
                    break
        except CallerHungUp:
            caller_left = True
        finally:
            self.client.hangup(leg)
            self.client.destroy_bridge(bridge)
        return Dialled("completed", round(time.monotonic() - answered), caller_left)

    def hangup(self) -> None:
        """Hang up (nothing happens when the caller already has)."""
        self.client.hangup(self.id)
        self.hung_up = True
