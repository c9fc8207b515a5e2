"""Forwarded headers believed only from configured proxies, and a production start that refuses unsafe settings."""

from __future__ import annotations

import secrets
import subprocess
import sys

import httpx
import pytest

from emulator.signing import sign
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env

PUBLIC = "https://hotline.example.org"


def _call_form(account_sid: str) -> dict[str, str]:
    return {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": account_sid,
        "From": "+8613900000001",
        "To": "+8612351",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }


@pytest.fixture(scope="module")
def direct(tmp_path_factory, twilio):
    """A service with no proxy configured: as `./run serve` runs it."""
    svc = RunningService(
        tmp_path_factory.mktemp("direct"), {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": "/nonexistent"}
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def proxied(tmp_path_factory, twilio):
    """A service behind a proxy on this machine (HOTLINE_TRUSTED_PROXIES=127.0.0.1)."""
    svc = RunningService(
        tmp_path_factory.mktemp("proxied"),
        {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_TRUSTED_PROXIES": "127.0.0.1"},
    )
    svc.start()
    yield svc
    svc.stop()


def test_a_webhook_signed_for_another_host_is_refused_whatever_forwarded_headers_say(direct, account):
    form = _call_form(account[0])
    forged = {
        "X-Twilio-Signature": sign(account[1], f"{PUBLIC}/twilio/voice", form),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hotline.example.org",
    }
    assert httpx.post(f"{direct.url}/twilio/voice", data=form, headers=forged).status_code == 403
    assert direct.api.get(f"/api/calls/{form['CallSid']}").status_code == 404
    # Signed for the URL really called, a forged forwarded host changes nothing: the headers are dropped.
    honest = {
        "X-Twilio-Signature": sign(account[1], f"{direct.url}/twilio/voice", form),
        "X-Forwarded-Host": "evil.example",
        "X-Forwarded-Proto": "https",
    }
    answer = httpx.post(f"{direct.url}/twilio/voice", data=form, headers=honest)
    assert answer.status_code == 200 and "<Gather" in answer.text


def test_behind_a_trusted_proxy_its_forwarded_scheme_host_and_client_are_used(proxied, account):
    form = _call_form(account[0])
    headers = {
        "X-Twilio-Signature": sign(account[1], f"{PUBLIC}/twilio/voice", form),
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "hotline.example.org",
    }
    answer = httpx.post(f"{proxied.url}/twilio/voice", data=form, headers=headers)
    assert answer.status_code == 200 and "<Gather" in answer.text
    # The client's address is the one the proxy forwarded (what it appended last), for limits and the audit log.
    wrong = httpx.post(
        f"{proxied.url}/login",
        json={"username": "via-proxy", "password": "wrong-password-1"},
        headers={"X-Forwarded-For": "198.51.100.1, 203.0.113.9"},
    )
    assert wrong.status_code == 401
    audit = (
        proxied.staff("audit-sup", "supervisor")
        .get("/api/audit", params={"actor": "via-proxy", "action": "login_failed"})
        .json()
    )
    assert [entry["ip"] for entry in audit] == ["203.0.113.9"]


def _serve(tmp_path, twilio, **env: str) -> subprocess.CompletedProcess:
    """`hotline serve` in production with these settings, expected to refuse to start."""
    environment = {
        **RunningService(tmp_path, {}).env_for_child(),
        **emulator_env(twilio),
        "HOTLINE_ENVIRONMENT": "production",
        "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
        **env,
    }
    return subprocess.run(
        [sys.executable, "-m", "cli", "serve", "--port", "1"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_production_refuses_to_start_without_a_public_url_or_trusted_proxies(tmp_path, twilio):
    done = _serve(tmp_path, twilio, HOTLINE_SESSION_SECRET=secrets.token_urlsafe(48))
    assert done.returncode != 0
    assert "HOTLINE_PUBLIC_URL" in done.stdout and "HOTLINE_TRUSTED_PROXIES" in done.stdout


def test_production_refuses_a_short_session_secret_and_says_how_to_make_one(tmp_path, twilio):
    done = _serve(tmp_path, twilio, HOTLINE_PUBLIC_URL=PUBLIC, HOTLINE_SESSION_SECRET="abcde")
    assert done.returncode != 0
    output = " ".join(done.stdout.split())
    assert "HOTLINE_SESSION_SECRET" in output and "at least 32" in output and "secrets.token_urlsafe" in output


def test_in_production_the_session_cookie_is_secure_only(tmp_path, twilio):
    svc = RunningService(
        tmp_path,
        {
            **emulator_env(twilio),
            "HOTLINE_ENVIRONMENT": "production",
            "HOTLINE_PUBLIC_URL": PUBLIC,
            "HOTLINE_SESSION_SECRET": secrets.token_urlsafe(48),
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",
        },
    )
    with svc:
        svc.add_user("prod-admin", "admin")
        answer = httpx.post(f"{svc.url}/login", json={"username": "prod-admin", "password": TEST_PASSWORD})
        assert answer.status_code == 200
        cookie = answer.headers["set-cookie"].lower()
        assert "secure" in cookie and "httponly" in cookie
