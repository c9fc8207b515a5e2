"""What operators and lawyers read on the ticket, ticket list, lawyer seat and feedback pages is Chinese (issue 13),
in a real Chromium against the real service and the Twilio emulator: event kinds (机器理解, 需人工处理), routes
(派单员, 律师回电), states, subjects and the machine's notes by their labels, times in the hotline's local time; no
visible text is an English word or a code (`needs_human`, `lawyer_callback`). The codes stay in the JSON API.

Real calls: a caller who presses 0 and is put through to an operator (a ticket for a person, which the operator
completes as a legal question: a lawyer's callback), and a caller who asks for help naming two districts (the
dispatcher's queue); the caller's words are scripted (`speech.scripted`), the Mandarin model being unobtainable.
"""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from emulator import CallerScript
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.conftest import ZH_SPEECH
from tests.running_service import TEST_PASSWORD
from tests.test_consoles import setup  # noqa: F401 - the fixture: the service, the emulator, scripted words

pytestmark = [pytest.mark.shared_data, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TWO_PLACES = "我住在碑林区公司注册在莲湖区老板拖欠工资三个月了"
LEGAL = "公司不给签劳动合同，想问问能不能要求双倍工资，怎么申请仲裁"
SH = ZoneInfo("Asia/Shanghai")
# What is not a word to translate: ticket numbers, call SIDs (the emulator's CA + 32 hex), phone numbers.
NOT_WORDS = re.compile(r"12351-\d{8}-\d{4}|\bCA[0-9a-fA-F]{32}\b|\+?\d[\d*]{6,}")
LATIN_WORD = re.compile(r"[A-Za-z]{3,}")
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")  # how a code looks: needs_human, lawyer_callback, wage_arrears


def foreign_words(page, *usernames: str) -> list[str]:
    """The English words and codes in what the page shows (`document.body.innerText`), once the numbers, call
    SIDs and the signed-in people's usernames are taken out."""
    text = NOT_WORDS.sub(" ", page.evaluate("document.body.innerText"))
    for name in usernames:
        text = text.replace(name, " ")
    return sorted(set(LATIN_WORD.findall(text)) | set(CODE.findall(text)))


def local(iso: str) -> str:
    """A moment as the pages show it (zh-CN in Asia/Shanghai): 2026/12/7 09:05:03."""
    moment = datetime.fromisoformat(iso).astimezone(SH)
    return f"{moment.year}/{moment.month}/{moment.day} {moment:%H:%M:%S}"


def _call(setup, keys: list[str], say=None) -> str:  # noqa: F811 - the fixture, passed in
    report = setup.twilio.place_call(
        f"{setup.service.url}/twilio/voice",
        caller=CallerScript(keys=keys, say=say),
        from_=f"+86137{secrets.randbelow(10**8):08d}",
        status_callback=f"{setup.service.url}/twilio/status",
    )
    assert not report.errors, report.errors
    return report.call_sid


def test_ticket_pages_the_list_the_lawyer_seat_and_feedback_speak_chinese(setup, browser):  # noqa: F811
    service = setup.service
    operator = service.staff("op-qian", "operator")

    # A caller put through to an operator: the ticket is marked for a person (需人工处理), in words.
    put_through = service.ticket_of(_call(setup, ["0"]))
    assert put_through["needs_human"] and put_through["route"] == "operator"
    page = signed_in_page(browser, service.url, f"/tickets/{put_through['number']}", "op-qian", TEST_PASSWORD)
    page.wait_for_selector("body[data-loaded=accepted]")
    assert foreign_words(page, "op-qian") == []
    history = page.inner_text("#history")
    assert "需人工处理" in history and "受理" in history and "补全工单" in page.inner_text("#complete-reason")
    first = page.locator("#history tbody tr").first.locator("td")
    assert first.nth(0).inner_text() == local(put_through["events"][0]["at"])  # Beijing time, not UTC
    assert first.nth(1).inner_text() == "系统"  # the machine, by its Chinese name
    assert page.inner_text("#route") == "话务员"

    # A caller asking for help who names two districts: understood, then the dispatcher's to decide.
    clip = setup.says(min(ZH_SPEECH.glob("*.wav")), TWO_PLACES)
    help_sid = _call(setup, ["2"], clip)
    unsure = service.wait_for_ticket(help_sid)
    assert unsure["route"] == "dispatcher" and unsure["subject"] == "wage_arrears"
    kinds = {e["kind"]: e["kind_label"] for e in unsure["events"]}  # the codes stay, with their labels
    assert (kinds["classified"], kinds["routed"]) == ("机器理解", "分派")
    assert (unsure["route_label"], unsure["subject_label"], unsure["status_label"]) == ("派单员", "欠薪", "受理")
    page.goto(f"/tickets/{unsure['number']}")
    page.wait_for_selector("body[data-loaded=accepted]")
    assert foreign_words(page, "op-qian") == []
    history = page.inner_text("#history")
    assert "机器理解" in history and "分派" in history and "事项：欠薪" in history
    assert "派单员" in page.inner_text("#routed") and page.inner_text("#subject") == "欠薪"
    assert page.inner_text("#state") == "受理"
    assert_chinese_renders(page)
    snapshot(page, "chinese-ticket")

    # The list: the dispatcher's queue holds it, by the taxonomy's and the closed loop's words.
    page.goto("/tickets")
    row = page.locator(f"#ticket-table tr[data-number='{unsure['number']}']")
    row.wait_for()
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert (cells[1], cells[2], cells[8]) == (local(unsure["created_at"]), "欠薪", "受理")
    page.click("#tabs [data-tab=all]")
    page.wait_for_selector(f"#ticket-table tr[data-number='{put_through['number']}']")
    assert foreign_words(page, "op-qian") == []
    snapshot(page, "chinese-tickets")

    # The operator completes the put-through ticket as a legal question: the caller is gone, a lawyer calls back.
    done = operator.post(
        f"/api/tickets/{put_through['number']}/completion",
        json={"summary": LEGAL, "subject": "labor_contract", "kind": "consult", "urgency_flags": []},
    )
    assert done.status_code == 200, done.text
    callback = done.json()
    assert (callback["route"], callback["route_label"]) == ("lawyer_callback", "律师回电")
    no_script_errors(page)
    page.context.close()

    # The lawyer whose callback it is: the seat, the 待回电 list, the ticket.
    seat = callback["assigned_to"]
    service.staff("lawyer-chen", "lawyer", roster_id=seat)
    page = signed_in_page(browser, service.url, "/lawyer", "lawyer-chen", TEST_PASSWORD)
    page.wait_for_selector(f"#callbacks tr[data-number='{put_through['number']}']")
    page.wait_for_selector("#duty:has-text('正在值班')")
    assert foreign_words(page, "lawyer-chen", seat) == []
    assert "待回电" in page.inner_text("main") and "未回电" in page.inner_text("#callbacks")
    page.click(f"#callbacks tr[data-number='{put_through['number']}'] a.callback-link")
    page.wait_for_selector("body[data-loaded=accepted]")
    assert page.is_visible("#callback-card")
    assert foreign_words(page, "lawyer-chen", "op-qian", seat) == []
    history = page.inner_text("#history")
    assert "人工补全" in history and "待回电" in history and page.inner_text("#route") == "律师回电"
    snapshot(page, "chinese-lawyer-ticket")
    no_script_errors(page)
    page.context.close()

    # The operator's own QA feedback page (nothing inspected yet).
    page = signed_in_page(browser, service.url, "/feedback", "op-qian", TEST_PASSWORD)
    page.wait_for_selector("#status:has-text('待整改')")
    assert foreign_words(page, "op-qian") == []
    assert "质检反馈" in page.inner_text("main h1") and "没有质检反馈" in page.inner_text("#feedback")
    no_script_errors(page)
    page.context.close()
