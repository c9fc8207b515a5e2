"""One emulated inbound call: fetch TwiML, act on each verb as Twilio does, on a virtual clock."""

from __future__ import annotations

import re
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urljoin

from emulator import twiml as t
from emulator.audio import CallerAudio, Segment, call_recording_media, load_caller_audio, recording_media
from emulator.clock import VirtualClock, new_sid
from emulator.parties import CallerGivesUp, DialBehaviour, QueueBehaviour
from emulator.recordings import API_VERSION, Recording
from emulator.script import CallerScript, CallReport
from emulator.signing import MAX_WEBHOOK_SECONDS, Delivery, WebhookSender
from emulator.streams import MediaStreamer, NullStreamer, StreamInfo

if TYPE_CHECKING:
    from emulator.account import TwilioEmulator

ACTIVE = ("ringing", "in-progress")
BEEP_SECONDS = 0.5
KEY_SECONDS = 0.3


@dataclass
class Fetch:
    """Next step: request TwiML from `url` (standard parameters plus `extra`)."""

    kind: str
    url: str
    method: str = "POST"
    extra: dict[str, str] = field(default_factory=dict)
    then: list[tuple] = field(default_factory=list)  # callbacks to send once this request has gone


@dataclass
class Inline:
    """Next step: TwiML given directly (REST update with Twiml)."""

    twiml: str
    base_url: str


