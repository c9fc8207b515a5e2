"""Outbound calls placed through the REST API (POST …/Calls.json), answered by callees the test scripts.

As Twilio does: the call is `queued` when the API answers 201; then it rings the callee. Nobody answers,
the line is busy, or the call fails: no TwiML is fetched, and the status callback says `no-answer`, `busy`
or `failed`. The callee answers: the TwiML at `Url` runs like an inbound call (Direction `outbound-api`,
From our number, To the callee), the callee pressing the keys of their script, and the call ends with the
`completed` status callback. Progress events (`initiated`, `ringing`, `answered`) are sent when asked for
with StatusCallbackEvent.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from emulator.call import CallSession
from emulator.clock import VirtualClock, new_sid
from emulator.script import CallerScript, CallReport
from emulator.signing import Delivery, WebhookSender

if TYPE_CHECKING:
    from emulator.account import TwilioEmulator

EVENTS = ("initiated", "ringing", "answered", "completed")
UNANSWERED = ("no-answer", "busy", "failed")


class OutboundError(ValueError):
    """A Calls create request Twilio would refuse: HTTP `status`, Twilio error `code`."""

    def __init__(self, status: int, code: int, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


@dataclass
class Callee:
    """The person an outbound call rings: answers after `ring_seconds` and follows `script`, or does not
    answer (`unanswered`: no-answer, busy or failed)."""

    script: CallerScript = field(default_factory=lambda: CallerScript(hang_up_when_done=True))
    answer: bool = True
    unanswered: str = "no-answer"
    ring_seconds: float = 5.0

    def __post_init__(self) -> None:
        if self.unanswered not in UNANSWERED:
            raise ValueError(f"unanswered must be one of {UNANSWERED}, not {self.unanswered!r}")

    @classmethod
    def presses(cls, *keys: str) -> Callee:
        """Answers, presses one entry of `keys` at each <Gather> ('' = stays silent), then hangs up."""
        return cls(CallerScript(keys=list(keys), hang_up_when_done=True))

    @classmethod
    def hangs_up(cls) -> Callee:
        """Answers, listens, and hangs up at the first <Gather> without pressing anything."""
        return cls(CallerScript(keys=[], hang_up_when_done=True))

    @classmethod
    def no_answer(cls) -> Callee:
        return cls(answer=False, unanswered="no-answer")

    @classmethod
    def busy(cls) -> Callee:
        return cls(answer=False, unanswered="busy")

    @classmethod
    def failed(cls) -> Callee:
        return cls(answer=False, unanswered="failed")


@dataclass
class OutboundCall:
    """One call placed through the REST API, and what became of it."""

    sid: str
    to: str
    from_: str
    url: str
    method: str
    status_callback: str | None
    status_callback_method: str
    events: tuple[str, ...]
    timeout: int
    callee: Callee
    status: str = "queued"
    report: CallReport | None = None  # the conversation, when the callee answered
    callbacks: list[Delivery] = field(default_factory=list)  # status callbacks sent outside the conversation
    done: threading.Event = field(default_factory=threading.Event)

    def status_callbacks(self) -> list[Delivery]:
        """Every status callback of the call (all attempts), in order."""
        answered = self.report.sent("call-status") if self.report else []
        return [*self.callbacks, *answered]

    @property
    def keys(self) -> list[str]:
        return self.report.keys if self.report else []

    @property
    def heard(self) -> list[str]:
        return self.report.heard if self.report else []


def parse_create(form: dict[str, list[str]]) -> dict:
    """The Calls create parameters, checked as Twilio checks them (errors name the parameter)."""
    one = {k: v[-1] for k, v in form.items()}
    to, from_ = one.get("To", "").strip(), one.get("From", "").strip()
    if not to:
        raise OutboundError(400, 21201, "No 'To' number is specified")
    if not from_:
        raise OutboundError(400, 21213, "No 'From' number is specified")
    url = one.get("Url", "").strip()
    if not url.startswith(("http://", "https://")):
        raise OutboundError(
            400, 21205, f"Url must be an absolute http(s) URL, not {url!r} (the emulator places calls with Url only)"
        )
    method = one.get("Method", "POST").upper()
    callback_method = one.get("StatusCallbackMethod", "POST").upper()
    if method not in ("GET", "POST") or callback_method not in ("GET", "POST"):
        raise OutboundError(400, 21206, "Method and StatusCallbackMethod must be GET or POST")
    events = tuple(e for value in form.get("StatusCallbackEvent", []) for e in value.replace(",", " ").split())
    unknown = [e for e in events if e not in EVENTS]
    if unknown:
        raise OutboundError(400, 21626, f"StatusCallbackEvent {unknown} not one of {list(EVENTS)}")
    try:
        timeout = int(one.get("Timeout", "60"))
    except ValueError:
        raise OutboundError(400, 21207, "Timeout must be a whole number of seconds") from None
    callback = one.get("StatusCallback", "").strip() or None
    return {
        "to": to,
        "from_": from_,
        "url": url,
        "method": method,
        "status_callback": callback,
        "status_callback_method": callback_method,
        "events": events or ("completed",),
        "timeout": max(5, min(timeout, 600)),
    }


class OutboundDialer:
    """Places the account's outbound calls, each in a thread of its own, and keeps them for the test."""

    def __init__(self, account: TwilioEmulator) -> None:
        self.account = account
        self.calls: list[OutboundCall] = []
        self.default_callee = Callee.no_answer()  # a number nobody scripted rings out
        self._callees: dict[str, list[Callee]] = {}
        self._lock = threading.Condition()

    def expect(self, number: str, *callees: Callee) -> None:
        """The next calls to `number` are met by `callees`, in order."""
        with self._lock:
            self._callees.setdefault(number, []).extend(callees)

    def _callee_for(self, number: str) -> Callee:
        with self._lock:
            waiting = self._callees.get(number)
            return waiting.pop(0) if waiting else self.default_callee

    def create(self, form: dict[str, list[str]]) -> dict:
        """POST Calls.json: queue the call and start it; returns the Call resource as it was when queued."""
        spec = parse_create(form)
        call = OutboundCall(sid=new_sid("CA"), callee=self._callee_for(spec["to"]), **spec)
        session = CallSession(
            self.account,
            call.url,
            call.callee.script,
            from_=call.from_,
            to=call.to,
            status_callback=call.status_callback if "completed" in call.events else None,
            timeout=60,
            direction="outbound-api",
            voice_method=call.method,
            sid=call.sid,
        )
        session.status = "queued"
        self.account.register_call(session)
        with self._lock:
            self.calls.append(call)
        queued = session.to_json()  # what the API answers: the call as queued, whatever happens next
        threading.Thread(
            target=self._run, args=(call, session), name=f"emulator-outbound-{call.sid[-6:]}", daemon=True
        ).start()
        return queued

    def _run(self, call: OutboundCall, session: CallSession) -> None:
        sender = WebhookSender(self.account.auth_token, retry=self.account.retry_webhooks)
        ringing = VirtualClock(time_scale=self.account.time_scale)
        sequence = 0

        def event(name: str, status: str, **extra: str) -> None:
            nonlocal sequence
            call.status = session.status = status
            if call.status_callback and name in call.events:
                params = session.params(
                    {
                        "CallbackSource": "call-progress-events",
                        "SequenceNumber": str(sequence),
                        "Timestamp": ringing.stamp(),
                        **extra,
                    }
                )
                call.callbacks.extend(
                    sender.send("call-status", call.status_callback, params, method=call.status_callback_method)
                )
                sequence += 1

        try:
            event("initiated", "queued")
            callee = call.callee
            if callee.answer or callee.unanswered == "no-answer":
                event("ringing", "ringing")
            if not callee.answer or callee.ring_seconds >= call.timeout:
                ringing.advance(call.timeout if callee.unanswered == "no-answer" else 0.0)
                final = callee.unanswered if not callee.answer else "no-answer"
                session._ended = True  # the conversation never starts
                event("completed", final, CallDuration="0")
                return
            ringing.advance(callee.ring_seconds)
            session.clock.origin = ringing.at(ringing.now)
            event("answered", "in-progress")
            session.status_sequence = sequence
            call.report = session.run()
            call.status = session.status
        finally:
            sender.close()
            with self._lock:
                call.done.set()
                self._lock.notify_all()

    def wait(self, to: str, count: int, timeout: float = 300.0) -> list[OutboundCall]:
        """The first `count` calls to `to`, once each is over; AssertionError when they do not come in time."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while True:
                mine = [c for c in self.calls if c.to == to]
                if len(mine) >= count and all(c.done.is_set() for c in mine[:count]):
                    return mine[:count]
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"expected {count} finished call(s) to {to}, have "
                        f"{[(c.sid, c.status, c.done.is_set()) for c in mine]}"
                    )
                self._lock.wait(min(left, 0.2))

    def placed(self, to: str | None = None) -> list[OutboundCall]:
        """Calls placed so far (to one number, or all)."""
        with self._lock:
            return [c for c in self.calls if to is None or c.to == to]
