"""Every refusal a staff member can meet is in Chinese and says what to do, against the real service: a lawyer
opening another seat's ticket or call, a wrong password (as JSON and through the sign-in form), too many failed
sign-ins, a stale page's missing CSRF token, a role opening another role's API, a missing or unplayable
recording, a missing call, ticket or case, a report with a bad date or format, taking a caller when nobody waits,
an alert that is not there. The `code` beside each message stays for scripts; so does a parameter or an id in
parentheses. The `hotline` command prints its errors in Chinese too."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from hotline.db import make_engine, make_session_factory, transaction
from recordings.tables import Call, Recording
from routing.tables import Case, Ticket
from tests.running_service import TEST_PASSWORD, RunningService

SH = ZoneInfo("Asia/Shanghai")
THEIRS = "12351-20261125-0001"  # a ticket of a call lawyer seat L02 took
HAN = re.compile(r"[\u4e00-\u9fff]")
PARENTHESES = re.compile(r"[（(][^（）()]*[）)]")  # innermost first: an id, a parameter, a script's hint
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")


def readable(detail: str) -> str:
    """What a person reads once the parentheses (ids, parameters, hints for scripts) are set aside."""
    text, previous = detail, None
    while text != previous:
        previous, text = text, PARENTHESES.sub("", text)
    return text


def assert_chinese(detail: str, sent: str = "") -> None:
    """Chinese words, and no Latin word of three letters or more outside parentheses (but for what the request
    itself `sent`, quoted back)."""
    words = readable(detail).replace(sent, "") if sent else readable(detail)
    assert HAN.search(detail) and not LATIN_WORD.search(words), detail


def refused(response: httpx.Response, status: int, code: str, *phrases: str, sent: str = "") -> str:
    """The refusal's status and code as expected, its words Chinese and holding `phrases`; its words."""
    assert response.status_code == status, response.text
    body = response.json()
    assert body.get("code") == code, body
    assert_chinese(body["detail"], sent)
    assert all(phrase in body["detail"] for phrase in phrases), body
    return body["detail"]


def page_error(response: httpx.Response) -> str:
    """The error the sign-in page shows."""
    found = re.search(r'<p class="error" role="alert">([^<]*)</p>', response.text)
    assert found, response.text
    return found.group(1)


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    """The service with one call lawyer seat L02 took, its ticket and case, and two recordings of it that
    cannot be played: one never downloaded, one whose file is gone."""
    svc = RunningService(
        tmp_path_factory.mktemp("var"), {"HOTLINE_VOSK_MODEL_PATH": "/nonexistent", "HOTLINE_QA_SCAN_SECONDS": "3600"}
    )
    svc.start()
    engine = make_engine(f"sqlite:///{svc.var_dir / 'hotline.db'}")
    with transaction(make_session_factory(engine)) as session:
        case = Case(employer="西安某建筑公司")
        call = Call(
            call_sid="CA-ce-l02",
            from_number="+8613812341234",
            started_at=datetime(2026, 11, 25, 10, tzinfo=SH),
            duration_s=95,
            handler="L02",
            handler_role="lawyer",
            status="completed",
        )
        session.add_all([case, call])
        session.flush()
        session.add_all(
            [
                Ticket(
                    number=THEIRS,
                    call_id=call.id,
                    caller_number=call.from_number,
                    summary="咨询加班费",
                    status="accepted",
                    route="lawyer_queue",
                    assigned_to="L02",
                    case_id=case.id,
                ),
                Recording(
                    recording_sid="RE-ce-lost",
                    call_id=call.id,
                    source="call",
                    status="failed",
                    error="download failed after 5 attempt(s)",
                ),
                Recording(
                    recording_sid="RE-ce-gone", call_id=call.id, source="call", status="stored", path="ce/gone.wav"
                ),
            ]
        )
        svc.case_id = case.id
    engine.dispose()
    yield svc
    svc.stop()


def test_a_lawyer_opening_another_seats_ticket_or_call_is_told_what_they_may_read(service):
    lawyer = service.staff("ce-lawyer", "lawyer", roster_id="L01")
    refused(lawyer.get(f"/api/tickets/{THEIRS}"), 403, "not_yours", f"工单 {THEIRS}", "作为律师，您只能查看")
    refused(lawyer.get("/api/calls/CA-ce-l02"), 403, "not_yours", "作为律师，您只能查看自己接听的通话")
    refused(lawyer.get("/api/recordings/RE-ce-lost/audio"), 403, "not_yours", "录音")
    # A role opening another role's API hears who may, and who they are.
    refused(lawyer.get("/api/tickets"), 403, "wrong_role", "话务员、班长/主管", "您登录的身份是律师")
    inspector = service.staff("ce-inspector", "inspector")
    refused(inspector.get("/api/alerts"), 403, "wrong_role", "您登录的身份是质检员")
    refused(inspector.get("/api/reports/daily", params={"date": "2026-11-25"}), 403, "wrong_role", "班长/主管")