class CallOver(Exception):
    """The call has ended; `reason` becomes CallReport.ended_by."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Jump(Exception):
    """Abandon the current document and continue with `step` (Redirect-like control flow)."""

    def __init__(self, step: Fetch | Inline) -> None:
        super().__init__(step)
        self.step = step


def speech_seconds(text: str) -> float:
    """Rough text-to-speech length: ~4.5 Chinese characters or ~3 words a second."""
    cjk = sum(1 for ch in text if "\u3400" <= ch <= "\u9fff" or "\uff00" <= ch <= "\uffef")
    words = len(re.findall(r"[A-Za-z]+|\d", text))
    return max(0.5, 0.3 + cjk * 0.22 + words * 0.33)


def _country(number: str) -> str | None:
    return "CN" if number.startswith("+86") else ("US" if number.startswith("+1") else None)


class CallSession:
    """The interpreter for one call; REST requests reach it from the server's threads."""

    def __init__(
        self,
        account: TwilioEmulator,
        voice_url: str,
        caller: CallerScript,
        *,
        from_: str,
        to: str,
        status_callback: str | None,
        timeout: float,
        queue: QueueBehaviour | None = None,
        dial: DialBehaviour | None = None,
        streamer: MediaStreamer | None = None,
        direction: str = "inbound",
        voice_method: str = "POST",
        sid: str | None = None,
    ) -> None:
        self.account = account
        self.sid = sid or new_sid("CA")
        self.direction = direction  # inbound, or outbound-api for a call placed through the REST API
        self.voice_method = voice_method
        self.status_sequence = 0  # SequenceNumber of the final status callback (earlier events came first)
        self.voice_url = voice_url
        self.caller = caller
        self.from_ = from_
        self.to = to
        self.status_callback = status_callback
        self.queue = queue or CallerGivesUp()
        self.dial = dial or DialBehaviour()
        self.streamer: MediaStreamer = streamer or NullStreamer()
        self.clock = VirtualClock(time_scale=account.time_scale)
        self.status = "ringing"
        self.deadline = time.monotonic() + timeout
        self.sender = WebhookSender(account.auth_token, retry=account.retry_webhooks)
        self.report = CallReport(call_sid=self.sid)
        self.segments: list[Segment] = []
        self.call_recordings: list[Recording] = []  # whole-call recordings (REST or <Start><Recording>)
        self.open_streams: list[StreamInfo] = []
        self.all_streams: list[StreamInfo] = []
        self._doc_url = voice_url
        self._fetches = 0
        self._gathers = 0
        self._records = 0
        self._queue_key_index = 0
        self._lock = threading.RLock()
        self._interrupt = threading.Event()
        self._pending: Fetch | Inline | str | None = None
        self._threads: list[threading.Thread] = []
        self._last_delivery: dict[str, threading.Thread] = {}
        self._deferred: list[tuple] = []
        self._stream_callbacks: dict[str, tuple[str, str]] = {}
        self._callback_deliveries: list[Delivery] = []
        self._final_status = "completed"
        self._ended = False

    # ----- bookkeeping -------------------------------------------------------------------------------

    def _event(self, event: str, detail: object = None) -> None:
        self.report.timeline.append({"t": round(self.clock.now, 3), "event": event, "detail": detail})

    def _remaining(self) -> float:
        return self.deadline - time.monotonic()

    def _request_timeout(self) -> float:
        return max(1.0, min(MAX_WEBHOOK_SECONDS, self._remaining()))

    def _resolve(self, url: str | None, base: str) -> str:
        return urljoin(base, url.strip()) if url else base

    def params(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        """Twilio's standard voice request parameters, plus `extra`."""
        p = {
            "AccountSid": self.account.account_sid,
            "ApiVersion": API_VERSION,
            "CallSid": self.sid,
            "CallStatus": self.status,
            "Called": self.to,
            "Caller": self.from_,
            "Direction": self.direction,
            "From": self.from_,
            "To": self.to,
        }
        for name, number in (("From", self.from_), ("Caller", self.from_), ("To", self.to), ("Called", self.to)):
            country = _country(number)
            if country:
                p[f"{name}Country"] = country
        p.update(extra or {})
        return p

    def _send(self, kind: str, url: str, params: dict[str, str], method: str = "POST") -> list[Delivery]:
        deliveries = self.sender.send(kind, url, params, method=method, timeout=self._request_timeout())
        with self._lock:
            self.report.requests.extend(deliveries)
        return deliveries

    def _background(
        self,
        kind: str,
        url: str,
        params: dict[str, str],
        method: str,
        sink: list[Delivery],
        gate: threading.Event | None = None,
    ) -> None:
        """Send a callback from another thread (as Twilio does); `sink` collects its deliveries. With a `gate`,
        it is sent once the gate opens (or the call's real-time limit passes)."""

        # One recording's callbacks arrive in the order Twilio sends them (in-progress before completed):
        # each waits for the one before it.
        order_key = params.get("RecordingSid") if kind == "recording-status" else None
        before: threading.Thread | None = None

        def deliver() -> None:
            try:
                if before is not None:
                    before.join(max(0.0, self._remaining()))
                if gate is not None:
                    gate.wait(max(0.0, self._remaining()))
                sink.extend(self._send(kind, url, params, method))
            finally:
                self.sender.close()

        thread = threading.Thread(target=deliver, name=f"emulator-{kind}", daemon=True)
        with self._lock:
            self._threads.append(thread)
            if order_key:
                before = self._last_delivery.get(order_key)
                self._last_delivery[order_key] = thread
        thread.start()

    def _check_deadline(self) -> None:
        if self._remaining() <= 0:
            self.report.errors.append("the call ran past its real-time limit (place_call timeout)")
            raise CallOver("error")

    # ----- REST entry points (server threads) --------------------------------------------------------

    @property
    def active(self) -> bool:
        """True while the call can still be redirected or recorded."""
        return self.status in ACTIVE and not self._ended

    def request_update(self, url: str | None, method: str, twiml: str | None, status: str | None) -> bool:
        """Live-call update (REST): redirect to a URL or TwiML, or end the call; False if it is over."""
        with self._lock:
            if not self.active:
                return False
            if status == "completed":
                self._pending = "completed"
            elif twiml:
                self._pending = Inline(twiml, self._doc_url)
            elif url:
                self._pending = Fetch("update", self._resolve(url, self.voice_url), method or "POST")
            else:
                return True
            self._interrupt.set()
            return True

    def start_recording(
        self,
        *,
        dual: bool,
        callback: str | None,
        method: str,
        events: list[str],
        trim: str,
        source: str = "StartCallRecordingAPI",
    ) -> Recording | None:
        """Start a full-call recording (REST, or <Start><Recording> with its source); None if the call is over."""
        with self._lock:
            if not self.active:
                return None
            offset = self.clock.now
            rec = Recording(
                sid=new_sid("RE"),
                account_sid=self.account.account_sid,
                call_sid=self.sid,
                source=source,
                channels=2 if dual else 1,
                start_offset=offset,
                start_time=self.clock.at(offset),
                trim=trim,
                status_callback=self._resolve(callback, self.voice_url) if callback else None,
                status_callback_method=method or "POST",
                status_callback_events=events or ["completed"],
            )
            self.account.recordings.add(rec)
            self.call_recordings.append(rec)
            self._event("recording-started", rec.sid)
            if rec.status_callback and "in-progress" in rec.status_callback_events:
                self._recording_callback(rec, "in-progress")
        return rec

    def stop_recording(self, rec: Recording) -> None:
        """Stop a full-call recording early (REST Status=stopped); it completes when the call ends."""
        with self._lock:
            if rec.end_offset is None:
                rec.end_offset = self.clock.now
                rec.status = "stopped"

    def to_json(self) -> dict:
        """Twilio's Call resource JSON."""
        base = f"/{API_VERSION}/Accounts/{self.account.account_sid}/Calls/{self.sid}"
        start = self.clock.stamp(0.0)
        over = not self.active and self.status != "queued"
        return {
            "sid": self.sid,
            "account_sid": self.account.account_sid,
            "parent_call_sid": None,
            "from": self.from_,
            "from_formatted": self.from_,
            "to": self.to,
            "to_formatted": self.to,
            "phone_number_sid": None,
            "status": self.status,
            "direction": self.direction,
            "api_version": API_VERSION,
            "date_created": start,
            "date_updated": self.clock.stamp(),
            "start_time": start,
            "end_time": self.clock.stamp() if over else None,
            "duration": str(round(self.clock.now)) if over else None,
            "price": None,
            "price_unit": "USD",
            "answered_by": None,
            "forwarded_from": None,
            "caller_name": None,
            "group_sid": None,
            "queue_time": "0",
            "trunk_sid": None,
            "uri": base + ".json",
            "subresource_uris": {
                "recordings": base + "/Recordings.json",
                "streams": base + "/Streams.json",
            },
        }

    def _take_update(self) -> None:
        """Apply a pending REST update: raises _Jump or CallOver."""
        with self._lock:
            pending, self._pending = self._pending, None
            self._interrupt.clear()
        if pending is None:
            return
        if pending == "completed":
            self._event("rest-update", "Status=completed")
            raise CallOver("rest-update")
        assert not isinstance(pending, str)
        self._event("rest-update", pending.url if isinstance(pending, Fetch) else "Twiml")
        raise _Jump(pending)

    def _wait(self, real_seconds: float) -> None:
        """Give the service up to `real_seconds` to update the live call."""
        if real_seconds > 0:
            self._interrupt.wait(max(0.0, min(real_seconds, self._remaining())))
        self._take_update()

    # ----- the interpreter ---------------------------------------------------------------------------

    def run(self) -> CallReport:
        """Play the whole call; never raises for service faults (they end the call and are reported)."""
        step: Fetch | Inline | None = Fetch("voice", self.voice_url, self.voice_method)
        try:
            while True:
                try:
                    if step is None:
                        raise CallOver("end-of-twiml")
                    verbs, base = self._load(step)
                    step = self._execute(verbs, base)
                except _Jump as jump:
                    step = jump.step
        except CallOver as over:
            self.report.ended_by = over.reason
        except Exception as exc:  # an emulator fault must not hang or crash the test that placed the call
            self.report.errors.append(f"emulator failure: {type(exc).__name__}: {exc}")
            self.report.ended_by = "error"
        finally:
            self._finish()
        return self.report

    def _count_fetch(self) -> None:
        self._fetches += 1
        if self._fetches > self.account.max_steps:
            self.report.errors.append(
                f"more than {self.account.max_steps} TwiML documents in one call: a redirect loop? (step limit)"
            )
            raise CallOver("error")

    def _load(self, step: Fetch | Inline) -> tuple[list[t.Verb], str]:
        if isinstance(step, Inline):
            self._count_fetch()
            try:
                return t.parse_twiml(step.twiml), step.base_url
            except t.TwimlError as exc:
                self.report.errors.append(f"update Twiml is not TwiML: {exc}")
                raise CallOver("error") from exc
        try:
            self._count_fetch()
            self._check_deadline()
            deliveries = self._send(step.kind, step.url, self.params(step.extra), step.method)
        finally:
            for job in step.then:  # e.g. the recording status callback, due whatever became of the action
                self._callback(*job)
        self._take_update()
        last = deliveries[-1]
        if not last.ok:
            self.report.errors.append(f"{last.describe()}; Twilio would say 'an application error has occurred'")
            raise CallOver("error")
        try:
            verbs = t.parse_twiml(last.body)
        except t.TwimlError as exc:
            self.report.errors.append(
                f"{step.kind} {step.url}: answer is not TwiML ({exc}; content-type {last.content_type}); "
                "Twilio would say 'an application error has occurred'"
            )
            raise CallOver("error") from exc
        with self._lock:
            if self.status == "ringing":
                self.status = "in-progress"
        self._doc_url = step.url
        return verbs, step.url

    def _execute(self, verbs: list[t.Verb], base: str) -> Fetch | Inline | None:
        for verb in verbs:
            self._take_update()
            self._check_deadline()
            step = self._do(verb, base)
            if step is not None:
                return step
        return None

    def _do(self, verb: t.Verb, base: str) -> Fetch | Inline | None:
        if isinstance(verb, (t.Say, t.Play, t.Pause)):
            self._prompt(verb, base)
        elif isinstance(verb, t.Gather):
            return self._gather(verb, base)
        elif isinstance(verb, t.Record):
            return self._record(verb, base)
        elif isinstance(verb, t.Redirect):
            self._event("redirect", verb.url)
            return Fetch("redirect", self._resolve(verb.url, base), verb.method)
        elif isinstance(verb, t.Hangup):
            self._event("hangup")
            raise CallOver("hangup-verb")
        elif isinstance(verb, t.Reject):
            self._event("reject", verb.reason)
            self._final_status = "busy" if verb.reason == "busy" else "no-answer"
            raise CallOver("reject")
        elif isinstance(verb, t.Enqueue):
            return self._enqueue(verb, base)
        elif isinstance(verb, t.Dial):
            return self._dial(verb, base)
        elif isinstance(verb, t.Start):
            for noun in verb.recordings:
                self.start_recording(
                    dual=noun.channels == "dual",
                    callback=self._resolve(noun.status_callback, base) if noun.status_callback else None,
                    method=noun.status_callback_method,
                    events=noun.status_callback_events,
                    trim=noun.trim,
                    source="StartCallRecordingTwiML",
                )
            for stream in verb.streams:
                self._open_stream(stream, "start", base)
        elif isinstance(verb, t.Stop):
            self._stop_streams(verb.streams)
        elif isinstance(verb, t.Connect):
            return self._connect(verb, base)
        elif isinstance(verb, t.Leave):
            self.report.warnings.append("<Leave> outside a queue has no effect")
        else:
            self.report.warnings.append(f"unknown verb <{verb.tag}> skipped")
        return None

    # ----- verbs -------------------------------------------------------------------------------------

    def _prompt(self, verb: t.Say | t.Play | t.Pause, base: str) -> None:
        if isinstance(verb, t.Pause):
            self._event("pause", verb.length)
            self.clock.advance(verb.length)
            return
        if isinstance(verb, t.Play) and verb.digits and not verb.url:
            self._event("play-digits", verb.digits)
            self.clock.advance(KEY_SECONDS * len(verb.digits))
            return
        what = verb.text if isinstance(verb, t.Say) else self._resolve(verb.url, base)
        seconds = speech_seconds(verb.text) if isinstance(verb, t.Say) else self.account.play_seconds
        for _ in range(max(1, verb.loop)):
            self.report.heard.append(what)
            self._event("say" if isinstance(verb, t.Say) else "play", what)
            self.segments.append(Segment("outbound", self.clock.now, seconds))
            self.clock.advance(seconds)

    def _next_keys(self) -> str | None:
        """The caller's keys for this Gather; None means the caller hangs up (script used up)."""
        index = self._gathers
        self._gathers += 1
        if index < len(self.caller.keys):
            return self.caller.keys[index]
        return None if self.caller.hang_up_when_done else ""

    def _speak(self, path: Path) -> bool:
        """The caller says `path` now, into every open stream (paced by the streamer); False if it cannot be read."""
        try:
            audio = load_caller_audio(path)
        except OSError as exc:
            self.report.errors.append(f"caller audio {path} cannot be read: {exc}")
            return False
        if audio.pcm is None:
            self.report.errors.append(f"caller audio {path} is not a WAV file")
            return False
        start = self.clock.now
        self.segments.append(Segment("inbound", start, audio.duration, audio.pcm))
        self._event("caller-speaks", {"file": str(audio.source), "seconds": round(audio.duration, 3)})
        for stream in list(self.open_streams):
            self.streamer.send_audio(stream, audio.pcm, start)
        self.clock.advance(audio.duration)
        return True

    def _gather(self, g: t.Gather, base: str) -> Fetch | None:
        spoken = self.caller.spoken(self._gathers)
        if spoken is not None:
            # The caller answers by voice over the prompt, then gives the service time to act on it.
            try:
                if self._speak(spoken) and self.open_streams:
                    self._wait(self.caller.wait_for_speech)
            except _Jump:
                self._gathers += 1  # this Gather is answered: its keys entry is not pressed
                raise
        for child in g.children:
            self._take_update()
            self._prompt(child, base)
        entry = self._next_keys()
        if entry is None:
            self._event("caller-hangs-up", "at a Gather, script used up")
            raise CallOver("caller")
        if entry and "dtmf" not in g.input:
            self.report.warnings.append(f"keys {entry!r} ignored: <Gather input={g.input!r}> takes no DTMF")
            entry = ""
        digits, finished, consumed = "", None, ""
        for key in entry:
            consumed += key
            self.clock.advance(KEY_SECONDS)
            for stream in self.open_streams:
                self.streamer.send_dtmf(stream, key, self.clock.now)
            if g.finish_on_key and key in g.finish_on_key:
                finished = key
                break
            digits += key
            if g.num_digits and len(digits) >= g.num_digits:
                break
        self.report.keys.append(consumed)
        self._event("keys", consumed)
        if finished is None and not (g.num_digits and len(digits) >= g.num_digits):
            if not entry:
                self._wait(self.caller.wait_for_redirect)
            self.clock.advance(g.timeout)
        if not digits and not g.action_on_empty_result:
            self._event("gather-timeout" if finished is None else "gather-empty", None)
            return None
        extra = {"Digits": digits}
        if finished is not None:
            extra["FinishedOnKey"] = finished
        return Fetch("gather", self._resolve(g.action, base), g.method, extra)

    def _caller_audio(self) -> CallerAudio | None:
        index = self._records
        self._records += 1
        path = self.caller.clip(index)
        if path is None:
            return None
        try:
            return load_caller_audio(path)
        except OSError as exc:
            self.report.errors.append(f"caller audio {path} cannot be read: {exc}")
            return None

    def _record(self, r: t.Record, base: str) -> Fetch | None:
        if r.play_beep:
            self._event("beep")
            self.segments.append(Segment("outbound", self.clock.now, BEEP_SECONDS))
            self.clock.advance(BEEP_SECONDS)
        start = self.clock.now
        audio = self._caller_audio()
        callback = self._resolve(r.recording_status_callback, base) if r.recording_status_callback else None
        rec = Recording(
            sid=new_sid("RE"),
            account_sid=self.account.account_sid,
            call_sid=self.sid,
            source="RecordVerb",
            channels=1,
            start_offset=start,
            start_time=self.clock.at(start),
            trim=r.trim,
            status_callback=callback,
            status_callback_method=r.recording_status_callback_method,
            status_callback_events=r.recording_status_callback_event,
        )
        if audio is None:  # silence: Twilio keeps nothing, skips the action and goes on with the next verb
            self._event("record-silent", None)
            self.clock.advance(r.timeout)
            rec.status, rec.duration = "absent", 0
            self.account.recordings.add(rec)
            if callback and "absent" in rec.status_callback_events:
                self._recording_callback(rec, "absent")
            return None
        self.account.recordings.add(rec)
        if callback and "in-progress" in rec.status_callback_events:
            self._recording_callback(rec, "in-progress")
        if audio.duration > r.max_length:
            audio = audio.clipped(r.max_length)
        if audio.pcm is not None:
            self.segments.append(Segment("inbound", start, audio.duration, audio.pcm))
            for stream in self.open_streams:
                self.streamer.send_audio(stream, audio.pcm, start)
        self._event("caller-speaks", {"file": str(audio.source), "seconds": round(audio.duration, 3)})
        self.clock.advance(audio.duration)
        trailing, digits = 0.0, None
        if self.caller.hang_up_during_record:
            digits = "hangup"
        elif self.caller.finish_with_hash and self.caller.finish_key in r.finish_on_key:
            digits = self.caller.finish_key  # Twilio's Digits: the key that ended the recording
            self.clock.advance(KEY_SECONDS)
        elif audio.duration < r.max_length:
            self.clock.advance(r.timeout)
            trailing = r.timeout if r.trim == "do-not-trim" else 0.0
        media, length = recording_media(audio, trailing)
        rec.media, rec.status = media, "completed"
        rec.duration = max(1, round(length)) if length > 0 else 0
        extra = {
            "RecordingUrl": self.account.api_url + rec.path,
            "RecordingDuration": str(rec.duration),
            "RecordingSid": rec.sid,
        }
        if digits:
            extra["Digits"] = digits
        action = self._resolve(r.action, base)
        then = [self._recording_job(rec, "completed")] if callback and "completed" in rec.status_callback_events else []
        if digits == "hangup":
            self._event("caller-hangs-up", "during Record")
            self._post_after_hangup("record", action, extra, r.method)
            for job in then:
                self._callback(*job)
            raise CallOver("caller")
        return Fetch("record", action, r.method, extra, then)

    def _post_after_hangup(self, kind: str, url: str, extra: dict[str, str], method: str) -> None:
        """The action request Twilio still makes after the caller hung up; its answer is ignored."""
        with self._lock:
            self.status = "completed"
        for delivery in self._send(kind, url, self.params(extra), method):
            if not delivery.ok:
                self.report.errors.append(delivery.describe())

    def _callback(self, kind: str, url: str, params: dict[str, str], method: str, sink: list[Delivery]) -> None:
        """Send a status callback now (in the background), or after the call when callbacks are deferred, or
        once the test releases them (`TwilioEmulator.hold_recording_callbacks`: Twilio may send them late)."""
        job = (kind, url, params, method, sink)
        if self.account.defer_recording_callbacks and kind == "recording-status" and not self._ended:
            self._deferred.append(job)
        elif kind == "recording-status" and not self.account.recording_callbacks_released.is_set():
            self._background(*job, gate=self.account.recording_callbacks_released)
        else:
            self._background(*job)

    def _recording_callback(self, rec: Recording, status: str) -> None:
        self._callback(*self._recording_job(rec, status))

    def _recording_job(self, rec: Recording, status: str) -> tuple:
        assert rec.status_callback is not None
        params = {
            "AccountSid": rec.account_sid,
            "CallSid": rec.call_sid,
            "RecordingSid": rec.sid,
            "RecordingUrl": self.account.api_url + rec.path,
            "RecordingStatus": status,
            "RecordingChannels": str(rec.channels),
            "RecordingSource": rec.source,
            "RecordingStartTime": self.clock.stamp(rec.start_offset),
        }
        if status != "in-progress":
            params["RecordingDuration"] = str(rec.duration or 0)
        if rec.source in ("StartCallRecordingAPI", "StartCallRecordingTwiML"):
            params["RecordingTrack"] = "both"
        if status == "absent":
            params["ErrorCode"] = "0"
        return ("recording-status", rec.status_callback, params, rec.status_callback_method, rec.callbacks)

    def _enqueue(self, e: t.Enqueue, base: str) -> Fetch | None:
        queue_sid = self.account.queue_sid(e.queue)
        self.report.enqueued.append(e.queue)
        self._event("enqueue", e.queue)
        entered = self.clock.now
        result, talk = None, 0.0
        # As Twilio does: the wait document plays, and is fetched again when it ends, until the caller
        # leaves (<Leave>), an agent takes them, or they give up (the queue behaviour decides when).
        while result is None:
            waited = self.clock.now - entered
            outcome = self.queue.outcome(e.queue, self.sid, waited)
            if outcome.wait_seconds <= 0 or not e.wait_url:
                self.clock.advance(outcome.wait_seconds)
                result, talk = outcome.result, outcome.talk_seconds
                break
            before = self.clock.now
            result = self._play_wait_document(e, base, queue_sid, round(waited))
            if result is None and self.clock.now - before < 1:
                self.clock.advance(min(outcome.wait_seconds, 1.0))  # a silent wait document still takes time
        queue_time = round(self.clock.now - entered)
        self._event("dequeue", result)
        if result == "bridged":
            self.clock.advance(talk)
        extra = {"QueueResult": result, "QueueSid": queue_sid, "QueueTime": str(queue_time)}
        if result == "hangup":
            if e.action:
                self._post_after_hangup("enqueue", self._resolve(e.action, base), extra, e.method)
            else:
                with self._lock:
                    self.status = "completed"
            raise CallOver("caller")
        return Fetch("enqueue", self._resolve(e.action, base), e.method, extra) if e.action else None

    def _play_wait_document(self, e: t.Enqueue, base: str, queue_sid: str, queue_time: int = 0) -> str | None:
        """Fetch and play the wait URL once; returns 'leave' when it says <Leave>, else None."""
        extra = {
            "QueueSid": queue_sid,
            "QueuePosition": "1",
            "QueueTime": str(queue_time),
            "AvgQueueTime": "0",
            "CurrentQueueSize": "1",
            "MaxQueueSize": "100",
        }
        url, method = self._resolve(e.wait_url, base), e.wait_url_method
        for _ in range(3):  # a wait document may <Redirect> to another one
            self._count_fetch()
            last = self._send("enqueue-wait", url, self.params(extra), method)[-1]
            self._take_update()
            if not last.ok:
                self.report.errors.append(f"{last.describe()} (waitUrl)")
                return None
            try:
                verbs = t.parse_twiml(last.body)
            except t.TwimlError as exc:
                self.report.errors.append(f"waitUrl {url}: answer is not TwiML ({exc})")
                return None
            redirect = None
            for verb in verbs:
                self._take_update()
                if isinstance(verb, (t.Say, t.Play, t.Pause)):
                    self._prompt(verb, url)
                elif isinstance(verb, t.Gather):
                    left = self._wait_gather(verb, url)
                    if left is not None:
                        return left
                elif isinstance(verb, t.Leave):
                    return "leave"
                elif isinstance(verb, t.Hangup):
                    raise CallOver("hangup-verb")
                elif isinstance(verb, t.Redirect):
                    redirect = verb
                    break
                else:
                    self.report.warnings.append(f"<{type(verb).__name__}> is not allowed in a waitUrl document")
            if redirect is None:
                return None
            url, method = self._resolve(redirect.url, url), redirect.method
        return None

    def _wait_gather(self, g: t.Gather, base: str) -> str | None:
        """A <Gather> in a wait document: its prompts, then the caller's next `queue_keys` key (if any) goes to
        its action, whose answer is played under the same rules (it may <Leave>); else its timeout passes."""
        for child in g.children:
            self._take_update()
            self._prompt(child, base)
        index = self._queue_key_index
        key = self.caller.queue_keys[index] if index < len(self.caller.queue_keys) else ""
        if not key or "dtmf" not in g.input:
            self.clock.advance(g.timeout)
            self._take_update()
            return None
        self._queue_key_index += 1
        self.clock.advance(KEY_SECONDS)
        self.report.keys.append(key)
        self._event("keys", key)
        if not g.action:
            return None
        action = self._resolve(g.action, base)
        self._count_fetch()
        last = self._send("gather", action, self.params({"Digits": key}), g.method)[-1]
        self._take_update()
        if not last.ok:
            self.report.errors.append(f"{last.describe()} (a Gather in a waitUrl document)")
            return None
        try:
            verbs = t.parse_twiml(last.body)
        except t.TwimlError as exc:
            self.report.errors.append(f"Gather action {action}: answer is not TwiML ({exc})")
            return None
        for verb in verbs:
            if isinstance(verb, t.Leave):
                return "leave"
            if isinstance(verb, t.Hangup):
                raise CallOver("hangup-verb")
            if isinstance(verb, (t.Say, t.Play, t.Pause)):
                self._prompt(verb, action)
        return None

    def _dial(self, d: t.Dial, base: str) -> Fetch | None:
        for target in d.targets:
            self.report.dialled.append(target.label)
        self._event("dial", [target.label for target in d.targets])
        behaviour = self.dial
        extra = {"DialCallSid": new_sid("CA")}
        if behaviour.answers([target.label for target in d.targets]) and behaviour.ring_seconds < d.timeout:
            self.clock.advance(behaviour.ring_seconds)
            talk = min(behaviour.talk_seconds, d.time_limit)
            self.clock.advance(talk)
            extra.update(DialCallStatus="completed", DialCallDuration=str(round(talk)), DialBridged="true")
        else:
            self.clock.advance(d.timeout)
            extra.update(DialCallStatus=behaviour.unanswered_status, DialBridged="false")
        self._event("dial-ended", extra["DialCallStatus"])
        return Fetch("dial", self._resolve(d.action, base), d.method, extra) if d.action else None

    def _open_stream(self, s: t.Stream, kind: str, base: str) -> StreamInfo:
        if s.name and any(info.name == s.name for info in self.open_streams):
            self.report.warnings.append(f"a stream named {s.name!r} is already running on this call; started again")
        info = StreamInfo(
            sid=new_sid("MZ"),
            call_sid=self.sid,
            account_sid=self.account.account_sid,
            url=s.url or "",
            kind=kind,
            name=s.name,
            track=s.track,
            parameters=dict(s.parameters),
            started_at=self.clock.now,
        )
        self.open_streams.append(info)
        self.all_streams.append(info)
        self._event("stream-start", info.url)
        self.streamer.open(info)
        if s.status_callback:
            self._stream_callbacks[info.sid] = (self._resolve(s.status_callback, base), s.status_callback_method)
            self._stream_callback(info, "started")
        return info

    def _stream_callback(self, info: StreamInfo, what: str) -> None:
        url, method = self._stream_callbacks[info.sid]
        params = {
            "AccountSid": info.account_sid,
            "CallSid": info.call_sid,
            "StreamSid": info.sid,
            "StreamName": info.name or info.sid,
            "StreamEvent": f"stream-{what}",
            "Timestamp": self.clock.stamp(),
        }
        self._callback("stream-status", url, params, method, self._callback_deliveries)

    def _close_stream(self, info: StreamInfo) -> None:
        if info not in self.open_streams:
            return
        self.open_streams.remove(info)
        info.stopped_at = self.clock.now
        self.streamer.close(info)
        self._event("stream-stop", info.url)
        if info.sid in self._stream_callbacks:
            self._stream_callback(info, "stopped")

    def _stop_streams(self, streams: list[t.Stream]) -> None:
        names = {s.name for s in streams if s.name}
        for info in list(self.open_streams):
            if not names or info.name in names:
                self._close_stream(info)

    def _connect(self, c: t.Connect, base: str) -> Fetch | None:
        for stream in c.streams:
            info = self._open_stream(stream, "connect", base)
            spoken = self.caller.spoken(self._gathers)
            if spoken is not None:
                self._gathers += 1
                self._speak(spoken)
            for key in self.caller.stream_keys:
                self.clock.advance(KEY_SECONDS)
                self.streamer.send_dtmf(info, key, self.clock.now)
            self.streamer.hold(info, max(0.0, self._remaining()))
            self._close_stream(info)
        return Fetch("connect", self._resolve(c.action, base), c.method) if c.action else None

    # ----- the end of the call ------------------------------------------------------------------------

    def _finish(self) -> None:
        with self._lock:
            self._ended = True
            self.status = self._final_status
            self._pending = None
        end = self.clock.now
        for info in list(self.open_streams):
            self._close_stream(info)
        for error in getattr(self.streamer, "errors", []):
            if error not in self.report.errors:
                self.report.errors.append(error)
        for rec in self.call_recordings:
            stop = rec.end_offset if rec.end_offset is not None else end
            rec.media = call_recording_media(self.segments, rec.start_offset, stop, rec.channels == 2)
            rec.duration = round(stop - rec.start_offset)
            rec.status = "completed"
        status_deliveries: list[Delivery] = []
        if self.status_callback:
            extra = {
                "CallDuration": str(round(end)),
                "Timestamp": self.clock.stamp(end),
                "CallbackSource": "call-progress-events",
                "SequenceNumber": str(self.status_sequence),
            }
            status_deliveries = self._send("call-status", self.status_callback, self.params(extra))
        for rec in self.call_recordings:
            if rec.status_callback and "completed" in rec.status_callback_events:
                self._recording_callback(rec, "completed")
        for job in self._deferred:
            self._background(*job)
        self._deferred.clear()
        for thread in list(self._threads):
            thread.join(timeout=max(2.0, self._remaining()))
            if thread.is_alive():
                self.report.errors.append(f"{thread.name}: callback still unanswered when the call report was made")
        self.sender.close()
        self._report_end(status_deliveries)

    def _report_end(self, status_deliveries: list[Delivery]) -> None:
        report = self.report
        report.duration = round(self.clock.now)
        recordings = sorted(self.account.recordings.for_call(self.sid), key=lambda r: r.start_offset)
        report.recorded = [r.summary(self.account.api_url) for r in recordings if r.status != "absent"]
        report.streams = [s.to_dict() for s in self.all_streams]
        callbacks = [d for r in recordings for d in r.callbacks] + self._callback_deliveries + status_deliveries
        for delivery in callbacks:
            if not delivery.ok:
                report.errors.append(delivery.describe())
        self._event("ended", report.ended_by)
