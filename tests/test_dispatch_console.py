"""The dispatcher's console (/tickets, /tickets/{number}) in a real headless Chromium, against the real service.

The ticket in the dispatcher queue comes from a real call through the Twilio emulator: the caller names two
districts, so routing leaves the choice to a person. Only the caller's words are scripted (`speech.scripted`,
the Mandarin model being unobtainable); webhooks, recording, classifier, routing and database are real.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from api.routes.tickets import deadline_condition
from emulator import CallerScript, TwilioEmulator
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from routing.sla import load_sla
from routing.tables import Ticket
from tests.browser import browser_fixture, no_script_errors, signed_in_page, snapshot  # noqa: F401 - the fixture
from tests.conftest import ZH_SPEECH, korean_model_path
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env
from tests.scripted_clips import script_clip

pytestmark = [pytest.mark.shared_data, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TWO_PLACES = "我住在碑林区公司注册在莲湖区老板拖欠工资三个月了"


class Setup:
    def __init__(self, twilio: TwilioEmulator, service: RunningService) -> None:
        self.twilio, self.service = twilio, service
        self.script = service.var_dir / "scripted.tsv"
        self.script.write_text("", encoding="utf-8")

    def says(self, clip: Path, text: str) -> Path:
        """The scripted recognizer hears `text` in this clip, as the phone line delivers it."""
        return script_clip(self.script, clip, text)

    def call(self, keys: list[str], say: Path):
        return self.twilio.place_call(
            f"{self.service.url}/twilio/voice",
            caller=CallerScript(keys=keys, say=say),
            from_=f"+86137{secrets.randbelow(10**8):08d}",
            status_callback=f"{self.service.url}/twilio/status",
        )

    def add_tickets(self, tickets: list[Ticket]) -> None:
        """Known rows written straight into the service's database (a SQLite file under its var dir)."""
        engine = make_engine(f"sqlite:///{self.service.var_dir / 'hotline.db'}")
        with transaction(make_session_factory(engine)) as session:
            session.add_all(tickets)
        engine.dispose()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, account):
    var = tmp_path_factory.mktemp("dispatch")
    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as twilio:
        service = RunningService(
            var,
            {
                **emulator_env(twilio),
                "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
                "HOTLINE_TEST_TRANSCRIPTS_FILE": str(var / "scripted.tsv"),
                "HOTLINE_JOB_POLL_SECONDS": "0.1",
                "HOTLINE_SLA_SCAN_SECONDS": "3600",  # the clock's rounds would move the known rows below
                "HOTLINE_QA_SCAN_SECONDS": "3600",
            },
        )
        made = Setup(twilio, service)
        with service:
            yield made


