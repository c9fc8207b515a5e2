"""Sign-in under attack, against the real service: bursts never freeze it, guesses from one address lock neither
every account nor the owner at their desk, signing out ends the session, unknown names cost the same check."""

from __future__ import annotations

import secrets
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from emulator.signing import sign
from hotline.db import transaction, utcnow
from staff.accounts import SignInAttempt, SignInLimit, check_attempt, create_user, start_sign_in
from staff.passwords import hash_password
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env
from tests.staff_client import sign_in

GENEROUS_S = 120  # a loaded CI machine is slow; a frozen service never answers


@pytest.fixture(scope="module")
def service(tmp_path_factory, account, twilio):
    svc = RunningService(
        tmp_path_factory.mktemp("var"),
        {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_JOB_POLL_SECONDS": "0.1"},
    )
    svc.start()
    yield svc
    svc.stop()


def _webhook(service: RunningService, auth_token: str, account_sid: str) -> httpx.Response:
    form = {
        "CallSid": "CA" + secrets.token_hex(16),
        "AccountSid": account_sid,
        "From": "+8613900000000",
        "To": "+8612351",
        "CallStatus": "ringing",
        "Direction": "inbound",
    }
    url = f"{service.url}/twilio/voice"
    return httpx.post(url, data=form, headers={"X-Twilio-Signature": sign(auth_token, url, form)}, timeout=GENEROUS_S)


def test_concurrent_sign_ins_never_freeze_webhooks_reads_or_health(guarded, account):
    """30 sign-ins (half failing) + 30 ticket reads + 30 signed webhooks at once, each from its own thread: more
    requests than the service's request threads (40), as a burst that once starved the request holding SQLite's
    lock of a thread to finish on (every other one waiting for that lock), until 10 s waits ended in 503s."""
    service = guarded  # a service of its own: the 15 wrong passwords use up this address's allowance
    for i in range(5):
        service.add_user(f"burst-{i}", "operator")
    reader = service.operator
    start = threading.Barrier(90)

    def signing_in(i: int) -> tuple[str, int]:
        good = i % 2 == 0
        body = {
            "username": f"burst-{i % 5}" if good else f"nobody-{i}",
            "password": TEST_PASSWORD if good else "wrong-password-9",
        }
        start.wait()
        answer = httpx.post(f"{service.url}/login", json=body, timeout=GENEROUS_S)
        return ("sign-in-good" if good else "sign-in-bad"), answer.status_code

    def reading(_i: int) -> tuple[str, int]:
        start.wait()
        answer = httpx.get(f"{service.url}/api/tickets", cookies=reader.cookies, timeout=GENEROUS_S)
        return "read", answer.status_code

    def webhook(_i: int) -> tuple[str, int]:
        start.wait()
        answer = _webhook(service, account[1], account[0])
        assert "<Response" in answer.text
        return "webhook", answer.status_code

    with ThreadPoolExecutor(90) as pool:
        futures = [pool.submit(fn, i) for fn in (signing_in, reading, webhook) for i in range(30)]
        results = [f.result() for f in futures]  # raises if any request timed out
    expected = {"sign-in-good": 200, "sign-in-bad": 401, "read": 200, "webhook": 200}
    assert all(status == expected[kind] for kind, status in results), results
    assert httpx.get(f"{service.url}/health", timeout=GENEROUS_S).status_code == 200


@pytest.fixture
def guarded(tmp_path, account, twilio):
    """A service of its own: this test uses up its address's allowance of failed sign-ins."""
    svc = RunningService(tmp_path, {**emulator_env(twilio), "HOTLINE_VOSK_MODEL_PATH": "/nonexistent"})
    svc.start()
    yield svc
    svc.stop()


def test_guesses_from_one_address_do_not_lock_other_accounts_or_the_owner_at_their_desk(guarded):
    service = guarded
    service.add_user("desk-admin", "admin")
    sign_in(service.url, "desk-admin", TEST_PASSWORD).close()  # the admin's own address, known from now on
    service.add_user("bystander", "operator")
    # An attacker at the same address guesses 25 unknown names: past the per-address limit (5 x 4) they
    # are refused without a password check.
    answers = [
        httpx.post(
            f"{service.url}/login", json={"username": f"guess-{i}", "password": "wrong-password-1"}, timeout=GENEROUS_S
        ).status_code
        for i in range(25)
    ]
    assert answers.count(429) >= 5 and set(answers) <= {401, 429}
    # The admin signs in from their own address all the same; a new name from here is refused for a while.
    sign_in(service.url, "desk-admin", TEST_PASSWORD).close()
    refused = httpx.post(f"{service.url}/login", json={"username": "bystander", "password": TEST_PASSWORD})
    assert refused.status_code == 429 and int(refused.headers["retry-after"]) > 0


def test_a_client_sent_forwarded_address_does_not_reset_the_limit(service):
    service.add_user("forward-me", "operator")
    for i in range(5):
        wrong = httpx.post(
            f"{service.url}/login",
            json={"username": "forward-me", "password": "wrong-password-1"},
            headers={"X-Forwarded-For": f"203.0.113.{i}"},
        )
        assert wrong.status_code == 401
    spoofed = httpx.post(
        f"{service.url}/login",
        json={"username": "forward-me", "password": TEST_PASSWORD},
        headers={"X-Forwarded-For": "198.51.100.7"},
    )
    assert spoofed.status_code == 429  # counted under the real peer, 127.0.0.1, whatever the header says
    audit = (
        service.staff("audit-sup", "supervisor")
        .get("/api/audit", params={"actor": "forward-me", "action": "login_failed"})
        .json()
    )
    assert {entry["ip"] for entry in audit} == {"127.0.0.1"}


def test_signing_out_ends_the_session_on_the_server(service):
    service.add_user("leaving-wu", "operator")
    client = sign_in(service.url, "leaving-wu", TEST_PASSWORD)
    stolen = client.cookies["hotline_session"]
    assert client.post("/logout", follow_redirects=False).status_code == 303
    replayed = httpx.get(f"{service.url}/api/me", cookies={"hotline_session": stolen})
    assert replayed.status_code == 401  # the old cookie, still within its 12 h, is refused
    page = httpx.get(f"{service.url}/tickets", cookies={"hotline_session": stolen}, follow_redirects=False)
    assert page.status_code in (303, 401)
    # Other sessions of the same person are theirs to end: a second sign-in still works.
    again = sign_in(service.url, "leaving-wu", TEST_PASSWORD)
    assert again.get("/api/me").status_code == 200


def test_disabling_an_account_ends_its_sessions_for_good(service):
    service.add_user("gone-zhou", "operator")
    client = sign_in(service.url, "gone-zhou", TEST_PASSWORD)
    cookie = client.cookies["hotline_session"]
    done = subprocess.run(
        [sys.executable, "-m", "cli", "users", "disable", "gone-zhou"],
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert httpx.get(f"{service.url}/api/me", cookies={"hotline_session": cookie}).status_code == 401


def test_an_unknown_username_gets_the_same_password_check_as_a_real_one(migrated):
    """Timing cannot tell names apart: an unknown name is checked against an argon2 hash of the same cost."""
    limit = SignInLimit()
    with transaction(migrated) as session:
        create_user(session, "known-li", "operator", TEST_PASSWORD)
    with transaction(migrated) as session:
        known = start_sign_in(session, "known-li", ip="192.0.2.1", limit=limit, now=utcnow())
        unknown = start_sign_in(session, "unknown-li", ip="192.0.2.1", limit=limit, now=utcnow())
    assert unknown.user_id is None and known.user_id is not None
    # The same argon2 parameters (everything before the salt), so the same work to check.
    assert unknown.password_hash.rsplit("$", 2)[0] == known.password_hash.rsplit("$", 2)[0]
    assert check_attempt(unknown, TEST_PASSWORD) == (False, None)
    assert check_attempt(known, TEST_PASSWORD)[0] is True
    other = SignInAttempt("x", 1, hash_password(TEST_PASSWORD))
    assert check_attempt(other, "not-the-password")[0] is False
