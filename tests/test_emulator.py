"""The Twilio emulator against a tiny signed-webhook app: TwiML verbs, signatures, recordings, REST, retries."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import threading
import time
import wave
from collections.abc import Iterator
from email.utils import parsedate_to_datetime
from pathlib import Path

import httpx
import numpy as np
import pytest
from emulator_app import AppServer, AppState
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from emulator import AgentAnswers, CallerScript, DialBehaviour, TwilioEmulator, parse_twiml
from tests.conftest import SHARED, korean_model_path
from tests.running_service import RunningService, free_port

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

CLIP = SHARED / "data" / "speech" / "zh" / "cv_zh-CN_18536155.wav"
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "emulator-test-auth-token"
SID = {"CA": re.compile(r"^CA[0-9a-f]{32}$"), "RE": re.compile(r"^RE[0-9a-f]{32}$")}
STANDARD = {"CallSid", "AccountSid", "From", "To", "Caller", "Called", "CallStatus", "Direction", "ApiVersion"}


class RebasedHttpClient(TwilioHttpClient):
    """Sends what twilio-python addresses to https://api.twilio.com to the emulator instead."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=5)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        return super().request(method, url.replace("https://api.twilio.com", self.base_url, 1), *args, **kwargs)


@pytest.fixture(scope="module")
def app() -> Iterator[tuple[str, AppState]]:
    state = AppState(auth_token=AUTH_TOKEN)
    server = AppServer(state)
    base = server.start()
    yield base, state
    server.stop()


@pytest.fixture
def state(app: tuple[str, AppState]) -> AppState:
    app[1].log.clear()
    return app[1]


@pytest.fixture
def base(app: tuple[str, AppState]) -> str:
    return app[0]


@pytest.fixture
def twilio(state: AppState) -> Iterator[TwilioEmulator]:
    with TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN) as emulator:
        state.client_factory = lambda: Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RebasedHttpClient(emulator.api_url))
        yield emulator


def one(state: AppState, path: str) -> dict:
    seen = state.seen(path)
    assert len(seen) == 1, f"{path} requested {len(seen)} times"
    return seen[0]["params"]


def read_wav(data: bytes) -> tuple[int, int, int, int]:
    with wave.open(io.BytesIO(data)) as wav:
        return wav.getframerate(), wav.getnchannels(), wav.getsampwidth(), wav.getnframes()


def get(url: str, auth: tuple[str, str] | None = (ACCOUNT_SID, AUTH_TOKEN)) -> httpx.Response:
    return httpx.get(url, auth=auth, timeout=5, trust_env=False)


# ----- TwiML ------------------------------------------------------------------------------------------


def test_twiml_parser_fills_twilio_defaults() -> None:
    verbs = parse_twiml(
        '<?xml version="1.0" encoding="UTF-8"?><Response><Gather><Say>hi</Say></Gather>'
        '<Record recordingStatusCallbackEvent="in-progress completed"/><Dial>+8610</Dial></Response>'
    )
    gather, record, dial = verbs
    assert (gather.method, gather.timeout, gather.finish_on_key, gather.num_digits) == ("POST", 5.0, "#", None)
    assert (record.max_length, record.play_beep, record.trim) == (3600.0, True, "trim-silence")
    assert record.recording_status_callback_event == ["in-progress", "completed"]
    assert [t.label for t in dial.targets] == ["+8610"]


