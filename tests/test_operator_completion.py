"""Operators complete the tickets marked for a person (issue 13): a caller who pressed 0 talked to an operator, and
the ticket says "complete this ticket from the conversation" with no words and the subject `other`. The operator
writes what the caller said, the subject, consult or help and the urgency flags on `/tickets/{number}`; the ticket
is then routed as a classified one (a union, a lawyer's callback, the supervisor), with who and when written down.

Real calls through the Twilio emulator (keys only, no speech), the real service, a real Chromium; the domain
function on SQLite and PostgreSQL.
"""

from __future__ import annotations

import secrets

import pytest

from emulator import CallerScript, TwilioEmulator
from hotline.db import transaction, utcnow
from routing.classify import default_taxonomy
from routing.completion import CompletionError, complete_ticket
from routing.config import load_routing_data
from routing.corrections import checked_by_person
from routing.service import route_ticket
from routing.tables import Ticket
from routing.tickets import WordsFrom, add_event, write_caller_words
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
)
from tests.rosters import round_the_clock_roster
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env

WAGES = "我在雁塔区小寨一家饭店打工，老板两个月没发工资了，想请工会帮忙要回来"
LEGAL = "公司不给签劳动合同，想问问能不能要求双倍工资，怎么申请仲裁"


@pytest.fixture(scope="module")
def service(tmp_path_factory, account, twilio):
    var = tmp_path_factory.mktemp("completion")
    (var / "roster.yaml").write_text(round_the_clock_roster(max_wait_s=300), encoding="utf-8")
    svc = RunningService(
        var,
        {
            **emulator_env(twilio),
            "HOTLINE_VOSK_MODEL_PATH": str(var / "no-model"),
            "HOTLINE_ROSTER_FILE": str(var / "roster.yaml"),
            "HOTLINE_QA_SCAN_SECONDS": "3600",
            "HOTLINE_SLA_SCAN_SECONDS": "3600",
        },
    )
    svc.start()
    yield svc
    svc.stop()


def operator_call(twilio: TwilioEmulator, service: RunningService) -> dict:
    """A caller presses 0 and talks to the operators' desk; the ticket the call leaves for a person."""
    report = twilio.place_call(
        f"{service.url}/twilio/voice",
        caller=CallerScript(keys=["0"]),
        from_=f"+86139{secrets.randbelow(10**8):08d}",
        status_callback=f"{service.url}/twilio/status",
    )
    assert not report.errors, report.errors
    ticket = service.ticket_of(report.call_sid)
    assert ticket is not None, service.log()[-3000:]
    return ticket


def test_the_operator_completes_the_ticket_of_a_call_put_through_and_sees_it_routed(twilio, service, browser):
    ticket = operator_call(twilio, service)
    number = ticket["number"]
    assert ticket["needs_human"] and "补全工单" in ticket["needs_human_reason"]
    assert ticket["needs_human_codes"] == ["put_through"]
    assert (ticket["summary"], ticket["subject"], ticket["route"]) == ("", "other", "operator")

    service.staff("op-zhou", "operator")
    page = signed_in_page(browser, service.url, f"/tickets/{number}", "op-zhou", TEST_PASSWORD)
    page.wait_for_selector("body[data-loaded=accepted]")
    assert page.is_visible("#complete-card") and "需人工处理" in page.inner_text("#complete-reason")
    subjects = page.eval_on_selector_all("#complete-subject option", "os => os.map(o => o.textContent)")
    assert "欠薪" in subjects and "工伤/职业病" in subjects  # the taxonomy's words, not its codes
    kinds = page.eval_on_selector_all("#complete-kind option", "os => os.map(o => o.textContent)")
    assert kinds[1:] == ["咨询", "求助"]
    flags = page.eval_on_selector_all("#complete-flags label", "ls => ls.map(l => l.textContent.trim())")
    assert flags == ["危", "众", "多", "大", "隐"]

    # Saving without a subject is not possible: the browser asks for one (nothing is sent).
    page.fill("#complete-summary", WAGES)
    page.click("#complete-form button[type=submit]")
    assert page.evaluate("document.querySelector('#complete-subject').validity.valueMissing")
    assert service.operator.get(f"/api/tickets/{number}").json()["needs_human"] is True

    page.select_option("#complete-subject", "wage_arrears")
    page.select_option("#complete-kind", "help")
    page.fill("#complete-note", "来电人下午可以接电话")
    page.click("#complete-form button[type=submit]")
    page.wait_for_selector("#status:has-text('已补全并分派')")
    page.wait_for_selector("body[data-loaded=dispatched]")  # routed on: to the union of the place named
    assert page.get_attribute("#route", "data-route") == "local_union"
    assert page.inner_text("#route") == "属地工会"
    assert page.inner_text("#union-id") == "雁塔区总工会" and page.inner_text("#district") == "雁塔区"
    assert page.is_hidden("#complete-card")  # no longer marked for a person
    assert WAGES in page.inner_text("#transcript")
    entry = page.locator("#history tr", has_text="人工补全")
    assert "op-zhou" in entry.inner_text() and "事项 欠薪；性质 求助" in entry.inner_text()
    snapshot(page, "ticket-completed-by-operator")
    assert_chinese_renders(page)
    no_script_errors(page)
    page.context.close()

    done = service.operator.get(f"/api/tickets/{number}").json()
    assert (done["needs_human"], done["summary"], done["subject"], done["kind"]) == (
        False,
        WAGES,
        "wage_arrears",
        "help",
    )
    assert (done["route"], done["status"], done["union_id"], done["handling_class"]) == (
        "local_union",
        "dispatched",
        "xa-yanta",
        "assist",
    )
    completed = [e for e in done["events"] if e["kind"] == "completed"]
    assert [e["actor"] for e in completed] == ["op-zhou"] and completed[0]["at"]
    assert "来电人下午可以接电话" in completed[0]["note"]
    assert done["dispatch_due_at"] and done["reply_due_at"]  # the clock of a help ticket
    audit = service.staff("sup-zhou", "supervisor").get(
        "/api/audit", params={"action": "complete_ticket", "target": number}
    )
    assert [(e["actor"], e["detail"]["route"]) for e in audit.json()] == [("op-zhou", "local_union")]

    # Done once: the form is gone, and the API says why it refuses a second time (in words, with a code).
    again = service.operator.post(
        f"/api/tickets/{number}/completion", json={"summary": WAGES, "subject": "wage_arrears", "kind": "help"}
    )
    assert again.status_code == 409 and again.json()["code"] == "not_marked" and "更正" in again.json()["detail"]


