"""A crash during a call loses nothing: the service is killed (`kill -9`) mid-call, the emulator finishes the call
while the service is down (its status and recording callbacks fail, its REST API keeps answering), and on restart
the service asks Twilio's REST API how the call ended and what it recorded: the call ends `completed`, its
recordings are stored with their sha256 and transcribed, the ticket has the caller's words."""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx
import pytest

from emulator import CallerScript, TwilioEmulator, sign
from hotline.credentials import TwilioCredentials
from hotline.twilio_client import twilio_client
from tests.conftest import KO_SPEECH, korean_model_path
from tests.running_service import RunningService, emulator_env

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"  # "... 안철수 ..."
FULL_CALL = "StartCallRecordingTwiML"


@dataclass
class CrashingCaller(CallerScript):
    """A caller during whose call the service dies: at the `at_gather`-th menu (from 0), or as they start to speak
    at the record step (`at_record`)."""

    crash: Callable[[], None] = field(default=lambda: None)
    at_gather: int | None = None
    at_record: bool = False

    def spoken(self, index: int):
        if self.at_gather is not None and index == self.at_gather:
            self.crash()
        return super().spoken(index)

    def clip(self, index: int):
        if self.at_record and index == 0:
            self.crash()
        return super().clip(index)


@pytest.fixture
def service(tmp_path, twilio):
    svc = RunningService(
        tmp_path,
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
            "HOTLINE_DOWNLOAD_BACKOFF_SECONDS": "0.1",
        },
    )
    svc.start()
    yield svc
    svc.stop()


def crash_once_recording(twilio: TwilioEmulator, service: RunningService) -> tuple[Callable[[], None], list[bool]]:
    """A crash for the call in progress: once the service has started its full-call recording, `kill -9`."""
    crashed: list[bool] = []

    def crash() -> None:
        if crashed:
            return
        deadline = time.monotonic() + 60
        while not any(c.call_recordings for c in twilio.all_calls() if c.active):
            assert time.monotonic() < deadline, "the service never started the full-call recording"
            time.sleep(0.05)
        service.kill()
        crashed.append(True)

    return crash, crashed


def wait_for(what: str, check: Callable[[], object], service: RunningService, timeout_s: float = 300) -> object:
    """`check()` once it is truthy, polled up to a generous deadline."""
    deadline = time.monotonic() + timeout_s
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout_s} s\n{service.log()[-4000:]}")
        time.sleep(0.2)


def recording_done(service: RunningService, call_sid: str, recording_sid: str) -> dict | None:
    """The call's view once the recording is stored and transcribed (as its events say), else None."""
    view = service.api.get(f"/api/calls/{call_sid}").json()
    kinds = {e["kind"] for e in view["events"] if e["detail"].get("recording_sid") == recording_sid}
    return view if {"recording_stored", "transcribed"} <= kinds else None


def stored_sha256(view: dict, recording_sid: str) -> str:
    return next(
        e["detail"]["sha256"]
        for e in view["events"]
        if e["kind"] == "recording_stored" and e["detail"]["recording_sid"] == recording_sid
    )


def check_recording_is_kept(service: RunningService, call_sid: str, recording_sid: str) -> dict:
    """Stored, checksummed and transcribed: the audio played back through the API has the sha256 noted."""
    view = wait_for(
        f"recording {recording_sid} stored and transcribed",
        lambda: recording_done(service, call_sid, recording_sid),
        service,
    )
    audio = service.api.get(f"/api/recordings/{recording_sid}/audio")
    assert audio.status_code == 200
    assert hashlib.sha256(audio.content).hexdigest() == stored_sha256(view, recording_sid)
    return view


