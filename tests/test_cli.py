"""`hotline call` and `hotline tickets show`, as a user runs them against a development service."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from tests.conftest import KO_SPEECH, korean_model_path
from tests.running_service import RunningService, free_port

pytestmark = pytest.mark.shared_data  # real clips from ../shared/data/speech (tests/conftest.py)

KO_CLIP = KO_SPEECH / "zeroth_104_003_0374.wav"


def _hotline(service: RunningService, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", *args],
        capture_output=True,
        text=True,
        env=service.env_for_child(),
        cwd=service.var_dir,
        timeout=120,
    )


def test_call_and_ticket_commands_in_development_share_a_generated_account(tmp_path):
    # No Twilio account configured: the service and `hotline call` share the pair generated into var/.
    service = RunningService(
        tmp_path,
        {
            "HOTLINE_EMULATOR_PORT": str(free_port()),
            "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    service.start()
    try:
        pair = json.loads((tmp_path / "twilio-dev.json").read_text())
        assert pair["account_sid"].startswith("AC") and len(pair["auth_token"]) == 32

        done = _hotline(
            service, "call", "--url", service.url, "--press", "2", "--press", "4", "--say", str(KO_CLIP), "--json"
        )
        assert done.returncode == 0, done.stderr
        result = json.loads(done.stdout)
        assert result["call_sid"].startswith("CA")
        assert result["keys"] == ["2", "4"]  # help; then district 4 (雁塔区) when asked
        assert "12351" in result["heard"][0]
        number = result["ticket"]
        assert number and number.startswith("12351-")
        assert "안철수" in result["ticket_detail"]["transcript"]

        shown = _hotline(service, "tickets", "show", number, "--json")
        assert shown.returncode == 0, shown.stderr
        ticket = json.loads(shown.stdout)
        for key in ("number", "status", "subject", "handling_class", "needs_human", "transcript", "events"):
            assert key in ticket
        assert ticket["number"] == number and ticket["status"] == "dispatched"
        assert ticket["union_id"] == "xa-yanta" and ticket["needs_human"] is False
        assert ticket["subject"] and ticket["handling_class"]
        assert "안철수" in ticket["transcript"]
        assert next(e["kind"] for e in ticket["events"]) == "accepted"

        human = _hotline(service, "tickets", "show", number)
        assert human.returncode == 0 and number in human.stdout

        missing = _hotline(service, "tickets", "show", "12351-19990101-0001")
        assert missing.returncode == 1 and "no ticket" in missing.stdout
        # The service started the full-call recording on the same emulator, with the same pair.
        events = service.operator.get(f"/api/calls/{result['call_sid']}").json()["events"]
        assert "call_recording_started" in [e["kind"] for e in events]
    finally:
        service.stop()
    assert json.loads((tmp_path / "twilio-dev.json").read_text()) == pair  # generated once, never replaced
