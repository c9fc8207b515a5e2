"""Whole calls, end to end: the real service (`hotline serve`) called through the Twilio emulator.

Speech is the real Vosk engine with the Korean model on real Korean speech (the Mandarin model is not
obtainable here); the Mandarin clips serve as real caller audio where no transcript is checked.
"""

from __future__ import annotations

import secrets
import time
import wave
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from emulator import CallerScript, DialBehaviour, TwilioEmulator
from tests.conftest import KO_SPEECH, ZH_SPEECH, korean_model_path
from tests.running_service import RunningService, emulator_env

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"  # "만약 박근혜 대통령이 정말 로 손 을 내밀 면 안철수 ..."
ZH_CLIP = ZH_SPEECH / "paddlespeech_zh.wav"


@pytest.fixture(scope="module")
def service(tmp_path_factory, account, twilio):
    var = tmp_path_factory.mktemp("var")
    svc = RunningService(
        var,
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_DOWNLOAD_ATTEMPTS": "3",
            "HOTLINE_DOWNLOAD_BACKOFF_SECONDS": "0.1",
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(autouse=True)
def _healthy_emulator(twilio):
    twilio.recording_fault = None
    twilio.retry_webhooks = False
    yield
    twilio.recording_fault = None
    twilio.retry_webhooks = False


def caller_number() -> str:
    """A new caller each time: the same number twice within the window makes a repeat (多) case."""
    return f"+86139{secrets.randbelow(10**8):08d}"


def call(twilio: TwilioEmulator, service: RunningService, **script):
    return twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(**script),
        from_=caller_number(),
        status_callback=f"{service.url}/twilio/status",
    )


def hangul(text: str) -> str:
    return "".join(ch for ch in text if "\uac00" <= ch <= "\ud7a3")


def test_wage_arrears_call_is_transcribed_and_dispatched_to_the_district_the_caller_chose(twilio, service):
    # The Korean clip names no Chinese district, so the caller is asked and presses 3 (新城区).
    report = call(twilio, service, keys=["2", "3"], say=KO_CLIP)
    assert not report.errors
    assert "12351" in report.heard[0] and "录音" in report.heard[1]  # greeting, then the recording notice
    assert report.keys == ["2", "3"]
    assert any("哪个区县" in h and "新城区请按3" in h for h in report.heard)
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["number"].startswith("12351-") and len(ticket["number"]) == len("12351-20261124-0001")
    # The caller heard where it went and the number, digit by digit.
    told = next(h for h in report.heard if "工单号" in h)
    assert "新城区总工会" in told
    spoken = "".join(ch for ch in told.split("再说一遍")[0] if ch in "零幺二三四五六七八九")
    assert spoken == ticket["number"].replace("-", "").translate(str.maketrans("0123456789", "零幺二三四五六七八九"))
    assert ticket["menu_choice"] == "help" and ticket["route"] == "local_union"
    assert ticket["status"] == "dispatched" and ticket["union_id"] == "xa-xincheng"
    assert ticket["reply_due_at"] is not None
    assert not ticket["needs_human"]
    assert "박근혜" in ticket["transcript"] and "안철수" in ticket["transcript"]
    problem = next(r for r in ticket["recordings"] if r["source"] == "problem")
    assert problem["status"] == "transcribed" and problem["channels"] == 1
    assert problem["duration_s"] == pytest.approx(6.44, abs=0.1)
    kinds = [e["kind"] for e in ticket["events"]]
    assert kinds[0] == "accepted" and {"classified", "routed", "dispatched"} <= set(kinds)
    assert call_story(service, report.call_sid) == [
        "answered", "call_recording_started",
        "step", "menu_input",  # 2: help
        "step", "problem_recorded",  # the caller's problem
        "step", "routed",  # understood, routed to a union: which district?
        "step", "menu_input",  # 3: 新城区
        "ended",
    ]  # fmt: skip


def test_full_call_recording_is_started_stored_with_sha256_and_transcribed_by_channel(twilio, service):
    report = call(twilio, service, keys=["1", "1"], say=KO_CLIP)
    ticket = service.wait_for_ticket(report.call_sid)
    full = None
    deadline = time.monotonic() + 600  # two channels of a whole call: minutes on a loaded machine (jobs are niced)
    while time.monotonic() < deadline:
        ticket = service.ticket_of(report.call_sid)
        full = next((r for r in ticket["recordings"] if r["source"] == "call"), None)
        if full and full["status"] in ("transcribed", "failed"):
            break
        time.sleep(0.5)
    assert full is not None and full["status"] == "transcribed", ticket
    assert full["channels"] == 2
    stored = service.var_dir / "recordings" / full["path"]
    import hashlib

    assert hashlib.sha256(stored.read_bytes()).hexdigest() == full["sha256"]
    with wave.open(str(stored)) as w:
        assert (w.getnchannels(), w.getframerate()) == (2, 8000)
    caller_channel = next(t for t in full["transcripts"] if t["channel"] == 0)
    assert "안철수" in caller_channel["text"]