def test_a_legal_question_becomes_a_callback_for_the_lawyer_and_flags_go_to_the_supervisor(twilio, service):
    operator = service.staff("op-zhou", "operator")
    legal = operator_call(twilio, service)["number"]
    done = operator.post(
        f"/api/tickets/{legal}/completion", json={"summary": LEGAL, "subject": "labor_contract", "kind": "consult"}
    )
    assert done.status_code == 200, done.text
    ticket = done.json()
    # The caller has hung up: the next lawyer on duty calls them back (their 待回电), on the caller's own number.
    assert (ticket["route"], ticket["assigned_to"], ticket["handling_class"]) == ("lawyer_callback", "L01", "consult")
    assert ticket["callback_number"] == ticket["caller_number"] and not ticket["needs_human"]
    lawyer = service.staff("lawyer-wang", "lawyer", roster_id="L01")
    assert legal in [t["number"] for t in lawyer.get("/api/seat/callbacks").json()]

    urgent = operator_call(twilio, service)["number"]
    flagged = operator.post(
        f"/api/tickets/{urgent}/completion",
        json={
            "summary": "工地上十五个人被欠了半年工资，说要去堵路",
            "subject": "wage_arrears",
            "kind": "help",
            "urgency_flags": ["hidden", "mass"],
        },
    ).json()
    assert (flagged["route"], flagged["handling_class"], flagged["urgency_flags"]) == (
        "supervisor",
        "urgent",
        ["mass", "hidden"],
    )
    alerts = operator.get("/api/alerts").json()
    assert any(a["ticket_number"] == urgent for a in alerts)