def test_operator_dispatches_a_queued_ticket_and_replies(setup, browser):
    service = setup.service
    clip = setup.says(min(ZH_SPEECH.glob("*.wav")), TWO_PLACES)
    report = setup.call(["2"], clip)
    ticket = service.ticket_of(report.call_sid)
    assert (ticket["route"], ticket["status"]) == ("dispatcher", "accepted")
    number = ticket["number"]
    service.staff("disp-wang", "operator")

    page = signed_in_page(browser, service.url, "/tickets", "disp-wang", TEST_PASSWORD)
    row = page.locator(f"#ticket-table tr[data-number='{number}']")
    row.wait_for()
    cells = [c.strip() for c in row.locator("td").all_inner_texts()]
    assert cells[0] == number and cells[2] == "欠薪" and cells[3] == "一般求助"
    assert cells[5] == "—" and cells[6] == TWO_PLACES[:60] and cells[8] == "受理"  # no district: a person decides
    assert page.get_attribute("#tabs [data-tab=queue]", "aria-selected") == "true"

    row.locator("a.ticket-link").click()
    page.wait_for_url(f"**/tickets/{number}")
    page.wait_for_selector("body[data-loaded=accepted]")
    assert page.inner_text("#transcript") == TWO_PLACES
    assert page.inner_text("#subject") == "欠薪" and page.get_attribute("#subject", "data-subject") == "wage_arrears"
    routed = page.inner_text("#routed")
    assert "碑林区" in routed and "莲湖区" in routed and "派单员" in routed
    # Both places the caller named are suggested first, in the directory's order; then every union by district.
    suggested = page.eval_on_selector_all("#union optgroup#suggested option", "os => os.map(o => o.value)")
    assert suggested == ["xa-beilin", "xa-lianhu"]
    districts = page.eval_on_selector_all("#union optgroup:not(#suggested)", "gs => gs.map(g => g.label)")
    assert districts[0] == "新城区" and "碑林区" not in districts and "长安区" in districts
    assert page.input_value("#union") == ""  # nothing chosen for the dispatcher

    page.select_option("#union", "xa-lianhu")
    page.fill("#dispatch-note", "公司注册地")
    page.click("#dispatch-form button[type=submit]")
    page.wait_for_selector("body[data-loaded=dispatched]")
    assert page.inner_text("#district") == "莲湖区" and page.inner_text("#union-id") == "莲湖区总工会"
    assert page.get_attribute("#union-id", "data-union") == "xa-lianhu"
    assert page.is_hidden("#dispatch-card")  # sent: another union only after supervision (督办)
    dispatched = service.operator.get(f"/api/tickets/{number}").json()
    assert (dispatched["status"], dispatched["union_id"], dispatched["route"]) == (
        "dispatched",
        "xa-lianhu",
        "local_union",
    )
    assert dispatched["events"][-1]["actor"] == "disp-wang" and dispatched["events"][-1]["note"].endswith("公司注册地")

    # Only the states the closed loop allows after 转办; an API refusal is read out in the status line.
    nexts = page.eval_on_selector_all("#next-state option", "os => os.map(o => o.value)")
    assert nexts == ["supervised", "replied"]
    page.fill("#extension-reason", "x")
    page.click("#extension-form button[type=submit]")
    page.wait_for_selector("#status.error")
    assert "原因太短：至少 2 个字" in page.inner_text("#status"), page.inner_text("#status")
    page.fill("#merge-into", "12351-20000101-9999")
    page.click("#merge-form button[type=submit]")
    page.wait_for_selector("#status.error:has-text('没有工单 12351-20000101-9999')")

    page.select_option("#next-state", "replied")
    assert page.is_hidden("#recovered-label")  # the amount recovered is asked for when archiving only
    page.fill("#transition-note", "已协调公司补发工资")
    page.click("#transition-form button[type=submit]")
    page.wait_for_selector("body[data-loaded=replied]")
    entry = page.locator("#history tr", has_text="已协调公司补发工资")
    assert [c.strip() for c in entry.locator("td").all_inner_texts()][1:] == [
        "disp-wang",
        "回复",
        "转办 → 回复：已协调公司补发工资",
    ]
    assert page.is_hidden("#extension-card")  # replied: no deadline left to extend
    snapshot(page, "ticket")

    # Back on the list, the queue no longer holds it; the "all" tab finds it by the caller's words.
    page.goto("/tickets")
    page.wait_for_selector("body[data-refreshed]")
    assert page.locator(f"#ticket-table tr[data-number='{number}']").count() == 0
    page.click("#tabs [data-tab=all]")
    page.fill("#q", "注册在莲湖区")
    page.click("#filter button[type=submit]")
    page.wait_for_selector(f"#ticket-table tr[data-number='{number}']")
    snapshot(page, "tickets")
    no_script_errors(page)
    page.context.close()


def test_an_inspector_is_refused_and_signed_out_goes_to_sign_in(setup, browser):
    service = setup.service
    service.staff("insp-sun", "inspector")
    page = signed_in_page(browser, service.url, "/qa", "insp-sun", TEST_PASSWORD)
    for path in ("/tickets", "/tickets/12351-20261101-0001"):
        assert page.goto(path).status == 403, path
        assert "无权访问" in page.inner_text("h1")
    assert page.locator("header nav a[href='/tickets']").count() == 0  # not in an inspector's menu
    page.context.close()

    service.staff("sup-zhou", "supervisor")
    supervisor = signed_in_page(browser, service.url, "/tickets", "sup-zhou", TEST_PASSWORD)  # supervisors may
    supervisor.wait_for_selector("body[data-refreshed]")
    assert supervisor.locator("header nav a[href='/tickets']").count() == 1
    no_script_errors(supervisor)
    supervisor.context.close()
    signed_out = browser.new_context(base_url=service.url)
    anonymous = signed_out.new_page()
    anonymous.goto("/tickets")
    assert anonymous.url.endswith("/login?next=%2Ftickets")
    signed_out.close()


