"""Staff sign-in and access: accounts from the CLI, signed cookies, CSRF, the sign-in limit, roles, masked
numbers and the audit log, against the real service."""

from __future__ import annotations

import re
import secrets
import subprocess
import sys

import httpx
import pytest

from emulator import CallerScript, DialBehaviour
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env
from tests.staff_client import sign_in


@pytest.fixture(scope="module")
def service(tmp_path_factory, account, twilio):
    svc = RunningService(
        tmp_path_factory.mktemp("var"),
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": "/nonexistent",  # no transcripts needed here
            "HOTLINE_JOB_POLL_SECONDS": "0.1",
        },
    )
    svc.start()
    yield svc
    svc.stop()


@pytest.fixture(scope="module")
def ticket(twilio, service) -> dict:
    """A caller left a message for a call back: a ticket with the caller's number."""
    number = f"+86139{secrets.randbelow(10**8):08d}"
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"]),
        from_=number,
        status_callback=f"{service.url}/twilio/status",
        dial=DialBehaviour(answer=False),
    )
    return service.wait_for_ticket(report.call_sid, done=("waiting_model", "transcribed", "failed", "none"))


def _users(service: RunningService, *args: str, password: str | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "cli", "users", *args],
        input=password,
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_signed_out_requests_are_refused_and_pages_send_the_browser_to_sign_in(service):
    assert httpx.get(f"{service.url}/api/tickets").status_code == 401
    assert httpx.post(f"{service.url}/api/queue/take", json={}).status_code == 401
    page = httpx.get(f"{service.url}/", follow_redirects=False)
    assert page.status_code == 303 and page.headers["location"] == "/login?next=%2F"
    assert httpx.get(f"{service.url}/health").status_code == 200  # the load balancer's check stays open


def test_accounts_come_from_the_command_line_with_strong_passwords_only(service):
    weak = _users(service, "add", "weak-wu", "--role", "operator", "--password-stdin", password="12345678901\n")
    assert weak.returncode == 1 and "密码不能全是数字" in weak.stdout
    bad_role = _users(service, "add", "x-wu", "--role", "boss", "--password-stdin", password=TEST_PASSWORD + "\n")
    assert bad_role.returncode == 1 and "没有这个角色：boss" in bad_role.stdout
    listed = _users(service, "list")
    assert "weak-wu" not in listed.stdout


def test_the_sign_in_form_needs_its_token_and_sets_a_session(service):
    service.add_user("form-li", "inspector")
    with httpx.Client(base_url=service.url) as browser:
        forged = browser.post("/login", data={"username": "form-li", "password": TEST_PASSWORD})
        assert forged.status_code == 403
        page = browser.get("/login")
        token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
        signed = browser.post(
            "/login",
            data={"username": "form-li", "password": TEST_PASSWORD, "csrf_token": token, "next": "/api/me"},
            follow_redirects=False,
        )
        assert signed.status_code == 303 and signed.headers["location"] == "/api/me"
        me = browser.get("/api/me").json()
        assert me["username"] == "form-li" and me["role"] == "inspector"
        # A state-changing request without the session's CSRF token is refused, even signed in.
        assert browser.post("/api/tickets/x/transitions", json={"to": "replied"}).status_code == 403
        out = browser.post("/logout", data={"csrf_token": me["csrf"]}, follow_redirects=False)
        assert out.status_code == 303
        assert browser.get("/api/me").status_code == 401


def test_too_many_failed_sign_ins_lock_the_account_for_a_while(service):
    service.add_user("guess-me", "operator")
    for _ in range(5):
        wrong = httpx.post(f"{service.url}/login", json={"username": "guess-me", "password": "wrong-password-1"})
        assert wrong.status_code == 401
    locked = httpx.post(f"{service.url}/login", json={"username": "guess-me", "password": TEST_PASSWORD})
    assert locked.status_code == 429 and locked.json()["code"] == "too_many_attempts"
    assert "请 15 分钟后再试" in locked.json()["detail"]
    assert int(locked.headers["retry-after"]) > 800
    service.add_user("other-op", "operator")  # another account is not locked out
    sign_in(service.url, "other-op", TEST_PASSWORD).close()
    failures = (
        service.staff("audit-sup", "supervisor")
        .get("/api/audit", params={"actor": "guess-me", "action": "login_failed"})
        .json()
    )
    assert len(failures) == 5


def test_a_tampered_cookie_or_a_changed_password_ends_the_session(service):
    client = service.staff("passwd-zhao", "operator")
    assert client.get("/api/me").status_code == 200
    cookie = client.cookies["hotline_session"]
    tampered = httpx.get(f"{service.url}/api/me", cookies={"hotline_session": cookie[:-2] + "xx"})
    assert tampered.status_code == 401
    changed = _users(service, "passwd", "passwd-zhao", "--password-stdin", password="a-new-password-2026\n")
    assert changed.returncode == 0, changed.stdout + changed.stderr
    assert client.get("/api/me").status_code == 401