def test_completion_is_refused_in_words_to_the_wrong_input_and_the_wrong_roles(twilio, service):
    number = operator_call(twilio, service)["number"]
    operator = service.staff("op-zhou", "operator")
    path = f"/api/tickets/{number}/completion"
    bad = operator.post(path, json={"summary": WAGES, "subject": "parking", "kind": "help"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_subject" and "事项" in bad.json()["detail"]
    bad = operator.post(path, json={"summary": WAGES, "subject": "wage_arrears", "kind": "maybe"})
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_kind"
    bad = operator.post(path, json={"summary": "   ", "subject": "wage_arrears", "kind": "help"})
    assert bad.status_code == 422 and bad.json()["code"] == "empty_summary"
    bad = operator.post(
        path, json={"summary": WAGES, "subject": "wage_arrears", "kind": "help", "urgency_flags": ["x"]}
    )
    assert bad.status_code == 422 and bad.json()["code"] == "unknown_flag"
    long = operator.post(path, json={"summary": "x" * 4001, "subject": "other", "kind": "help"})
    assert long.status_code == 422 and long.json()["code"] == "invalid_request"  # the form's own check, in words:
    assert "来电人反映的问题太长：最多 4000 个字" in long.json()["detail"], long.json()["detail"]
    missing = operator.post(path, json={"summary": WAGES})
    assert "事项未填写" in missing.json()["detail"] and "性质（咨询或求助）未填写" in missing.json()["detail"]
    body = {"summary": WAGES, "subject": "wage_arrears", "kind": "help"}
    assert service.staff("insp-zhou", "inspector").post(path, json=body).status_code == 403
    assert service.staff("lawyer-li", "lawyer", roster_id="L02").post(path, json=body).status_code == 403
    assert operator.get(f"/api/tickets/{number}").json()["needs_human"] is True  # nothing was written
    supervisor = service.staff("sup-zhou", "supervisor")
    assert supervisor.post(path, json=body).json()["route"] == "local_union"  # supervisors complete too


# --- the domain function on SQLite and PostgreSQL ------------------------------------------------------------------


def test_complete_ticket_routes_once_and_a_later_machine_reading_keeps_the_persons_work(migrated, tmp_path):
    roster = tmp_path / "roster.yaml"
    roster.write_text(round_the_clock_roster(max_wait_s=300), encoding="utf-8")
    data = load_routing_data(
        roster=roster, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )
    with transaction(migrated) as session:
        ticket = Ticket(
            number="12351-20261207-0901",
            caller_number="+8613700000001",
            menu_choice="operator",
            route="operator",
            needs_human=True,
            needs_human_reason="来电人已转接话务员：请根据通话内容补全工单",
            needs_human_codes=["put_through"],
        )
        session.add(ticket)
        session.flush()
        add_event(session, ticket, "accepted", "opened from call")
        decision = complete_ticket(
            session,
            ticket,
            actor="op-1",
            summary=WAGES,
            subject="wage_arrears",
            kind="help",
            urgency_flags=[],
            taxonomy=default_taxonomy(),
            data=data,
            now=utcnow(),
        )
        assert decision.route == "local_union"
    with transaction(migrated) as session:
        ticket = session.query(Ticket).filter_by(number="12351-20261207-0901").one()
        assert (ticket.needs_human, ticket.status, ticket.union_id) == (False, "dispatched", "xa-yanta")
        assert checked_by_person(ticket)  # a later transcript never undoes the person's subject and kind
        assert [e.kind for e in ticket.events].count("routed") == 1
        with pytest.raises(CompletionError) as refused:
            complete_ticket(
                session,
                ticket,
                actor="op-1",
                summary=WAGES,
                subject="wage_arrears",
                kind="help",
                urgency_flags=[],
                taxonomy=default_taxonomy(),
                data=data,
                now=utcnow(),
            )
        assert refused.value.code == "not_marked" and refused.value.conflict
        # The recording's transcript arrives after the operator wrote what the caller said: it is read for what it
        # adds (the ticket is reclassified, an urgent flag would still count), but the operator's words stay.
        route_ticket(session, ticket, "喂喂 听不清 工资", data, utcnow(), WordsFrom.RECORDING)
        assert (ticket.summary, ticket.words_from) == (WAGES, WordsFrom.PERSON)
        session.flush()
        session.refresh(ticket)
        assert ticket.subject == "wage_arrears" and [e.kind for e in ticket.events][-1] == "reclassified"


def test_a_ticket_s_words_come_from_one_writer_and_an_empty_transcript_keeps_the_words_heard_live(migrated):
    with transaction(migrated) as session:
        ticket = Ticket(number="12351-20261207-0902", caller_number="+8613700000002", menu_choice="help")
        session.add(ticket)
        session.flush()
        assert write_caller_words(ticket, WAGES, WordsFrom.LIVE)
        assert not write_caller_words(ticket, "", WordsFrom.RECORDING)  # the recording heard nothing after all
        assert (ticket.summary, ticket.words_from) == (WAGES, WordsFrom.LIVE)
        assert write_caller_words(ticket, "老板拖欠三个月工资", WordsFrom.RECORDING)  # the batch transcript, better
        assert write_caller_words(ticket, "公司拖欠工资三个月", WordsFrom.PERSON)
        assert not write_caller_words(ticket, "拖欠工资", WordsFrom.RECORDING)
    with migrated() as session:
        stored = session.query(Ticket).filter_by(number="12351-20261207-0902").one()
        assert (stored.summary, stored.words_from) == ("公司拖欠工资三个月", "person")
