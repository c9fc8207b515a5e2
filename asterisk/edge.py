"""The Asterisk edge: calls that enter our Stasis application are answered and taken through the call's steps,
each in a thread of its own, while one loop reads ARI's events and hands each call the events of its channel.
"""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Protocol, Self

from asterisk.ari import AriClient, Event, EventStream, Reconnected, StasisStart
from asterisk.channel import (
    DIAL_ARG,
    DIAL_MARK,
    SNOOP_ARG,
    SNOOP_SUFFIX,
    CallChannel,
    CallerHungUp,
    EdgeStopped,
    PbxMedia,
    caller_of,
)
from hotline.settings import Settings

log = logging.getLogger(__name__)


class CallSteps(Protocol):
    """What the edge runs for each call (asterisk.flow_runner.FlowRunner)."""

    def __call__(self, call: CallChannel, start: StasisStart) -> None:
        """Take the call through its steps, in the call's own thread, until it ends."""

    def ended_at_start(self, client: AriClient, channel_id: str) -> None:
        """A call a stopped service left mid-call was hung up at this start: finish what it left."""


def pbx_media(settings: Settings) -> PbxMedia:
    """The folder of prompt audio Asterisk reads, from the settings (made if missing)."""
    local = settings.ari_media_root
    local.mkdir(parents=True, exist_ok=True)
    return PbxMedia(Path(local), settings.ari_media_dir_on_pbx or str(Path(local).resolve()))


def ari_client(settings: Settings) -> AriClient:
    """Our ARI client for the hotline's Stasis application, from the settings."""
    if not settings.ari_password:
        raise ValueError("HOTLINE_CARRIER=asterisk needs HOTLINE_ARI_PASSWORD (the ARI user's password in ari.conf)")
    return AriClient(settings.ari_url, settings.ari_user, settings.ari_password, settings.ari_app)


class AsteriskEdge:
    """Answers the calls of one Stasis application and runs `steps` for each (in its own thread)."""

    def __init__(self, client: AriClient, media: PbxMedia, steps: CallSteps) -> None:
        self.client = client
        self.media = media
        self.steps = steps
        self.calls: dict[str, CallChannel] = {}
        self.errors: list[str] = []  # what went wrong in a call's steps (also logged)
        self.reconnects = 0  # how often the event stream was lost and made again
        self.ended: list[str] = []  # channels left mid-call by a stopped service, hung up by `pick_up`
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.events: EventStream | None = None

    def start(self) -> None:
        """Connect to ARI's events (our application is registered from then on), take over the channels
        already in it (see `pick_up`), and serve calls."""
        self.events = self.client.events()
        self.events.open()
        self._thread = threading.Thread(target=self._serve, name="asterisk-edge", daemon=True)
        self._thread.start()
        self.pick_up()

    def stop(self) -> None:
        """Stop taking events and leave the calls where they are (the channels stay up, as when the service
        dies): the next start picks them up."""
        self._stop.set()
        if self.events is not None:
            self.events.close()
        if self._thread is not None:
            self._thread.join(10)
        with self._lock:
            calls = list(self.calls.values())
        for call in calls:
            call.abandon()

    def pick_up(self) -> None:
        """The channels in our application that no call of ours serves: one still ringing arrived while we
        were not listening and is served as a new call; one already answered was in the middle of its steps
        in a service that stopped, and is hung up (its steps cannot be resumed yet), not left in silence."""
        listed = self.client.request("GET", f"/applications/{self.client.app}")
        for channel_id in listed.get("channel_ids", []):
            if channel_id.endswith(SNOOP_SUFFIX):
                continue  # a call's recording listener: it ends with the call
            if DIAL_MARK in channel_id:
                with self._lock:
                    served = caller_of(channel_id) in self.calls
                if not served:  # a person's phone of a call left by a stopped service: that call is ended too
                    self.client.hangup(channel_id)
                continue
            with self._lock:
                if channel_id in self.calls:
                    continue
            channel = self.client.channel(channel_id)
            if channel is None:
                continue
            if channel.state == "Ring":
                self.handle(StasisStart("StasisStart", self.client.app, {"channel": channel.raw}, channel, ()))
            else:
                log.warning("call %s was left mid-call by a stopped service: hanging it up", channel_id)
                self.client.hangup(channel_id)
                self.ended.append(channel_id)
                try:
                    self.steps.ended_at_start(self.client, channel_id)
                except Exception as exc:  # one call's record must not stop the others from being picked up
                    log.exception("call %s: could not finish it", channel_id)
                    self.errors.append(f"call {channel_id}: {type(exc).__name__}: {exc}")

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self) -> None:
        assert self.events is not None
        while not self._stop.is_set():
            event = self.events.next(0.5)
            if event is not None:
                self.handle(event)

    def handle(self, event: Event) -> None:
        """One event: a new call starts its steps; the others go to the call whose channel they are about."""
        if isinstance(event, StasisStart):
            if SNOOP_ARG in event.args:
                return  # our own whole-call recording's listener, not a caller
            if DIAL_ARG in event.args:  # a person we rang answered: the caller's call takes it from here
                self._deliver(event)
                return
            call = CallChannel(self.client, event.channel.id, self.media)
            with self._lock:
                if event.channel.id in self.calls:
                    return  # the same call again (StasisStart after a reconnect): it is already served
                self.calls[event.channel.id] = call
            threading.Thread(
                target=self._run_call, args=(call, event), name=f"call-{event.channel.id}", daemon=True
            ).start()
            return
        if isinstance(event, Reconnected):
            self._after_reconnect()
            return
        self._deliver(event)

    def _deliver(self, event: Event) -> None:
        """To the call the event's channel belongs to: the caller's own, or a person's phone rung for it."""
        channel_id = event.channel_id
        with self._lock:
            owner = self.calls.get(caller_of(channel_id)) if channel_id else None
        if owner is not None:
            owner.deliver(event)

    def _after_reconnect(self) -> None:
        """Events were lost while the WebSocket was down: each call asks Asterisk how it stands."""
        self.reconnects += 1
        with self._lock:
            calls = list(self.calls.values())
        for call in calls:
            call.resync()
        self.pick_up()  # a call that arrived while the stream was down

    def _run_call(self, call: CallChannel, start: StasisStart) -> None:
        try:
            self.steps(call, start)
        except CallerHungUp:
            log.info("call %s: the caller hung up", call.id)
        except EdgeStopped:
            log.info("call %s: left to the next start of the service", call.id)
        except Exception as exc:
            log.exception("call %s failed", call.id)
            self.errors.append(f"call {call.id}: {type(exc).__name__}: {exc}")
            call.hangup()
        finally:
            with self._lock:
                self.calls.pop(call.id, None)