def test_menu_is_signed_with_twilio_parameters(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/voice", caller=CallerScript(keys=["4"]), status_callback=base + "/status")

    assert report.errors == [] and report.ended_by == "hangup-verb"
    assert SID["CA"].match(report.call_sid)
    assert report.heard == ["欢迎致电12351职工服务热线", base + "/static/menu.wav", "再见"]
    assert report.keys == ["4"]
    assert all(entry["signature_ok"] for entry in state.log)
    assert all(entry["content_type"].startswith("application/x-www-form-urlencoded") for entry in state.log)
    voice = one(state, "/voice")
    assert voice.keys() >= STANDARD
    assert voice["CallSid"] == report.call_sid and voice["AccountSid"] == ACCOUNT_SID
    assert (voice["Direction"], voice["ApiVersion"], voice["CallStatus"]) == ("inbound", "2010-04-01", "ringing")
    assert voice["From"] == voice["Caller"] == "+8613812341234" and voice["To"] == voice["Called"] == "+8612351"
    menu = one(state, "/menu")
    assert (menu["Digits"], menu["CallStatus"]) == ("4", "in-progress")
    status = one(state, "/status")
    assert status["CallStatus"] == "completed" and int(status["CallDuration"]) == report.duration > 0
    assert report.streams[0]["url"] == "wss://media.example.invalid/fork"
    assert report.streams[0]["parameters"] == {"flow": "main"}


def test_silence_falls_through_and_wrong_key_is_sent(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    silent = twilio.place_call(base + "/voice", caller=CallerScript(keys=[""]))
    assert silent.heard[-1] == "没有收到您的按键，再见" and state.seen("/menu") == []

    state.log.clear()
    wrong = twilio.place_call(base + "/voice", caller=CallerScript(keys=["9", "4"]))
    assert [e["params"]["Digits"] for e in state.seen("/menu")] == ["9", "4"]
    assert wrong.heard.count("欢迎致电12351职工服务热线") == 2 and "输入有误" in wrong.heard
    assert wrong.ended_by == "hangup-verb" and wrong.errors == []


# ----- <Record> and recordings ------------------------------------------------------------------------


def test_record_makes_a_telephone_wav_behind_basic_auth(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/voice", caller=CallerScript(keys=["1"], say=CLIP))

    assert report.errors == [] and report.heard[-1] == "已收到您的留言"
    action = one(state, "/recorded")
    assert SID["RE"].match(action["RecordingSid"]) and action["Digits"] == "#"
    assert (
        action["RecordingUrl"]
        == f"{twilio.api_url}/2010-04-01/Accounts/{ACCOUNT_SID}/Recordings/{action['RecordingSid']}"
    )
    with wave.open(str(CLIP)) as wav:
        clip_frames, clip_rate = wav.getnframes(), wav.getframerate()
    assert int(action["RecordingDuration"]) == round(clip_frames / clip_rate)

    for url in (action["RecordingUrl"], action["RecordingUrl"] + ".wav"):
        response = get(url)
        assert response.status_code == 200 and response.headers["content-type"] == "audio/x-wav"
        rate, channels, width, frames = read_wav(response.content)
        assert (rate, channels, width) == (8000, 1, 2)
        assert abs(frames - clip_frames * 8000 / clip_rate) <= 1

    assert get(action["RecordingUrl"], auth=None).status_code == 401
    assert get(action["RecordingUrl"], auth=(ACCOUNT_SID, "wrong")).status_code == 401
    assert get(action["RecordingUrl"] + ".mp3").status_code == 415
    assert get(action["RecordingUrl"] + ".json").json()["source"] == "RecordVerb"

    callback = one(state, "/recording-status")
    assert callback["RecordingSid"] == action["RecordingSid"] and callback["RecordingUrl"] == action["RecordingUrl"]
    assert (callback["RecordingStatus"], callback["RecordingChannels"], callback["RecordingSource"]) == (
        "completed",
        "1",
        "RecordVerb",
    )
    assert callback["CallSid"] == report.call_sid and callback["AccountSid"] == ACCOUNT_SID
    assert callback["RecordingDuration"] == action["RecordingDuration"]
    assert parsedate_to_datetime(callback["RecordingStartTime"]).tzinfo is not None
    assert report.recorded == [
        {
            **report.recorded[0],
            "sid": action["RecordingSid"],
            "url": action["RecordingUrl"],
            "duration": int(action["RecordingDuration"]),
        }
    ]


def test_caller_hangs_up_while_recording(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    script = CallerScript(keys=["1"], say=CLIP, hang_up_during_record=True)
    report = twilio.place_call(base + "/voice", caller=script, status_callback=base + "/status")

    action = one(state, "/recorded")
    assert (action["Digits"], action["CallStatus"]) == ("hangup", "completed")
    assert report.ended_by == "caller" and "已收到您的留言" not in report.heard
    assert get(action["RecordingUrl"]).status_code == 200
    assert one(state, "/recording-status")["RecordingStatus"] == "completed"


@pytest.mark.parametrize("content", [b"", b"RIFF\x00\x00not really a wave file"], ids=["empty", "corrupt"])
def test_unreadable_audio_is_served_unchanged(
    twilio: TwilioEmulator, state: AppState, base: str, tmp_path: Path, content: bytes
) -> None:
    said = tmp_path / "said.wav"
    said.write_bytes(content)
    twilio.place_call(base + "/voice", caller=CallerScript(keys=["1"], say=said))
    response = get(one(state, "/recorded")["RecordingUrl"])
    assert response.status_code == 200 and response.content == content


@pytest.mark.parametrize("fault", ["not-found", "wrong-content-type"])
def test_recording_faults(state: AppState, base: str, fault: str) -> None:
    with TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, recording_fault=fault) as twilio:
        twilio.place_call(base + "/voice", caller=CallerScript(keys=["1"], say=CLIP))
        response = get(one(state, "/recorded")["RecordingUrl"])
    if fault == "not-found":
        assert response.status_code == 404 and response.json()["code"] == 20404
    else:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/html")
        assert b"<html>" in response.content


# ----- <Dial>, <Enqueue> ------------------------------------------------------------------------------


def test_dial_answered_and_unanswered(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/voice", caller=CallerScript(keys=["2"]), dial=DialBehaviour(talk_seconds=42))
    assert report.dialled == ["+8610012345678", "client:operator"]
    done = one(state, "/dial-done")
    assert (done["DialCallStatus"], done["DialCallDuration"]) == ("completed", "42")
    assert SID["CA"].match(done["DialCallSid"]) and report.heard[-1] == "通话结束"

    state.log.clear()
    twilio.place_call(base + "/voice", caller=CallerScript(keys=["2"]), dial=DialBehaviour(answer=False))
    assert one(state, "/dial-done")["DialCallStatus"] == "no-answer"


def test_enqueue_wait_url_then_caller_hangs_up(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/voice", caller=CallerScript(keys=["3"]))
    assert report.enqueued == ["lawyers"] and report.ended_by == "caller"
    waits = [r["params"] for r in state.log if r["path"] == "/wait"]
    wait = waits[0]
    assert {"QueuePosition", "QueueSid", "QueueTime", "AvgQueueTime", "CurrentQueueSize"} <= wait.keys()
    # As on Twilio, the wait document is fetched again each time it ends, with the time waited so far.
    times = [int(w["QueueTime"]) for w in waits]
    assert len(times) >= 2 and times == sorted(times) and times[-1] > 0
    assert "您前面还有1位" in report.heard and "http://media.example.invalid/hold.mp3" in report.heard
    done = one(state, "/queue-done")
    assert (done["QueueResult"], done["QueueSid"], done["CallStatus"]) == ("hangup", wait["QueueSid"], "completed")
    assert "律师通话结束" not in report.heard

    state.log.clear()
    bridged = twilio.place_call(base + "/voice", caller=CallerScript(keys=["3"]), queue=AgentAnswers(after=5, talk=60))
    assert one(state, "/queue-done")["QueueResult"] == "bridged"
    assert bridged.heard[-1] == "律师通话结束" and bridged.ended_by == "hangup-verb"


# ----- REST API through the official client -----------------------------------------------------------


def test_rest_recording_of_the_whole_call(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/api-record", caller=CallerScript(keys=["1"], say=CLIP))

    assert report.errors == []
    callbacks = state.seen("/recording-status")
    full = [c["params"] for c in callbacks if c["params"]["RecordingSource"] == "StartCallRecordingAPI"]
    assert [c["RecordingStatus"] for c in full] == ["in-progress", "completed"]
    done = full[-1]
    assert done["RecordingChannels"] == "2" and done["CallSid"] == report.call_sid
    assert all(c["signature_ok"] for c in callbacks)
    media = get(done["RecordingUrl"]).content
    rate, channels, width, frames = read_wav(media)
    assert (rate, channels, width) == (8000, 2, 2)
    assert abs(frames / rate - int(done["RecordingDuration"])) <= 1 and int(done["RecordingDuration"]) > 5
    with wave.open(io.BytesIO(media)) as wav:
        samples = np.frombuffer(wav.readframes(frames), dtype="<i2").reshape(-1, 2)
    caller_seconds = np.count_nonzero(samples[:, 0]) / rate  # channel 1: only what the caller said
    with wave.open(str(CLIP)) as clip:
        clip_seconds = clip.getnframes() / clip.getframerate()
    assert abs(caller_seconds - clip_seconds) < 0.2 and np.count_nonzero(samples[:, 1]) > 0  # channel 2: prompts

    client = Client(ACCOUNT_SID, AUTH_TOKEN, http_client=RebasedHttpClient(twilio.api_url))
    assert client.calls(report.call_sid).fetch().status == "completed"
    with pytest.raises(TwilioRestException) as over:
        client.calls(report.call_sid).recordings.create(recording_channels="dual")
    assert over.value.status == 404
    with pytest.raises(TwilioRestException) as unknown:
        client.calls("CA" + "f" * 32).update(url=base + "/voice")
    assert (unknown.value.status, unknown.value.code) == (404, 20404)
    assert (
        httpx.get(
            twilio.api_url + f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls/{report.call_sid}.json",
            timeout=5,
            trust_env=False,
        ).status_code
        == 401
    )


def test_start_recording_twiml_records_the_whole_call_from_its_first_word(
    twilio: TwilioEmulator, state: AppState, base: str
) -> None:
    report = twilio.place_call(base + "/start-record", caller=CallerScript(keys=["1"], say=CLIP))

    assert report.errors == [] and report.warnings == []
    callbacks = state.seen("/recording-status")
    full = [c["params"] for c in callbacks if c["params"]["RecordingSource"] == "StartCallRecordingTwiML"]
    assert [c["RecordingStatus"] for c in full] == ["in-progress", "completed"]
    assert all(c["signature_ok"] for c in callbacks)
    done = full[-1]
    assert (done["RecordingChannels"], done["RecordingTrack"], done["CallSid"]) == ("2", "both", report.call_sid)
    # Started by the call's first document: it lasts as long as the call, greeting included.
    assert abs(int(done["RecordingDuration"]) - report.duration) <= 1, (done, report.duration)
    rate, channels, _width, frames = read_wav(get(done["RecordingUrl"]).content)
    assert (rate, channels) == (8000, 2) and abs(frames / rate - int(done["RecordingDuration"])) <= 1


def test_recordings_are_served_until_the_service_has_downloaded_them(
    twilio: TwilioEmulator, state: AppState, base: str
) -> None:
    report = twilio.place_call(base + "/api-record", caller=CallerScript(keys=["1"], say=CLIP))
    urls = {rec["sid"]: rec["url"] for rec in report.recorded}
    assert len(urls) == 2  # the problem (<Record>) and the whole call (REST), both announced to the service
    assert {rec.sid for rec in twilio.wait_for_downloads(0.2)} == set(urls)  # nobody has fetched them yet

    fetched: list[int] = []
    downloader = threading.Thread(target=lambda: fetched.extend(get(url).status_code for url in urls.values()))
    downloader.start()
    assert twilio.wait_for_downloads(60) == []  # returns once both were downloaded in full
    downloader.join(60)
    assert fetched == [200, 200]


def test_hotline_call_keeps_serving_until_the_service_stored_the_full_call_recording(tmp_path: Path) -> None:
    # Calls in a row through `hotline call`, as a person trying the service places them. The emulator's
    # recordings exist nowhere else, and the service fetches a full-call recording in the background, behind the
    # transcription of the calls before: each command waits until its recordings are fetched before it stops.
    service = RunningService(
        tmp_path,
        {
            "HOTLINE_EMULATOR_PORT": str(free_port()),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    with service:
        calls = []
        command = [sys.executable, "-m", "cli", "call", "--url", service.url, "--press", "2", "--say", str(CLIP)]
        for _ in range(2):
            done = subprocess.run(
                [*command, "--json"],
                capture_output=True,
                text=True,
                env=service.env_for_child(),
                cwd=service.var_dir,
                timeout=300,
            )
            assert done.returncode == 0, done.stdout + done.stderr
            result = json.loads(done.stdout)
            assert result["recordings_not_fetched"] == []
            full_call = [rec["sid"] for rec in result["recorded"] if rec["source"] == "StartCallRecordingTwiML"]
            assert len(full_call) == 1
            calls.append((result["call_sid"], full_call[0]))
        # The emulators are gone now; the service's copies are what stays: stored, to be transcribed.
        for call_sid, recording_sid in calls:
            deadline = time.monotonic() + 120
            while True:
                recordings = {r["recording_sid"]: r for r in service.ticket_of(call_sid)["recordings"]}
                stored = recordings.get(recording_sid)
                if (stored and stored["status"] != "pending") or time.monotonic() > deadline:
                    break
                time.sleep(0.2)
            assert stored is not None and stored["source"] == "call", recordings
            assert stored["status"] in ("stored", "transcribed") and stored["path"], stored
            assert stored["channels"] == 2 and stored["error"] is None
            audio = service.api.get(f"/api/recordings/{recording_sid}/audio")
            assert audio.status_code == 200 and read_wav(audio.content)[1] == 2


def test_rest_update_redirects_a_live_call(twilio: TwilioEmulator, state: AppState, base: str) -> None:
    report = twilio.place_call(base + "/live", caller=CallerScript(keys=[""], wait_for_redirect=5))
    assert report.heard[-1] == "已为您转接法律咨询" and "没有收到您的按键，再见" not in report.heard
    redirected = one(state, "/redirected")
    assert redirected["CallSid"] == report.call_sid and state.seen("/redirected")[0]["signature_ok"]
    assert any(event["event"] == "rest-update" for event in report.timeline)


# ----- retries and faults -----------------------------------------------------------------------------


def test_retry_sends_every_request_twice(state: AppState, base: str) -> None:
    with TwilioEmulator(ACCOUNT_SID, AUTH_TOKEN, retry_webhooks=True) as twilio:
        report = twilio.place_call(
            base + "/voice", caller=CallerScript(keys=["1"], say=CLIP), status_callback=base + "/status"
        )
    assert report.errors == []
    for path in ("/voice", "/menu", "/recorded", "/recording-status", "/status"):
        seen = state.seen(path)
        assert len(seen) == 2, path
        assert seen[0]["params"] == seen[1]["params"] and seen[0]["signature"] == seen[1]["signature"]
        assert seen[0]["idempotency"] == seen[1]["idempotency"]


@pytest.mark.parametrize("path", ["/broken", "/not-xml", "/loop"])
def test_service_faults_end_the_call_with_an_error(twilio: TwilioEmulator, base: str, path: str) -> None:
    report = twilio.place_call(base + path, status_callback=base + "/status", timeout=10)
    assert report.ended_by == "error" and len(report.errors) == 1
    assert report.sent("call-status")[0].ok
