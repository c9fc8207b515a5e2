"""Lawyers act on their callbacks from `/lawyer` (issue 13): the 待回电 list links to each ticket, a lawyer opens
their own callback (never another seat's), records each call back (reached or not, with a note: not reached, it
stays on the list with the attempt shown) and writes the reply, which closes it. An admin picks a seat to work.
Long input (a 300-digit number, a long summary) wraps instead of widening the page; the seat API answers in Chinese.

Known rows written into the real service's database; the consoles in a real Chromium; the domain functions on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest

import recordings.tables  # noqa: F401 - the calls table that tickets refer to
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from routing.callbacks import CallbackError, attempts_of, record_attempt, reply
from routing.tables import Ticket
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.rosters import round_the_clock_roster
from tests.running_service import TEST_PASSWORD, RunningService

MINE, LONG, THEIRS, NOT_CALLBACK = (f"12351-20261207-08{n:02d}" for n in range(1, 5))
MY_NUMBER = "+8613987654321"
NINES = "9" * 300  # what a caller's 300 key presses left before numbers were checked
LONG_SUMMARY = "老板拖欠工资" * 120 + "ABCDEFGHIJ" * 40  # long words, and a long run with nowhere to break
HAN = re.compile(r"[\u4e00-\u9fff]")


def _callback(number: str, seat: str | None, **fields) -> Ticket:
    now = utcnow()
    return Ticket(
        number=number,
        route="lawyer_callback",
        status="accepted",
        assigned_to=seat,
        caller_number=fields.pop("caller_number", "+8613912345678"),
        subject="working_hours",
        kind="consult",
        handling_class="consult",
        summary=fields.pop("summary", "公司不给加班费，想问加班费怎么算"),
        created_at=now,
        reply_due_at=now + timedelta(days=1),
        **fields,
    )


@pytest.fixture(scope="module")
def service(tmp_path_factory):
    var = tmp_path_factory.mktemp("callbacks")
    (var / "roster.yaml").write_text(round_the_clock_roster(max_wait_s=300), encoding="utf-8")
    svc = RunningService(
        var,
        {
            "HOTLINE_VOSK_MODEL_PATH": str(var / "no-model"),
            "HOTLINE_ROSTER_FILE": str(var / "roster.yaml"),
            "HOTLINE_QA_SCAN_SECONDS": "3600",
            "HOTLINE_SLA_SCAN_SECONDS": "3600",
        },
    )
    svc.start()
    svc.staff("lawyer-wang", "lawyer", roster_id="L01")  # the schema is there once an account is made
    engine = make_engine(f"sqlite:///{var / 'hotline.db'}")
    with transaction(make_session_factory(engine)) as session:
        session.add_all(
            [
                _callback(MINE, "L01", callback_number=MY_NUMBER),
                _callback(LONG, "L01", callback_number=NINES, summary=LONG_SUMMARY),
                _callback(THEIRS, "L02", callback_number="+8613911112222"),
                Ticket(number=NOT_CALLBACK, route="dispatcher", assigned_to="L01", summary="转办工单"),
            ]
        )
    engine.dispose()
    yield svc
    svc.stop()


def _row(page, number: str):
    return page.locator(f"#callbacks tr[data-number='{number}']")


def test_a_lawyer_opens_a_callback_records_a_missed_call_then_replies_and_it_leaves_the_list(service, browser):
    page = signed_in_page(browser, service.url, "/lawyer", "lawyer-wang", TEST_PASSWORD)
    _row(page, MINE).wait_for()
    assert _row(page, THEIRS).count() == 0  # another seat's callback is not on my list
    assert _row(page, MINE).locator("td").nth(1).inner_text() == MY_NUMBER  # lawyers call back: the full number
    assert "未回电" in _row(page, MINE).inner_text()

    _row(page, MINE).locator("a.callback-link").click()
    page.wait_for_url(f"**/tickets/{MINE}")
    page.wait_for_selector("body[data-loaded=accepted]")
    assert page.is_visible("#callback-card") and page.inner_text("#callback-to") == MY_NUMBER
    assert page.locator("#correction-card, #dispatch-card, #complete-card").count() == 0  # no dispatcher actions

    # Nobody answers: written down, and the callback stays due.
    page.check("#attempt-form input[name=reached][value=no]")
    page.fill("#attempt-note", "无人接听，明天上午再打")
    page.click("#attempt-form button[type=submit]")
    page.wait_for_selector("#status:has-text('回电未接通')")
    page.wait_for_selector("body[data-callback-attempts='1']")
    assert "无人接听，明天上午再打" in page.inner_text("#callback-attempts li.not-reached")
    # A reply before anyone was reached is refused, in words.
    page.fill("#reply-text", "加班费按工资的150%计算")
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector("#status.error:has-text('还没有接通来电人')")

    page.goto("/lawyer")
    _row(page, MINE).wait_for()
    shown = _row(page, MINE).locator("td").nth(4).inner_text()
    assert shown.startswith("1次") and "未接通：无人接听，明天上午再打" in shown
    snapshot(page, "lawyer-callbacks")
    assert_chinese_renders(page)

    # The next morning the caller answers: reached, then the reply closes the callback.
    _row(page, MINE).locator("a.callback-link").click()
    page.wait_for_selector("body[data-callback-attempts='1']")
    page.check("#attempt-form input[name=reached][value=yes]")
    page.fill("#attempt-note", "已接通")
    page.click("#attempt-form button[type=submit]")
    page.wait_for_selector("body[data-callback-attempts='2']")
    page.fill("#reply-text", "已告知：工作日加班按工资的150%支付加班费，可向劳动监察投诉")
    page.click("#reply-form button[type=submit]")
    page.wait_for_selector("#status:has-text('已答复，回电结束')")
    page.wait_for_selector("body[data-loaded=replied]")
    assert page.is_hidden("#callback-card")
    snapshot(page, "lawyer-callback-replied")
    page.goto("/lawyer")
    _row(page, LONG).wait_for()
    assert _row(page, MINE).count() == 0  # replied: no longer due
    no_script_errors(page)
    page.context.close()

    ticket = service.api.get(f"/api/tickets/{MINE}").json()
    assert ticket["status"] == "replied"
    kinds = [(e["kind"], e["actor"]) for e in ticket["events"]]
    assert kinds == [
        ("callback_not_reached", "lawyer-wang"),
        ("callback_reached", "lawyer-wang"),
        ("replied", "lawyer-wang"),
    ]
    assert "150%" in ticket["events"][-1]["note"]
    audit = service.staff("sup-wang", "supervisor").get("/api/audit", params={"target": MINE}).json()
    assert {"callback_attempt", "callback_reply"} <= {e["action"] for e in audit}
    closed = service.staff("lawyer-wang", "lawyer").post(f"/api/seat/callbacks/{MINE}/attempts", json={"reached": True})
    assert closed.status_code == 409 and closed.json()["code"] == "callback_closed"


def test_another_seats_callback_is_refused_to_the_lawyer(service, browser):
    lawyer = service.staff("lawyer-wang", "lawyer")
    assert lawyer.get(f"/api/tickets/{THEIRS}").status_code == 403
    refused = lawyer.post(f"/api/seat/callbacks/{THEIRS}/attempts", json={"reached": False, "note": "x"})
    assert refused.status_code == 403 and refused.json()["code"] == "not_your_callback"
    assert HAN.search(refused.json()["detail"])
    assert lawyer.post(f"/api/seat/callbacks/{THEIRS}/reply", json={"text": "x"}).status_code == 403
    other = lawyer.post(f"/api/seat/callbacks/{NOT_CALLBACK}/attempts", json={"reached": True})
    assert other.status_code == 409 and other.json()["code"] == "not_a_callback"
    missing = lawyer.post("/api/seat/callbacks/12351-20261207-9999/attempts", json={"reached": True})
    assert missing.status_code == 404
    inspector = service.staff("insp-wang", "inspector")
    assert inspector.post(f"/api/seat/callbacks/{LONG}/attempts", json={"reached": True}).status_code == 403
    assert service.staff("lawyer-li", "lawyer", roster_id="L02").get(f"/api/tickets/{THEIRS}").status_code == 200

    page = signed_in_page(browser, service.url, "/lawyer", "lawyer-wang", TEST_PASSWORD)
    answer = page.goto(f"/tickets/{THEIRS}")
    assert answer.status == 403 and "不是您的" in page.inner_text("main")
    assert page.goto(f"/tickets/{LONG}").status == 200  # their own
    page.context.close()
    assert service.api.get(f"/api/tickets/{THEIRS}").json()["events"] == []  # nothing written


def test_an_admin_picks_a_seat_on_the_lawyer_page_and_works_it(service, browser):
    service.staff("admin-zhao", "admin")
    page = signed_in_page(browser, service.url, "/lawyer", "admin-zhao", TEST_PASSWORD)
    page.wait_for_selector("#seat-picker:not([hidden])")
    assert "请先选择" in page.inner_text("#acting-for")
    options = page.eval_on_selector_all("#pick-seat option", "os => os.map(o => o.textContent)")
    assert options[1:] == ["王律师（L01）", "李律师（L02）"]
    page.select_option("#pick-seat", "L02")
    page.wait_for_url("**/lawyer?lawyer_id=L02")
    page.wait_for_selector("#seat:has-text('李律师（L02）')")
    _row(page, THEIRS).wait_for()
    assert _row(page, MINE).count() == 0 and _row(page, LONG).count() == 0  # L02's list, not L01's
    assert "****" in _row(page, THEIRS).locator("td").nth(1).inner_text()  # an admin reads masked numbers
    assert "L02" in page.inner_text("#acting-for")
    page.click("#seat-toggle")  # an admin may act for the seat (README: the lawyer-seat API for the seat named)
    page.wait_for_selector("#signed-in[data-signed-in=true]")
    snapshot(page, "lawyer-admin")
    page.click("#seat-toggle")
    page.wait_for_selector("#signed-in[data-signed-in=false]")
    no_script_errors(page)
    page.context.close()


def test_long_input_wraps_at_1366_px(service, browser):
    page = signed_in_page(browser, service.url, "/lawyer", "lawyer-wang", TEST_PASSWORD)
    page.set_viewport_size({"width": 1366, "height": 900})
    _row(page, LONG).wait_for()
    fits = "() => document.documentElement.scrollWidth <= window.innerWidth"
    wait_until(page, fits)
    box = page.locator(f"#callbacks tr[data-number='{LONG}'] .phone").bounding_box()
    assert box["x"] + box["width"] <= 1366 and box["height"] > 40  # the 300 digits wrap over several lines
    snapshot(page, "lawyer-long-input")
    page.goto(f"/tickets/{LONG}")
    page.wait_for_selector("body[data-loaded=accepted]")
    wait_until(page, fits)
    assert page.inner_text("#callback-to") == NINES
    snapshot(page, "ticket-long-input")
    no_script_errors(page)
    page.context.close()


def test_the_seat_api_answers_in_chinese_with_codes(service):
    lawyer = service.staff("lawyer-wang", "lawyer")
    answers = {
        "not_your_seat": lawyer.post("/api/lawyers/L02/sign-in"),
        "nobody_waiting": lawyer.post("/api/queue/take", json={}),
        "no_current_caller": lawyer.post("/api/seat/notes", json={"text": "已解答"}),
        "seat_not_named": service.api.get("/api/seat/state"),
        "no_phone": service.staff("op-nophone", "operator").post("/api/operators/me/sign-in"),
    }
    for code, answer in answers.items():
        body = answer.json()
        assert 400 <= answer.status_code < 500 and body["code"] == code, (code, answer.status_code, body)
        assert HAN.search(body["detail"]) and not re.search(r"\b(you|your|the|is|not|no)\b", body["detail"]), body


# --- the domain functions on SQLite and PostgreSQL -----------------------------------------------------------------


def test_attempts_keep_the_callback_due_until_the_reply(migrated):
    with transaction(migrated) as session:
        ticket = _callback("12351-20261207-0901", None)
        session.add(ticket)
        session.flush()
        with pytest.raises(CallbackError) as early:
            reply(session, ticket, seat="L01", actor="lawyer-wang", text="答复")
        assert early.value.code == "not_reached"
        record_attempt(session, ticket, seat="L01", actor="lawyer-wang", reached=False, note="占线")
        assert ticket.assigned_to == "L01"  # a callback nobody had taken is the seat's that called
        with pytest.raises(CallbackError) as theirs:
            record_attempt(session, ticket, seat="L02", actor="lawyer-li", reached=True)
        assert theirs.value.code == "not_your_callback"
    with transaction(migrated) as session:
        ticket = session.query(Ticket).filter_by(number="12351-20261207-0901").one()
        assert [(a.reached, a.note) for a in attempts_of(ticket)] == [(False, "占线")]
        record_attempt(session, ticket, seat="L01", actor="lawyer-wang", reached=True)
    with transaction(migrated) as session:
        ticket = session.query(Ticket).filter_by(number="12351-20261207-0901").one()
        reply(session, ticket, seat="L01", actor="lawyer-wang", text="已解答")
        assert ticket.status == "replied"
