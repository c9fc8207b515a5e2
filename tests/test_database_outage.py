"""PostgreSQL restarted under load (issue 14): while it is down, requests fail fast and clearly (staff: a Chinese
503 with a code; a caller's webhook: a pause and the same step again, so the call goes on), nothing queued is lost
(a transcription that met the outage is run again, not failed), and everything resumes when it is back.

The server is one of the test's own (tests/postgres_server.py): the shared one serves the other tests."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import httpx
import pytest

from emulator import CallerScript
from emulator.signing import sign
from tests.conftest import korean_model_path
from tests.postgres_server import ThrowawayPostgres, rows
from tests.running_service import RunningService, emulator_env
from tests.scripted_clips import KO_CLIP, long_korean_clip
from tests.waiting import poll


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    server = ThrowawayPostgres()
    server.start()
    try:
        yield server
    finally:
        server.remove()


@pytest.fixture(scope="module")
def service(tmp_path_factory, twilio, postgres) -> Iterator[RunningService]:
    svc = RunningService(
        tmp_path_factory.mktemp("var"),
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_DATABASE_URL": postgres.url,
            "HOTLINE_JOB_POLL_SECONDS": "0.2",
            "HOTLINE_REQUEST_WAIT_SECONDS": "5",
            "HOTLINE_WEBHOOK_WAIT_SECONDS": "5",
        },
    )
    with svc:
        yield svc


@pytest.mark.postgres
@pytest.mark.shared_data
def test_postgresql_restarted_mid_transcription_fails_requests_clearly_loses_nothing_and_resumes(
    service, twilio, postgres, tmp_path
):
    operator = service.operator  # signed in before the outage: the session is in the database
    first = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["2"], say=long_korean_clip(tmp_path / "long.wav")),
        status_callback=f"{service.url}/twilio/status",
    )
    assert not first.errors, first.errors
    transcribing = poll(
        lambda: rows(postgres.url, "SELECT id FROM jobs WHERE key LIKE 'transcribe:%' AND status = 'running'"),
        timeout_s=300,
    )
    assert transcribing, f"the transcription never started:\n{service.log()[-3000:]}"

    postgres.stop()
    try:
        # Staff: a clear refusal with a code, at once (no 500, no hanging request).
        refused = operator.get("/api/tickets", timeout=30)
        assert refused.status_code == 503, refused.text
        assert refused.json()["code"] == "database_unreachable" and "数据库暂时无法连接" in refused.json()["detail"]
        # A caller ringing now: the webhook is answered with a pause and the same step again, never an error.
        call = {
            "CallSid": "CA" + secrets.token_hex(16),
            "AccountSid": twilio.account_sid,
            "From": "+8613900000077",
            "To": "+8612351",
            "CallStatus": "ringing",
            "Direction": "inbound",
        }
        url = f"{service.url}/twilio/voice"
        held = httpx.post(
            url, data=call, headers={"X-Twilio-Signature": sign(twilio.auth_token, url, call)}, timeout=30
        )
        assert held.status_code == 200 and "<Pause" in held.text and "<Redirect" in held.text, held.text
        assert httpx.get(f"{service.url}/health", timeout=30).status_code == 200
        # The transcription ends into the outage: its result cannot be written, and it is queued again.
        met = poll(lambda: "database unreachable" in service.log(), timeout_s=600)
        assert met, f"the transcription never met the outage:\n{service.log()[-3000:]}"
    finally:
        postgres.start()

    # Back: the transcription that met the outage is run again and lands once; nothing failed.
    ticket = service.wait_for_ticket(first.call_sid, timeout_s=600)
    assert ticket["transcript_status"] == "transcribed" and "안철수" in ticket["transcript"], ticket
    assert not rows(postgres.url, "SELECT key, last_error FROM jobs WHERE status = 'failed'")
    transcripts = rows(
        postgres.url,
        "SELECT count(*) FROM transcripts t JOIN recordings r ON r.id = t.recording_id JOIN calls c ON c.id = r.call_id "
        f"WHERE c.call_sid = '{first.call_sid}' AND r.source = 'problem'",
    )
    assert transcripts == [(1,)]
    # Staff and callers are served again, with the same sign-in.
    assert operator.get("/api/tickets", timeout=30).status_code == 200
    after = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["2"], say=KO_CLIP),
        status_callback=f"{service.url}/twilio/status",
    )
    assert not after.errors, after.errors
    assert "안철수" in service.wait_for_ticket(after.call_sid)["transcript"]