def test_a_call_in_progress_when_the_service_dies_is_finished_and_its_recording_kept_after_restart(twilio, service):
    crash, crashed = crash_once_recording(twilio, service)
    # Key 2, the problem said, then the district question: the service dies as it is asked.
    caller = CrashingCaller(keys=["2", "3"], say=KO_CLIP, crash=crash, at_gather=1)
    report = twilio.place_call(
        f"{service.url}/twilio/voice", caller=caller, status_callback=f"{service.url}/twilio/status", timeout=120
    )
    assert crashed, f"the call never reached the district question: {report.heard}"
    lost = [d for d in report.requests if d.kind in ("call-status", "recording-status") and not d.ok]
    assert any(d.kind == "call-status" for d in lost), "the status callback should have failed: the service was down"
    full_call = next(r["sid"] for r in report.recorded if r["source"] == FULL_CALL)
    assert any(d.params.get("RecordingSid") == full_call for d in lost)
    # Twilio's REST API (the emulator's) keeps answering while the service is down: the call is over there, and
    # both recordings are complete and downloadable.
    rest = twilio_client(TwilioCredentials(twilio.account_sid, twilio.auth_token), twilio.api_url)
    assert rest.calls(report.call_sid).fetch().status == "completed"
    recordings = {r.sid: r for r in rest.calls(report.call_sid).recordings.list()}
    assert recordings[full_call].status == "completed" and recordings[full_call].channels == 2

    service.start()
    view = check_recording_is_kept(service, report.call_sid, full_call)
    view = wait_for(
        "the call ended",
        lambda: (v := service.api.get(f"/api/calls/{report.call_sid}").json())["ended_at"] and v,
        service,
    )
    assert view["status"] == "completed"
    assert [e["detail"]["status"] for e in view["events"] if e["kind"] == "ended"] == ["completed"]
    assert any(e["kind"] == "reconciled" for e in view["events"])
    ticket = service.wait_for_ticket(report.call_sid, timeout_s=300)
    assert "안철수" in ticket["transcript"]

    # The lost callbacks arrive after all (Twilio's late retry): nothing changes a second time.
    before = service.api.get(f"/api/calls/{report.call_sid}").json()["events"]
    for delivery in lost:
        url = delivery.url
        response = httpx.post(
            url,
            data=delivery.params,
            timeout=30,
            headers={"X-Twilio-Signature": sign(twilio.auth_token, url, delivery.params)},
        )
        assert response.status_code == 204
    after = service.api.get(f"/api/calls/{report.call_sid}").json()
    assert after["events"] == before
    assert after["status"] == "completed"


def test_a_crash_before_the_problem_was_heard_still_gives_a_ticket_with_the_callers_words(twilio, service):
    crash, crashed = crash_once_recording(twilio, service)
    # The service dies as the caller starts describing the problem: the recording's action never arrives.
    caller = CrashingCaller(keys=["2"], say=KO_CLIP, crash=crash, at_record=True)
    report = twilio.place_call(
        f"{service.url}/twilio/voice", caller=caller, status_callback=f"{service.url}/twilio/status", timeout=120
    )
    assert crashed
    problem = next(r["sid"] for r in report.recorded if r["source"] == "RecordVerb")
    full_call = next(r["sid"] for r in report.recorded if r["source"] == FULL_CALL)

    service.start()
    check_recording_is_kept(service, report.call_sid, problem)
    view = check_recording_is_kept(service, report.call_sid, full_call)
    assert view["status"] == "completed"
    ticket = service.wait_for_ticket(report.call_sid, timeout_s=300)
    assert ticket["menu_choice"] == "help"
    assert "안철수" in ticket["transcript"]


def test_a_call_whose_end_was_never_reported_is_finished_by_the_periodic_check(twilio, tmp_path, database_url):
    # No status callback at all (a lost request while the service is up): the periodic check, here every
    # second for any call in progress, asks Twilio and finishes it. On SQLite and PostgreSQL.
    service = RunningService(
        tmp_path,
        {
            **emulator_env(twilio),
            "HOTLINE_DATABASE_URL": database_url,
            "HOTLINE_RECONCILE_SCAN_SECONDS": "1",
            "HOTLINE_RECONCILE_AFTER_MINUTES": "0",
        },
    )
    with service:
        report = twilio.place_call(
            f"{service.url}/twilio/voice", caller=CallerScript(keys=[], hang_up_when_done=True), timeout=120
        )
        assert not report.sent("call-status")
        view = wait_for(
            "the call ended",
            lambda: (v := service.api.get(f"/api/calls/{report.call_sid}").json())["ended_at"] and v,
            service,
        )
        assert view["status"] == "completed"
        assert [e["detail"]["source"] for e in view["events"] if e["kind"] == "reconciled"] == ["twilio-rest"]