def test_legal_question_with_no_lawyer_signed_in_becomes_a_callback_for_the_next_lawyer(twilio, service):
    number = caller_number()
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        from_=number,  # 1: legal; then 1: call me back here
        caller=CallerScript(keys=["1", "1"], say=ZH_CLIP),
        status_callback=f"{service.url}/twilio/status",
    )
    assert any("提示音后" in h for h in report.heard)
    assert any("律师" in h and "回电" in h for h in report.heard)
    ticket = service.wait_for_ticket(report.call_sid)
    assert (ticket["menu_choice"], ticket["route"]) == ("legal", "lawyer_callback")
    assert ticket["callback_number"] == number
    assert ticket["assigned_to"] in {f"L{n:02d}" for n in range(1, 18)}
    assert any(e["kind"] == "callback_requested" for e in ticket["events"])


def test_policy_question_without_an_answer_goes_to_a_person(twilio, service):
    report = call(twilio, service, keys=["3"], say=ZH_CLIP)
    ticket = service.wait_for_ticket(report.call_sid)
    assert (ticket["menu_choice"], ticket["route"]) == ("policy", "operator")
    assert report.dialled == ["+8612351000"]


# Call events written by the live stream and the jobs come when they come; the rest is the call's own story.
ASYNC_KINDS = ("stream_", "speech_", "live_transcript", "recording_", "transcribed")


def call_story(service: RunningService, call_sid: str) -> list[str]:
    """The kinds of the call's events in order, those of the webhooks alone (see ASYNC_KINDS)."""
    events = service.operator.get(f"/api/calls/{call_sid}").json()["events"]
    assert all(e["kind_label"] and not e["kind_label"].startswith("记录") for e in events), events  # all declared
    return [e["kind"] for e in events if not e["kind"].startswith(ASYNC_KINDS)]


def test_operator_branch_dials_the_operators_and_leaves_a_ticket_for_them(twilio, service):
    report = call(twilio, service, keys=["0"])
    assert report.dialled == ["+8612351000"]
    assert call_story(service, report.call_sid) == [
        "answered", "call_recording_started", "step", "menu_input", "step", "dialling", "dial_ended", "ended"
    ]  # fmt: skip
    handled = service.operator.get(f"/api/calls/{report.call_sid}").json()
    assert (handled["handler"], handled["handler_role"]) == ("desk:+8612351000", "operator")  # for QA sampling
    ticket = service.ticket_of(report.call_sid)
    assert ticket["route"] == "operator" and ticket["needs_human"]
    assert "转接话务员" in ticket["needs_human_reason"]


def test_no_input_asks_once_more_then_puts_the_caller_through_to_an_operator(twilio, service):
    report = call(twilio, service, keys=["", ""])
    menus = [h for h in report.heard if "按1" in h]
    assert len(menus) == 2
    assert any("对不起" in h for h in report.heard)
    assert report.dialled == ["+8612351000"]
    assert call_story(service, report.call_sid) == [
        "answered", "call_recording_started",
        "step", "menu_input",  # silence
        "step", "menu_input", "menu_failed",  # silence again: to a person
        "step", "dialling", "dial_ended", "ended",
    ]  # fmt: skip


def test_a_wrong_key_asks_again_and_a_right_key_then_works(twilio, service):
    report = call(twilio, service, keys=["9", "2", "1"], say=ZH_CLIP)
    assert report.keys == ["9", "2", "1"]
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["menu_choice"] == "help" and ticket["union_id"] == "xa-beilin"


def test_operator_not_answering_lets_the_caller_leave_a_message(twilio, service):
    number = caller_number()
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"], say=ZH_CLIP),
        from_=number,
        status_callback=f"{service.url}/twilio/status",
        dial=DialBehaviour(answer=False),
    )
    assert report.dialled == ["+8612351000"]  # rung once, no endless ringing
    assert any("繁忙" in h and "回电" in h and "工单号" in h for h in report.heard)
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["route"] == "operator" and ticket["callback_number"] == number and ticket["recordings"]