def _known(now: datetime, prefix: str) -> list[Ticket]:
    """Open and closed tickets around their deadlines; the SLA file reminds assist 8 h, complex 16 h,
    consult 2 h and urgent 4 h before the reply deadline."""
    return [
        Ticket(
            number=f"{prefix}01", handling_class="assist", status="dispatched", reply_due_at=now + timedelta(hours=3)
        ),
        Ticket(
            number=f"{prefix}02", handling_class="complex", status="supervised", reply_due_at=now + timedelta(hours=10)
        ),
        Ticket(
            number=f"{prefix}03", handling_class="consult", status="accepted", reply_due_at=now + timedelta(hours=3)
        ),
        Ticket(
            number=f"{prefix}04", handling_class="urgent", status="dispatched", reply_due_at=now - timedelta(hours=1)
        ),
        Ticket(number=f"{prefix}05", handling_class="assist", status="replied", reply_due_at=now - timedelta(hours=5)),
        Ticket(
            number=f"{prefix}06", handling_class="assist", status="accepted", reply_due_at=now + timedelta(hours=30)
        ),
        Ticket(
            number=f"{prefix}07",
            handling_class="assist",
            status="accepted",
            reply_due_at=None,
            summary="草原围栏修缮项目欠我们工资100%没发",
        ),
    ]


def test_deadline_filter_matches_the_reminder_rule(migrated):
    """临期 / 超期 as SQL, on SQLite and PostgreSQL, with the clock given: 01 and 02 near, 04 overdue."""
    now = datetime(2026, 11, 25, 2, 0, tzinfo=UTC)
    with transaction(migrated) as session:
        session.add_all(_known(now, "12351-20261125-00"))
    sla = load_sla()
    with migrated() as session:

        def numbers(deadline: str) -> list[str]:
            query = select(Ticket.number).where(deadline_condition(deadline, sla, now)).order_by(Ticket.reply_due_at)
            return [n[-2:] for n in session.scalars(query)]

        assert numbers("near") == ["01", "02"]
        assert numbers("overdue") == ["04"]
        # A minute after 01's deadline it is overdue, and no longer near.
        later = now + timedelta(hours=3, minutes=1)
        assert "01" in [
            n[-2:] for n in session.scalars(select(Ticket.number).where(deadline_condition("overdue", sla, later)))
        ]


def test_ticket_list_filters_count_and_dispatch_options_over_http(setup):
    service = setup.service
    prefix = "12351-20261101-08"
    setup.add_tickets(
        [
            *_known(utcnow(), prefix),
            Ticket(number=f"{prefix}08", status="accepted", summary=TWO_PLACES, entities={"district": "碑林区"}),
            Ticket(number=f"{prefix}09", status="archived", summary="我在雁塔区小寨打工"),
        ]
    )
    operator = service.staff("disp-li", "operator")

    def listed(**params) -> tuple[list[str], int]:
        response = operator.get("/api/tickets", params={"limit": 500, **params})
        assert response.status_code == 200, response.text
        return (
            [t["number"][-2:] for t in response.json() if t["number"].startswith(prefix)],
            int(response.headers["X-Total-Count"]),
        )

    near, _ = listed(deadline="near")
    assert near == ["01", "02"]  # soonest deadline first
    overdue, _ = listed(deadline="overdue")
    assert overdue == ["04"]
    found, total = listed(q="草原围栏")
    assert found == ["07"] and total == 1
    assert listed(q="100%") == (["07"], 1)  # % is a character here, not a wildcard
    assert listed(q="%")[1] == 1
    assert listed(q=f"{prefix}0")[0] == ["09", "08", "07", "06", "05", "04", "03", "02", "01"]  # newest first
    page = operator.get("/api/tickets", params={"status": "accepted", "limit": 1})
    assert len(page.json()) == 1 and int(page.headers["X-Total-Count"]) >= 4  # 03, 06, 07, 08 at least
    bad = operator.get("/api/tickets", params={"deadline": "soon"})
    assert bad.status_code == 422 and "near" in bad.text and "overdue" in bad.text

    options = operator.get(f"/api/tickets/{prefix}08/options").json()
    assert options["named_unions"] == ["xa-beilin", "xa-lianhu"] and options["named_places"] == ["碑林区", "莲湖区"]
    assert [s["state"] for s in options["next_states"]] == ["dispatched", "supervised", "replied"]
    assert options["can_dispatch"] is True and options["can_extend"] is False  # no deadline on this row
    replied = operator.get(f"/api/tickets/{prefix}05/options").json()
    assert [s["state"] for s in replied["next_states"]] == ["supervised", "callback", "archived"]
    assert replied["can_dispatch"] is False
    archived = operator.get(f"/api/tickets/{prefix}09/options").json()
    assert (archived["next_states"], archived["named_unions"]) == ([], ["xa-yanta"])
    assert operator.get("/api/tickets/12351-20000101-9999/options").status_code == 404
