"""TwilioEmulator: one fake Twilio account, its REST API and the calls placed through it."""

from __future__ import annotations

import threading
import time
from types import TracebackType
from typing import Self

from emulator.call import CallSession
from emulator.clock import new_sid
from emulator.outbound import Callee, OutboundCall, OutboundDialer
from emulator.parties import DialBehaviour, QueueBehaviour
from emulator.recordings import Recording, RecordingStore
from emulator.rest import RestServer
from emulator.script import CallerScript, CallReport
from emulator.streams import MediaStreamer

RECORDING_FAULTS = {
    "not-found": "not-found",
    "404": "not-found",
    "wrong-content-type": "wrong-content-type",
    "content-type": "wrong-content-type",
}


class TwilioEmulator:
    """A stand-in for Twilio: places inbound calls against a voice URL and serves the REST API."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        retry_webhooks: bool = False,
        recording_fault: str | None = None,
        defer_recording_callbacks: bool = False,
        play_seconds: float = 3.0,
        max_steps: int = 100,
        time_scale: float = 0.0,
    ) -> None:
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.host, self.port = host, port
        self.retry_webhooks = retry_webhooks
        self.recording_fault = recording_fault
        self.defer_recording_callbacks = defer_recording_callbacks
        self.play_seconds = play_seconds
        self.max_steps = max_steps
        self.time_scale = time_scale  # real seconds per second of call time (0: as fast as possible)
        self.recordings = RecordingStore()
        self.recording_callbacks_released = threading.Event()
        self.recording_callbacks_released.set()
        self._calls: dict[str, CallSession] = {}
        self._queues: dict[str, str] = {}
        self._lock = threading.Lock()
        self._server: RestServer | None = None
        self.outbound = OutboundDialer(self)

    @property
    def recording_fault(self) -> str | None:
        """None, `not-found` (media answers 404) or `wrong-content-type` (media answers text/html)."""
        return self._recording_fault

    @recording_fault.setter
    def recording_fault(self, value: str | None) -> None:
        if value is not None and value not in RECORDING_FAULTS:
            raise ValueError(f"recording_fault must be one of {sorted(set(RECORDING_FAULTS.values()))} or None")
        self._recording_fault = RECORDING_FAULTS[value] if value else None

    def hold_recording_callbacks(self) -> None:
        """Recording status callbacks wait until `release_recording_callbacks` (Twilio may send them late):
        a test can then act while the caller is still on the line, before the recording is known."""
        self.recording_callbacks_released.clear()

    def release_recording_callbacks(self) -> None:
        """Send the held recording status callbacks, and every later one at once."""
        self.recording_callbacks_released.set()

    # ----- lifecycle ---------------------------------------------------------------------------------

    def start(self) -> None:
        """Start the REST API and media server; `api_url` is valid from now on."""
        if self._server is None:
            self._server = RestServer(self, self.host, self.port)
            self._server.start()

    def stop(self) -> None:
        """Stop the server."""
        if self._server is not None:
            self._server.stop()
            self._server = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def api_url(self) -> str:
        """Base URL standing in for https://api.twilio.com, e.g. http://127.0.0.1:54321."""
        if self._server is None:
            raise RuntimeError("TwilioEmulator is not started: call start() or use it as a context manager")
        return self._server.url

    # ----- calls -------------------------------------------------------------------------------------

    def place_call(
        self,
        voice_url: str,
        *,
        caller: CallerScript | None = None,
        from_: str = "+8613812341234",
        to: str = "+8612351",
        status_callback: str | None = None,
        timeout: float = 30,
        queue: QueueBehaviour | None = None,
        dial: DialBehaviour | None = None,
        streamer: MediaStreamer | None = None,
    ) -> CallReport:
        """Ring `voice_url` as an inbound call and play it to the end; returns once every callback was sent."""
        self.api_url  # noqa: B018 - fails early when not started
        session = CallSession(
            self,
            voice_url,
            caller or CallerScript(),
            from_=from_,
            to=to,
            status_callback=status_callback,
            timeout=timeout,
            queue=queue,
            dial=dial,
            streamer=streamer,
        )
        with self._lock:
            self._calls[session.sid] = session
        return session.run()

    def register_call(self, session: CallSession) -> None:
        """Keep a call of this account so the REST API finds it by its SID."""
        with self._lock:
            self._calls[session.sid] = session

    # ----- outbound calls (placed by the service through the REST API) -------------------------------

    def expect_callee(self, number: str, *callees: Callee) -> None:
        """The next outbound calls to `number` are met by `callees`, in order (then: nobody answers)."""
        self.outbound.expect(number, *callees)

    def wait_for_outbound(self, to: str, count: int = 1, timeout: float = 300.0) -> list[OutboundCall]:
        """The first `count` outbound calls to `to`, once each is over."""
        return self.outbound.wait(to, count, timeout)

    def outbound_calls(self, to: str | None = None) -> list[OutboundCall]:
        """Outbound calls placed so far."""
        return self.outbound.placed(to)

    def all_calls(self) -> list[CallSession]:
        """Every call of this account, inbound and outbound, oldest first."""
        with self._lock:
            return list(self._calls.values())

    def call(self, call_sid: str) -> CallSession | None:
        """A call placed through this account (live or over)."""
        with self._lock:
            return self._calls.get(call_sid)

    def wait_for_downloads(self, timeout: float) -> list[Recording]:
        """Wait, at most `timeout` seconds, until the service has downloaded every finished recording it was told
        about (the emulator is the only place they exist: stopping it earlier loses them); returns those it has
        not downloaded by then."""
        deadline = time.monotonic() + timeout
        waiting = [r for r in self.recordings.all() if r.announced]
        if self.recording_fault is not None:  # the media is refused on purpose: nothing will be downloaded
            return [r for r in waiting if not r.downloaded.is_set()]
        for rec in waiting:
            rec.downloaded.wait(max(0.0, deadline - time.monotonic()))
        return [r for r in waiting if not r.downloaded.is_set()]

    def recording(self, recording_sid: str) -> Recording | None:
        """A recording of this account."""
        return self.recordings.get(recording_sid)

    def queue_sid(self, name: str) -> str:
        """The QU… SID of a named queue (created on first use, as <Enqueue> does)."""
        with self._lock:
            return self._queues.setdefault(name, new_sid("QU"))