def test_hanging_up_during_the_recording_still_leaves_the_ticket(twilio, service):
    report = call(twilio, service, keys=["2"], say=KO_CLIP, hang_up_during_record=True)
    assert report.ended_by == "caller"
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["transcript"] and "안철수" in ticket["transcript"]


def test_hanging_up_at_the_menu_after_choosing_leaves_a_ticket_to_call_back(twilio, service):
    # The caller chose "help" then hung up at the beep: nothing recorded, a person must call back.
    report = call(twilio, service, keys=["2"], say=None, hang_up_during_record=True)
    ticket = service.ticket_of(report.call_sid)
    assert ticket is not None and ticket["needs_human"]


def test_retried_webhooks_never_duplicate_a_call_recording_or_ticket(twilio, service):
    twilio.retry_webhooks = True
    report = call(twilio, service, keys=["2", "1"], say=KO_CLIP)
    assert not report.errors
    ticket = service.wait_for_ticket(report.call_sid)
    tickets = [t for t in service.operator.get("/api/tickets?limit=500").json() if t["call_sid"] == report.call_sid]
    assert len(tickets) == 1
    call_view = service.operator.get(f"/api/calls/{report.call_sid}").json()
    assert sum(1 for e in call_view["events"] if e["kind"] == "answered") == 1
    sids = [r["recording_sid"] for r in ticket["recordings"]]
    assert len(sids) == len(set(sids)) and len([r for r in ticket["recordings"] if r["source"] == "problem"]) == 1


@pytest.mark.parametrize("signature", [None, "forged+signature=", "valid-for-another-url"])
def test_forged_or_missing_signatures_are_refused_and_change_nothing(account, service, signature):
    form = {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": account[0],
        "From": "+8613900000000",
        "To": "+8612351",
        "CallStatus": "ringing",
    }
    headers = {}
    if signature == "valid-for-another-url":
        headers["X-Twilio-Signature"] = RequestValidator(account[1]).compute_signature(
            "https://elsewhere.example/twilio/voice", form
        )
    elif signature:
        headers["X-Twilio-Signature"] = signature
    response = httpx.post(f"{service.url}/twilio/voice", data=form, headers=headers)
    assert response.status_code == 403
    assert service.operator.get(f"/api/calls/{form['CallSid']}").status_code == 404


# A request signed through a trusted proxy: tests/test_hardening_proxy.py.


def _zero_bytes(tmp_path: Path) -> Path:
    path = tmp_path / "empty.wav"
    path.write_bytes(b"")
    return path


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.wav"
    path.write_bytes(b"RIFF\x24\x00\x00\x00WAVEfmt " + secrets.token_bytes(300))
    return path


def _silence(tmp_path: Path) -> Path:
    path = tmp_path / "silence.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(16000)
        w.writeframes(b"\x00\x00" * 16000 * 3)
    return path


@pytest.mark.parametrize(
    ("make_audio", "fault", "code", "error"),
    [
        (_corrupt, None, "recording_unusable", "corrupt"),
        (_zero_bytes, None, "recording_unusable", "empty"),
        (_silence, None, "no_speech", None),
        (None, "not-found", "recording_unusable", "HTTP 404"),
        (None, "wrong-content-type", "recording_unusable", "content type"),
    ],
    ids=["corrupt-wav", "zero-bytes", "silence", "404", "wrong-content-type"],
)
def test_bad_recordings_leave_the_ticket_flagged_for_a_person(
    twilio, service, tmp_path, make_audio, fault, code, error
):
    twilio.recording_fault = fault
    say = make_audio(tmp_path) if make_audio else ZH_CLIP
    report = call(twilio, service, keys=["2"], say=say)
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["needs_human"], ticket
    # The code for programs (QA's sample reads it), a sentence for the operator naming the recording.
    assert ticket["needs_human_codes"] == [code], ticket
    problem = next(r for r in ticket["recordings"] if r["source"] == "problem")
    assert problem["recording_sid"] in ticket["needs_human_reason"] and "请" in ticket["needs_human_reason"]
    assert error is None or error in problem["error"], problem  # what went wrong stays with the recording
    assert ticket["number"] and ticket["status"] == "accepted"
    if fault is None:
        assert problem["sha256"]  # even an unusable file is kept, checksummed, for a person to look at
    assert any(e["kind"] == "needs_human" for e in ticket["events"])
