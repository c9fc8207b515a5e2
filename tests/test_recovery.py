"""Nothing is lost: a crash mid-job resumes on restart; without a speech model calls still become tickets,
transcribed once the model appears; the same call path runs on PostgreSQL."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from twilio.request_validator import RequestValidator

from emulator import CallerScript, TwilioEmulator
from tests.conftest import KO_SPEECH, korean_model_path
from tests.running_service import RunningService

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"


def _service(tmp: Path, account: tuple[str, str], api_url: str, **env: str) -> RunningService:
    return RunningService(
        tmp,
        {
            "HOTLINE_TWILIO_ACCOUNT_SID": account[0],
            "HOTLINE_TWILIO_AUTH_TOKEN": account[1],
            "HOTLINE_TWILIO_API_URL": api_url,
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
            "HOTLINE_DOWNLOAD_BACKOFF_SECONDS": "0.1",
            "XDG_CACHE_HOME": str(tmp / "cache"),  # no model hiding in the user's cache
            **env,
        },
    )


class _StallingRecordingServer:
    """Serves one recording, but holds the first download open until released (a job caught mid-way)."""

    def __init__(self, wav: bytes) -> None:
        self.stalled = threading.Event()
        self.release = threading.Event()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if not outer.stalled.is_set():
                    outer.stalled.set()
                    outer.release.wait(30)
                    return
                self.send_response(200)
                self.send_header("Content-Type", "audio/x-wav")
                self.send_header("Content-Length", str(len(wav)))
                self.end_headers()
                self.wfile.write(wav)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_port}/Recordings/RE{secrets.token_hex(16)}"

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()


def _post(service: RunningService, token: str, path: str, form: dict[str, str]) -> httpx.Response:
    url = service.url + path
    signature = RequestValidator(token).compute_signature(url, form)
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": signature}, timeout=10)


def test_a_download_interrupted_by_a_crash_is_finished_after_restart(tmp_path):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    stall = _StallingRecordingServer(KO_CLIP.read_bytes())
    service = _service(tmp_path, account, "http://127.0.0.1:9")  # no REST: full-call recording just fails
    service.start()
    try:
        call_sid, rec_sid = "CA" + secrets.token_hex(16), "RE" + secrets.token_hex(16)
        base = {"CallSid": call_sid, "AccountSid": account[0], "From": "+8613700000000", "To": "+8612351"}
        assert _post(service, account[1], "/twilio/voice", {**base, "CallStatus": "ringing"}).status_code == 200
        assert (
            _post(service, account[1], "/twilio/step/menu/keys?attempt=1", {**base, "Digits": "2"}).status_code == 200
        )
        recorded = {**base, "RecordingSid": rec_sid, "RecordingUrl": stall.url, "RecordingDuration": "6", "Digits": "#"}
        assert _post(service, account[1], "/twilio/step/describe/recorded", recorded).status_code == 200
        status = {
            **base,
            "RecordingSid": rec_sid,
            "RecordingUrl": stall.url,
            "RecordingStatus": "completed",
            "RecordingSource": "RecordVerb",
            "RecordingChannels": "1",
            "RecordingDuration": "6",
        }
        assert _post(service, account[1], "/twilio/recording-status", status).status_code == 204
        assert stall.stalled.wait(15), "the download job never started"
        service.kill()  # the process dies with the job running
        stall.release.set()

        service.start()
        ticket = service.wait_for_ticket(call_sid)
        assert "안철수" in ticket["transcript"]
        assert not ticket["needs_human"]  # finished by the restarted process: the first one died mid-download
    finally:
        service.stop()
        stall.close()


def test_without_a_model_calls_still_make_tickets_and_are_transcribed_when_it_appears(tmp_path):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    model_dir = tmp_path / "models" / "vosk-model"
    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as twilio:
        service = _service(tmp_path, account, twilio.api_url, HOTLINE_VOSK_MODEL_PATH=str(model_dir))
        service.start()
        try:
            assert "no speech model" in service.log()
            info = subprocess.run(
                [sys.executable, "-m", "cli", "model", "info"],
                capture_output=True,
                text=True,
                env={**service.env_for_child(), "COLUMNS": "200"},
                cwd=tmp_path,
            )
            assert info.returncode == 1
            assert "vosk-model-small-cn-0.22" in info.stdout and "hotline model fetch" in info.stdout

            report = twilio.place_call(
                f"{service.url}/twilio/voice",
                caller=CallerScript(keys=["2"], say=KO_CLIP),
                status_callback=f"{service.url}/twilio/status",
            )
            ticket = service.wait_for_ticket(report.call_sid, done=("waiting_model",))
            assert ticket["number"] and report.heard and any("工单号" in h for h in report.heard)

            model_dir.parent.mkdir(parents=True)
            model_dir.symlink_to(korean_model_path(), target_is_directory=True)  # the model arrives
            ticket = service.wait_for_ticket(report.call_sid, timeout_s=60)
            assert "안철수" in ticket["transcript"]
        finally:
            service.stop()


@pytest.mark.postgres
def test_the_call_path_runs_on_postgresql(tmp_path, fresh_postgres_url):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    with TwilioEmulator(*account, retry_webhooks=True, time_scale=0.02, max_steps=500) as twilio:
        service = _service(tmp_path, account, twilio.api_url, HOTLINE_DATABASE_URL=fresh_postgres_url)
        with service:
            reports = [
                twilio.place_call(
                    f"{service.url}/twilio/voice",
                    caller=CallerScript(keys=["2"], say=KO_CLIP),
                    status_callback=f"{service.url}/twilio/status",
                )
                for _ in range(2)
            ]
            tickets = [service.wait_for_ticket(r.call_sid) for r in reports]
            serials = sorted(int(t["number"].rsplit("-", 1)[1]) for t in tickets)
            assert serials == [1, 2]
            assert all("안철수" in t["transcript"] for t in tickets)