def test_each_role_may_do_only_its_own_work(service, ticket):
    inspector = service.staff("insp-chen", "inspector")
    unsampled = inspector.get(f"/api/tickets/{ticket['number']}")  # inspectors read the QA sample's calls only
    assert unsampled.status_code == 403 and unsampled.json()["code"] == "not_yours"
    assert "作为质检员，您只能查看质检抽中的通话的工单" in unsampled.json()["detail"]
    moved = inspector.post(f"/api/tickets/{ticket['number']}/transitions", json={"to": "dispatched"})
    assert moved.status_code == 403 and moved.json()["code"] == "wrong_role"
    assert "只有话务员、班长/主管可以使用" in moved.json()["detail"]
    assert inspector.get("/api/alerts").status_code == 403
    lawyer = service.staff("lawyer-wang", "lawyer", roster_id="L01")
    other_seat = lawyer.post("/api/lawyers/L02/sign-in")
    assert other_seat.status_code == 403 and other_seat.json()["code"] == "not_your_seat"
    assert "自己的座席 L01" in other_seat.json()["detail"]  # in the words the lawyer reads
    assert lawyer.post("/api/lawyers/L01/sign-in").status_code == 200
    assert lawyer.post("/api/lawyers/L01/sign-out").status_code == 200


def test_caller_numbers_are_masked_except_for_those_who_call_back(service, ticket):
    full = ticket["callback_number"]
    assert re.fullmatch(r"\+86139\d{8}", full)
    masked = f"+86{full[3:6]}****{full[-4:]}"
    supervisor = service.staff("sup-mask", "supervisor")
    ticket_view = supervisor.get(f"/api/tickets/{ticket['number']}").json()
    supervisor_view = supervisor.get(f"/api/calls/{ticket['call_sid']}").json()
    assert ticket_view["caller_number"] == masked and ticket_view["callback_number"] == masked
    assert supervisor_view["from"] == masked and supervisor_view["ticket"]["caller_number"] == masked
    operator_view = service.staff("op-mask", "operator").get(f"/api/tickets/{ticket['number']}")
    assert operator_view.json()["callback_number"] == full


def test_every_view_of_a_ticket_is_in_the_audit_log(service, ticket):
    viewer = service.staff("op-audit", "operator")
    audit = service.staff("audit-sup", "supervisor")

    def views() -> list[dict]:
        return audit.get("/api/audit", params={"actor": "op-audit", "action": "view_ticket"}).json()

    viewer.get("/api/tickets", params={"limit": 5})  # shown in a list
    assert [(e["target"], e["detail"]["path"]) for e in views()] == [(ticket["number"], "/api/tickets")]
    viewer.get("/api/tickets", params={"limit": 5})  # the list refreshed: not written again so soon
    assert len(views()) == 1
    viewer.get(f"/api/tickets/{ticket['number']}")  # opened: always written
    entries = views()
    assert len(entries) == 2 and entries[0]["detail"]["path"] == f"/api/tickets/{ticket['number']}"
    assert entries[0]["role"] == "operator" and entries[0]["ip"] == "127.0.0.1"
    assert viewer.get("/api/audit").status_code == 403


def _sample_for_qa(service: RunningService, call_sid: str) -> None:
    """Put the call into the quality-inspection sample, as the morning's sampling would."""
    from sqlalchemy import select

    from hotline.db import make_engine, make_session_factory, transaction
    from recordings.qa_tables import QaSample
    from recordings.tables import Call

    engine = make_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
    with transaction(make_session_factory(engine)) as session:
        call = session.scalar(select(Call).where(Call.call_sid == call_sid))
        session.add(
            QaSample(
                call_id=call.id,
                day=call.started_at.date(),
                handler=call.handler,
                handler_role=call.handler_role,
                reason="quota",
                reasons=["quota"],
            )
        )
    engine.dispose()


def test_recordings_play_in_ranges_for_inspectors_only_and_each_playback_is_audited(service, ticket):
    sid = ticket["recordings"][0]["recording_sid"]
    stored = (service.var_dir / "recordings" / ticket["recordings"][0]["path"]).read_bytes()
    inspector = service.staff("insp-listen", "inspector")
    unsampled = inspector.get(f"/api/recordings/{sid}/audio")  # inspectors listen to the QA sample's calls
    assert unsampled.status_code == 403 and unsampled.json()["code"] == "not_yours"
    assert "质检员（抽中的通话）" in unsampled.json()["detail"]
    _sample_for_qa(service, ticket["call_sid"])
    head = inspector.get(f"/api/recordings/{sid}/audio", headers={"Range": "bytes=0-99"})
    assert head.status_code == 206 and head.headers["content-range"] == f"bytes 0-99/{len(stored)}"
    assert head.content == stored[:100] and head.headers["content-type"] == "audio/wav"
    tail = inspector.get(f"/api/recordings/{sid}/audio", headers={"Range": f"bytes={len(stored) - 10}-"})
    assert tail.status_code == 206 and tail.content == stored[-10:]
    assert inspector.get(f"/api/recordings/{sid}/audio").content == stored
    assert httpx.get(f"{service.url}/api/recordings/{sid}/audio").status_code == 401
    not_theirs = service.staff("op-listen", "operator").get(f"/api/recordings/{sid}/audio")
    assert not_theirs.status_code == 403
    plays = (
        service.staff("audit-sup", "supervisor")
        .get("/api/audit", params={"actor": "insp-listen", "action": "play_recording"})
        .json()
    )
    assert len(plays) == 2 and plays[0]["target"] == sid  # the full fetch and the range from 0; not the tail