def test_taking_a_caller_when_nobody_waits(service):
    lawyer = service.staff("ce-lawyer", "lawyer", roster_id="L01")
    refused(lawyer.post("/api/queue/take", json={}), 409, "nobody_waiting", "没有人在排队")


def test_missing_and_unplayable_things_are_named_in_chinese(service):
    admin = service.staff("ce-admin", "admin")
    refused(admin.get("/api/calls/CA-nope"), 404, "no_call", "没有这通电话")
    refused(admin.get("/api/tickets/12351-20261125-0999"), 404, "no_ticket", "工单号形如")
    refused(admin.get("/api/cases/999999"), 404, "no_case", "没有编号为 999999 的案件")
    refused(admin.get("/api/recordings/RE-nope/audio"), 404, "no_recording", "没有这段录音")
    refused(admin.get("/api/recordings/RE-ce-lost/audio"), 409, "not_stored", "没有下载下来")
    refused(admin.get("/api/recordings/RE-ce-gone/audio"), 410, "audio_missing", "请告知管理员")
    refused(admin.post("/api/alerts/999999/acknowledge"), 404, "no_alert", "没有编号为 999999 的提醒")
    refused(admin.get("/api/alerts", params={"acknowledged_within_minutes": -1}), 422, "bad_window", "1440 分钟")
    refused(admin.get("/api/tickets", params={"status": "solved"}), 422, "unknown_state", "受理")
    moved = admin.post(f"/api/tickets/{THEIRS}/transitions", json={"to": "solved"})
    refused(moved, 409, "transition_refused", "没有“solved”这个状态", sent="solved")


def test_a_report_with_a_bad_date_or_format(service):
    boss = service.staff("ce-boss", "supervisor")
    refused(boss.get("/api/reports/daily", params={"date": "yesterday"}), 422, "bad_date", "2026-11-24")
    refused(boss.get("/api/reports/daily", params={"date": "1999-12-31"}), 422, "bad_date", "2000 年到 2099 年")
    refused(boss.get("/api/reports/yearly", params={"date": "2026-11-24"}), 404, "unknown_report", "日报")
    refused(
        boss.get("/api/reports/daily", params={"date": "2026-11-24", "format": "pdf"}), 422, "unknown_format", "表格"
    )
    refused(boss.get("/api/reports/corrections", params={"format": "xls"}), 422, "unknown_format", "表格")
    # The command line says the same to whoever runs it.
    done = subprocess.run(
        [sys.executable, "-m", "cli", "report", "daily", "--date", "yesterday"],
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2 and "请写成 2026-11-24" in done.stderr, done.stderr
    assert_chinese(done.stderr.strip())


def test_signing_in_wrong_and_a_stale_page_are_refused_in_chinese(service):
    service.add_user("ce-op", "operator")
    with httpx.Client(base_url=service.url, timeout=30) as browser:
        wrong = browser.post("/login", json={"username": "ce-op", "password": "not-the-password"})
        refused(wrong, 401, "wrong_password", "用户名或密码错误")
        refused(browser.post("/login", json=["ce-op"]), 422, "bad_sign_in", "用户名和密码")
        # The form: the page again, with the error in Chinese only.
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text).group(1)
        form = browser.post("/login", data={"username": "ce-op", "password": "not-the-password", "csrf_token": token})
        assert form.status_code == 401 and page_error(form) == "用户名或密码错误：请重新输入"
        stale = browser.post("/login", data={"username": "ce-op", "password": TEST_PASSWORD, "csrf_token": "old"})
        assert stale.status_code == 403 and "登录页面已过期" in page_error(stale)
        assert_chinese(page_error(stale))
        # Signed in, a request without the page's CSRF token (a stale page) is refused.
        signed = browser.post("/login", json={"username": "ce-op", "password": TEST_PASSWORD})
        assert signed.status_code == 200
        refused(browser.post("/api/operators/me/sign-in"), 403, "csrf_failed", "刷新页面")
        refused(browser.post("/logout", headers={"X-CSRF-Token": "wrong"}), 403, "csrf_failed", "刷新页面")


def test_too_many_failed_sign_ins_say_how_long_to_wait(service):
    service.add_user("ce-guess", "operator")
    for _ in range(5):
        wrong = httpx.post(f"{service.url}/login", json={"username": "ce-guess", "password": "wrong-password-1"})
        assert wrong.status_code == 401
    locked = httpx.post(f"{service.url}/login", json={"username": "ce-guess", "password": TEST_PASSWORD})
    refused(locked, 429, "too_many_attempts", "登录失败次数过多", "分钟后再试")
    assert int(locked.headers["retry-after"]) > 800
    with httpx.Client(base_url=service.url, timeout=30) as browser:
        token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/login").text).group(1)
        form = browser.post("/login", data={"username": "ce-guess", "password": TEST_PASSWORD, "csrf_token": token})
        assert form.status_code == 429 and "分钟后再试" in page_error(form)
        assert_chinese(page_error(form))
