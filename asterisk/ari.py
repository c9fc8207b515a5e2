"""Our own client of Asterisk's REST Interface (ARI): REST calls on httpx, the event WebSocket as typed events.

Only what the hotline needs: answer, play, record, hang up, originate, bridges, DTMF, channel variables and
stored recordings. Every call that creates something takes our own id (channel, playback, recording, bridge),
so repeating it after a lost answer or a reconnect names the same thing instead of making a second one.
"""

from __future__ import annotations

import base64
import contextlib
import json
import queue
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Self
from urllib.parse import urlsplit, urlunsplit

import httpx


class AriError(Exception):
    """ARI refused a request: `status` is Asterisk's HTTP status, `message` its reason."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        self.method, self.path, self.status, self.message = method, path, status, message
        super().__init__(f"ARI {method} {path}: {status} {message}")


class AriNotFound(AriError):
    """The channel, bridge, playback or recording is not there (a caller who hung up, most often)."""


class AriConflict(AriError):
    """The object is not in a state for this (a channel not in our Stasis application, a name already used)."""


class AriUnavailable(Exception):
    """Asterisk's ARI does not answer at all."""


_ERRORS: dict[int, type[AriError]] = {404: AriNotFound, 409: AriConflict}


@dataclass(frozen=True)
class Channel:
    """A channel as ARI describes it."""

    id: str
    name: str
    state: str
    caller_number: str
    exten: str
    raw: Mapping[str, Any] = field(repr=False, compare=False, default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Channel:
        return cls(
            id=data.get("id", ""),
            name=data.get("name", ""),
            state=data.get("state", ""),
            caller_number=(data.get("caller") or {}).get("number", ""),
            exten=(data.get("dialplan") or {}).get("exten", ""),
            raw=data,
        )


@dataclass(frozen=True)
class Event:
    """An ARI event we do not look into; the typed ones below subclass it."""

    type: str
    application: str
    raw: Mapping[str, Any] = field(repr=False, compare=False)

    @property
    def channel_id(self) -> str | None:
        """The channel the event is about, if any."""
        return (self.raw.get("channel") or {}).get("id")


@dataclass(frozen=True)
class StasisStart(Event):
    """A channel entered our application (an incoming call, or one we originated)."""

    channel: Channel
    args: tuple[str, ...]


@dataclass(frozen=True)
class StasisEnd(Event):
    """A channel left our application (hung up, or handed back to the dialplan)."""

    channel: Channel


@dataclass(frozen=True)
class ChannelDtmfReceived(Event):
    """The caller pressed a key."""

    channel: Channel
    digit: str
    duration_ms: int


@dataclass(frozen=True)
class ChannelHangupRequest(Event):
    """Someone asked the channel to hang up (the far end, mostly); `cause` is the Q.850 code."""

    channel: Channel
    cause: int


@dataclass(frozen=True)
class ChannelDestroyed(Event):
    """The channel is gone; `cause` is the Q.850 code, `cause_txt` its words."""

    channel: Channel
    cause: int
    cause_txt: str


@dataclass(frozen=True)
class ChannelStateChange(Event):
    """The channel's state changed (Ring, Up, ...)."""

    channel: Channel


@dataclass(frozen=True)
class PlaybackEvent(Event):
    """A playback started or finished; `target_uri` says on what (`channel:<id>` or `bridge:<id>`)."""

    playback_id: str
    media_uri: str
    target_uri: str
    state: str

    @property
    def channel_id(self) -> str | None:
        return self.target_uri.removeprefix("channel:") if self.target_uri.startswith("channel:") else None


@dataclass(frozen=True)
class PlaybackStarted(PlaybackEvent):
    """A playback started."""


@dataclass(frozen=True)
class PlaybackFinished(PlaybackEvent):
    """A playback ended: played through (`state` done), stopped, or failed."""


@dataclass(frozen=True)
class RecordingEvent(Event):
    """A live recording started, finished or failed; `duration` in seconds when known."""

    name: str
    target_uri: str
    state: str
    duration: int | None
    cause: str

    @property
    def channel_id(self) -> str | None:
        return self.target_uri.removeprefix("channel:") if self.target_uri.startswith("channel:") else None


@dataclass(frozen=True)
class RecordingStarted(RecordingEvent):
    """A recording started."""


@dataclass(frozen=True)
class RecordingFinished(RecordingEvent):
    """A recording ended and is stored."""


@dataclass(frozen=True)
class RecordingFailed(RecordingEvent):
    """A recording could not be made (`cause` says why)."""


@dataclass(frozen=True)
class Reconnected(Event):
    """Our own event: the WebSocket was lost and is back; events in between are lost, so look at the
    channels still in the application (`AriClient.channels`) and carry on or end them."""


def parse_event(data: Mapping[str, Any]) -> Event:
    """A typed event from ARI's JSON (an `Event` for the kinds we do not need)."""
    kind = data.get("type", "")
    app = data.get("application", "")
    channel = Channel.from_json(data["channel"]) if isinstance(data.get("channel"), dict) else None
    if kind == "StasisStart" and channel:
        return StasisStart(kind, app, data, channel, tuple(data.get("args") or ()))
    if kind == "StasisEnd" and channel:
        return StasisEnd(kind, app, data, channel)
    if kind == "ChannelDtmfReceived" and channel:
        return ChannelDtmfReceived(kind, app, data, channel, data.get("digit", ""), int(data.get("duration_ms", 0)))
    if kind == "ChannelHangupRequest" and channel:
        return ChannelHangupRequest(kind, app, data, channel, int(data.get("cause", 0)))
    if kind == "ChannelDestroyed" and channel:
        return ChannelDestroyed(kind, app, data, channel, int(data.get("cause", 0)), data.get("cause_txt", ""))
    if kind == "ChannelStateChange" and channel:
        return ChannelStateChange(kind, app, data, channel)
    if kind in ("PlaybackStarted", "PlaybackFinished"):
        playback = data.get("playback") or {}
        cls = PlaybackStarted if kind == "PlaybackStarted" else PlaybackFinished
        return cls(
            kind,
            app,
            data,
            playback.get("id", ""),
            playback.get("media_uri", ""),
            playback.get("target_uri", ""),
            playback.get("state", ""),
        )
    recording_kinds = {
        "RecordingStarted": RecordingStarted,
        "RecordingFinished": RecordingFinished,
        "RecordingFailed": RecordingFailed,
    }
    if kind in recording_kinds:
        recording = data.get("recording") or {}
        return recording_kinds[kind](
            kind,
            app,
            data,
            recording.get("name", ""),
            recording.get("target_uri", ""),
            recording.get("state", ""),
            recording.get("duration"),
            recording.get("cause", ""),
        )
    return Event(kind, app, data)


def _drop_none(params: Mapping[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in params.items() if value is not None}


class AriClient:
    """ARI's REST calls for one Stasis application (`app`); `events()` opens its event stream."""

    def __init__(self, url: str, user: str, password: str, app: str, *, timeout_s: float = 10) -> None:
        self.url = url.rstrip("/")
        self.user, self.password, self.app = user, password, app
        # ARI is a PBX beside the service, never reached through a proxy from the environment.
        self._http = httpx.Client(base_url=self.url, auth=(user, password), timeout=timeout_s, trust_env=False)

    def close(self) -> None:
        """Close the HTTP connections."""
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def request(self, method: str, path: str, *, params: Mapping[str, Any] | None = None, body: Any = None) -> Any:
        """One REST call; its JSON (None when empty); `AriError` (or a subclass) when Asterisk refuses it."""
        try:
            response = self._http.request(method, path, params=_drop_none(params or {}), json=body)
        except httpx.TransportError as exc:
            raise AriUnavailable(
                f"Asterisk's ARI at {self.url} does not answer ({type(exc).__name__}): is Asterisk running, "
                "with http.conf enabled on that address and the user in ari.conf (HOTLINE_ARI_URL, _USER, _PASSWORD)?"
            ) from exc
        if response.status_code >= 400:
            try:
                message = response.json().get("message", response.text)
            except ValueError:
                message = response.text.strip() or response.reason_phrase
            if response.status_code == 401:
                message += " (check HOTLINE_ARI_USER and HOTLINE_ARI_PASSWORD against ari.conf)"
            raise _ERRORS.get(response.status_code, AriError)(method, path, response.status_code, message)
        if not response.content:
            return None
        if response.headers.get("content-type", "").startswith("application/json"):
            return response.json()
        return response.content

    # Asterisk and channels

    def info(self) -> dict[str, Any]:
        """Asterisk's version, build and status."""
        info: dict[str, Any] = self.request("GET", "/asterisk/info")
        return info

    def channels(self) -> list[Channel]:
        """Every channel Asterisk has now (ours are those whose StasisStart we saw, or `in_app`)."""
        return [Channel.from_json(item) for item in self.request("GET", "/channels")]

    def channel(self, channel_id: str) -> Channel | None:
        """One channel, or None when it is gone."""
        try:
            return Channel.from_json(self.request("GET", f"/channels/{channel_id}"))
        except AriNotFound:
            return None

    def originate(
        self,
        endpoint: str,
        *,
        channel_id: str | None = None,
        app: str | None = None,
        app_args: str | None = None,
        caller_id: str | None = None,
        timeout_s: int = 30,
        variables: Mapping[str, str] | None = None,
    ) -> Channel:
        """Place a call to `endpoint` (`PJSIP/staff1`, `PJSIP/13800138000@trunk`) that enters `app` (ours by
        default) when answered; with `channel_id`, asking twice places one call (the second is a conflict)."""
        params = {
            "endpoint": endpoint,
            "app": app or self.app,
            "appArgs": app_args,
            "channelId": channel_id,
            "callerId": caller_id,
            "timeout": timeout_s,
        }
        body = {"variables": dict(variables)} if variables else None
        return Channel.from_json(self.request("POST", "/channels", params=params, body=body))

    def answer(self, channel_id: str) -> None:
        """Answer a ringing channel."""
        self.request("POST", f"/channels/{channel_id}/answer")

    def hangup(self, channel_id: str, reason: str = "normal") -> None:
        """Hang a channel up; one already gone is not an error (hanging up twice is the same as once)."""
        with contextlib.suppress(AriNotFound):
            self.request("DELETE", f"/channels/{channel_id}", params={"reason": reason})

    def continue_in_dialplan(self, channel_id: str) -> None:
        """Hand a channel back to the dialplan where it left it."""
        self.request("POST", f"/channels/{channel_id}/continue")

    def send_dtmf(self, channel_id: str, digits: str, *, duration_ms: int = 120, between_ms: int = 150) -> None:
        """Send keys on a channel, as its phone would (RFC 4733 on a PJSIP channel)."""
        params = {"dtmf": digits, "duration": duration_ms, "between": between_ms}
        self.request("POST", f"/channels/{channel_id}/dtmf", params=params)

    def get_variable(self, channel_id: str, name: str) -> str | None:
        """A channel variable (or dialplan function such as `CALLERID(num)`); None when unset."""
        try:
            value: str | None = self.request("GET", f"/channels/{channel_id}/variable", params={"variable": name})[
                "value"
            ]
            return value
        except AriNotFound:
            if self.channel(channel_id) is None:
                raise
            return None

    def set_variable(self, channel_id: str, name: str, value: str) -> None:
        """Set a channel variable (it stays with the channel across a reconnect or a service restart)."""
        self.request("POST", f"/channels/{channel_id}/variable", params={"variable": name, "value": value})

    # Playback and recording

    def play(self, channel_id: str, media: str | list[str], *, playback_id: str | None = None) -> str:
        """Play media URIs (`sound:/path/without/extension`, `recording:name`, `digits:42`) one after another on
        a channel; returns the playback's id (ours if given: playing it again is a conflict, not a repeat)."""
        media_list = [media] if isinstance(media, str) else list(media)
        params = {"media": ",".join(media_list)}
        if playback_id:
            result = self.request("POST", f"/channels/{channel_id}/play/{playback_id}", params=params)
        else:
            result = self.request("POST", f"/channels/{channel_id}/play", params=params)
        started: str = result["id"]
        return started

    def playback_running(self, playback_id: str) -> bool:
        """True while a playback is queued or playing."""
        try:
            self.request("GET", f"/playbacks/{playback_id}")
        except AriNotFound:
            return False
        return True

    def recording_running(self, name: str) -> bool:
        """True while a live recording runs."""
        try:
            self.request("GET", f"/recordings/live/{name}")
        except AriNotFound:
            return False
        return True

    def stop_playback(self, playback_id: str) -> None:
        """Stop a playback; one already finished is not an error."""
        with contextlib.suppress(AriNotFound):
            self.request("DELETE", f"/playbacks/{playback_id}")

    def record(
        self,
        channel_id: str,
        name: str,
        *,
        format: str = "wav",
        max_duration_s: int = 0,
        max_silence_s: int = 0,
        beep: bool = False,
        terminate_on: str = "none",
        if_exists: str = "overwrite",
    ) -> None:
        """Record what the channel hears from its far end (the caller's voice) under `name`; stops at
        `max_duration_s`, after `max_silence_s` of silence, on a `terminate_on` key, or by `stop_recording`."""
        params = {
            "name": name,
            "format": format,
            "maxDurationSeconds": max_duration_s,
            "maxSilenceSeconds": max_silence_s,
            "beep": "true" if beep else "false",
            "terminateOn": terminate_on,
            "ifExists": if_exists,
        }
        self.request("POST", f"/channels/{channel_id}/record", params=params)

    def stop_recording(self, name: str) -> None:
        """Stop a live recording and keep it; one already stopped is not an error."""
        with contextlib.suppress(AriNotFound):
            self.request("POST", f"/recordings/live/{name}/stop")

    def stored_recording(self, name: str) -> bytes:
        """The file of a finished recording (WAV bytes when recorded as `wav`)."""
        audio: bytes = self.request("GET", f"/recordings/stored/{name}/file")
        return audio

    def delete_stored_recording(self, name: str) -> None:
        """Delete a stored recording once it is safely ours; one already gone is not an error."""
        with contextlib.suppress(AriNotFound):
            self.request("DELETE", f"/recordings/stored/{name}")

    # Bridges

    def create_bridge(self, bridge_id: str, kind: str = "mixing") -> str:
        """Create (or, with the same id, find again) a bridge; returns its id."""
        created: str = self.request("POST", f"/bridges/{bridge_id}", params={"type": kind})["id"]
        return created

    def add_to_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        """Put channels into a bridge: they hear each other."""
        self.request("POST", f"/bridges/{bridge_id}/addChannel", params={"channel": ",".join(channel_ids)})

    def remove_from_bridge(self, bridge_id: str, *channel_ids: str) -> None:
        """Take channels out of a bridge."""
        self.request("POST", f"/bridges/{bridge_id}/removeChannel", params={"channel": ",".join(channel_ids)})

    def destroy_bridge(self, bridge_id: str) -> None:
        """Destroy a bridge (its channels stay up); one already gone is not an error."""
        with contextlib.suppress(AriNotFound):
            self.request("DELETE", f"/bridges/{bridge_id}")

    def events(self, *, reconnect_delay_s: float = 0.5) -> EventStream:
        """The application's event stream (connect with `with client.events() as stream:`)."""
        return EventStream(self, reconnect_delay_s=reconnect_delay_s)


def _events_url(client: AriClient) -> str:
    parts = urlsplit(client.url)
    scheme = "wss" if parts.scheme == "https" else "ws"
    return urlunsplit((scheme, parts.netloc, parts.path + "/events", f"app={client.app}", ""))


_CLOSED = object()


class EventStream:
    """ARI's event WebSocket for one application, read in a thread of its own; lost connections are made
    again (a `Reconnected` event says so, since events in between are lost). Iterate, or `next(timeout_s)`."""

    def __init__(self, client: AriClient, *, reconnect_delay_s: float = 0.5) -> None:
        self.client = client
        self.url = _events_url(client)
        self.reconnect_delay_s = reconnect_delay_s
        self._events: queue.Queue[object] = queue.Queue()
        self._closing = threading.Event()
        self._connected = threading.Event()
        self._connection: Any = None
        self._thread = threading.Thread(target=self._run, name=f"ari-events-{client.app}", daemon=True)
        self._passed_over: list[Event] = []  # events `wait_for` looked past, still to be read
        self._down_until = 0.0  # a connection dropped on purpose stays down until then (monotonic)
        self.error: str | None = None

    def __enter__(self) -> Self:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def open(self, timeout_s: float = 10) -> None:
        """Connect and wait until Asterisk has registered the application (so its calls reach us)."""
        self._thread.start()
        if not self._connected.wait(timeout_s):
            self.close()
            raise AriUnavailable(f"ARI events at {self.url} did not connect in {timeout_s} s: {self.error}")

    @property
    def connected(self) -> bool:
        """True while the WebSocket is up (our application registered, its calls reaching us)."""
        return self._connected.is_set()

    def close(self) -> None:
        """Stop reading; iteration ends."""
        self._closing.set()
        connection = self._connection
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()
        if self._thread.is_alive():
            self._thread.join(5)
        self._events.put(_CLOSED)

    def drop_connection(self, stay_down_s: float = 0) -> None:
        """Close the WebSocket as a network fault would; the stream connects again by itself, after
        `stay_down_s` (events meanwhile are lost, as in a real outage)."""
        self._down_until = time.monotonic() + stay_down_s
        connection = self._connection
        if connection is not None:
            connection.close()

    def _connect(self) -> Any:
        from websockets.sync.client import connect

        token = base64.b64encode(f"{self.client.user}:{self.client.password}".encode()).decode()
        options: dict[str, Any] = {
            "additional_headers": {"Authorization": f"Basic {token}"},
            "open_timeout": 10,
            "compression": None,
            "max_size": 2**24,
        }
        try:  # `legacy`: a plain connection kept open (websockets 16 otherwise wants a `with` block)
            return connect(self.url, proxy=None, legacy=True, **options)
        except TypeError:  # websockets before 16 has no `legacy`, before 15 no `proxy` (and never uses one)
            return connect(self.url, **options)

    def _run(self) -> None:
        first = True
        while not self._closing.is_set():
            try:
                self._connection = self._connect()
            except Exception as exc:  # noqa: BLE001 - any failure to connect is retried until closed
                self.error = f"{type(exc).__name__}: {exc}"
                self._closing.wait(self.reconnect_delay_s)
                continue
            if not first:
                self._events.put(Reconnected("Reconnected", self.client.app, {}))
            first = False
            self._connected.set()
            try:
                for message in self._connection:
                    self._events.put(parse_event(json.loads(message)))
                self.error = f"closed by Asterisk: {self._connection.close_code} {self._connection.close_reason}"
            except Exception as exc:  # noqa: BLE001 - a dropped connection is made again below
                self.error = f"{type(exc).__name__}: {exc}"
            self._connected.clear()
            if not self._closing.is_set():
                self._closing.wait(max(self.reconnect_delay_s, self._down_until - time.monotonic()))

    def next(self, timeout_s: float) -> Event | None:
        """The next event, or None when none comes in `timeout_s` (or the stream is closed)."""
        if self._passed_over:
            return self._passed_over.pop(0)
        try:
            item = self._events.get(timeout=timeout_s)
        except queue.Empty:
            return None
        if item is _CLOSED:
            self._events.put(_CLOSED)
            return None
        return item  # type: ignore[return-value]

    def wait_for(self, match: Callable[[Event], bool], timeout_s: float) -> Event:
        """The first event that `match`es within `timeout_s`; the others stay to be read, in order.
        TimeoutError when none comes."""
        for index, event in enumerate(self._passed_over):
            if match(event):
                return self._passed_over.pop(index)
        deadline = time.monotonic() + timeout_s
        skipped: list[Event] = []
        try:
            while (left := deadline - time.monotonic()) > 0:
                try:
                    item = self._events.get(timeout=left)
                except queue.Empty:
                    break
                if item is _CLOSED:
                    self._events.put(_CLOSED)
                    break
                assert isinstance(item, Event)
                if match(item):
                    return item
                skipped.append(item)
        finally:
            self._passed_over.extend(skipped)
        seen = [event.type for event in self._passed_over[-20:]]
        raise TimeoutError(f"no matching ARI event in {timeout_s} s (unread: {seen})")

    def __iter__(self) -> Iterator[Event]:
        while (event := self.next(3600)) is not None:
            yield event
