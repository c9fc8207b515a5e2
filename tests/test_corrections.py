"""People and the classifier: urgent alerts that sound until someone takes them, tickets the machine doubted,
corrections by dispatchers, retraining from the corrected tickets, and the report of how often people corrected it.

The consoles are driven in a real headless Chromium against the real service; the urgent ticket comes from a real
call through the Twilio emulator (only the caller's words are scripted, `speech.scripted`). Known rows (a ticket
the machine doubted, tickets of past weeks) are written straight into the service's database.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import sys
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from emulator import CallerScript, DialBehaviour, TwilioEmulator
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from hotline.migrate import upgrade
from routing.classify import classify, default_taxonomy, load_model
from routing.corrections import confirm_ticket, correct_ticket, mark_for_review
from routing.retrain import TicketExample, hold_back
from routing.tables import Alert, Ticket, TicketCorrection
from routing.tickets import WordsFrom
from tests.browser import browser_fixture, no_script_errors, signed_in_page, snapshot  # noqa: F401 - the fixture
from tests.conftest import ZH_SPEECH, korean_model_path
from tests.rosters import round_the_clock_roster
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env
from tests.scripted_clips import script_clip

pytestmark = [pytest.mark.shared_data, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

TZ = ZoneInfo("Asia/Shanghai")
URGENT = "我们十三个木工在长安区一个工地干了一年包工头欠我们六十多万工资一直不给"
VAGUE = "那个我就是想问一下我们那边的事情怎么弄"


class Setup:
    def __init__(self, twilio: TwilioEmulator, service: RunningService) -> None:
        self.twilio, self.service = twilio, service
        self.script = service.var_dir / "scripted.tsv"
        self.script.write_text("", encoding="utf-8")
        self.clips = sorted(ZH_SPEECH.glob("*.wav"))

    def says(self, text: str) -> Path:
        """A clip the scripted recognizer hears as `text`, as the phone line delivers it."""
        return script_clip(self.script, self.clips.pop(0), text)

    def call(self, keys: list[str], say: Path):
        return self.twilio.place_call(
            f"{self.service.url}/twilio/voice",
            caller=CallerScript(keys=keys, say=say),
            from_=f"+86137{secrets.randbelow(10**8):08d}",
            status_callback=f"{self.service.url}/twilio/status",
            dial=DialBehaviour(answer=True, talk_seconds=5),
        )

    def add(self, *rows) -> None:
        """Known rows written straight into the service's database (a SQLite file under its var dir)."""
        engine = make_engine(f"sqlite:///{self.service.var_dir / 'hotline.db'}")
        with transaction(make_session_factory(engine)) as session:
            session.add_all(rows)
        engine.dispose()


@pytest.fixture(scope="module")
def setup(tmp_path_factory, account):
    var = tmp_path_factory.mktemp("corrections")
    (var / "roster.yaml").write_text(round_the_clock_roster(max_wait_s=300), encoding="utf-8")
    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as twilio:
        service = RunningService(
            var,
            {
                **emulator_env(twilio),
                "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
                "HOTLINE_ROSTER_FILE": str(var / "roster.yaml"),
                "HOTLINE_TEST_TRANSCRIPTS_FILE": str(var / "scripted.tsv"),
                "HOTLINE_JOB_POLL_SECONDS": "0.1",
                "HOTLINE_SLA_SCAN_SECONDS": "3600",
                "HOTLINE_QA_SCAN_SECONDS": "3600",
            },
        )
        made = Setup(twilio, service)
        with service:
            yield made


def test_an_urgent_alert_sounds_until_acknowledged_and_everyone_sees_who_took_it(setup, browser):
    service = setup.service
    service.staff("sup-zhang", "supervisor")
    service.staff("op-chen", "operator")
    dashboard = signed_in_page(browser, service.url, "/dashboard", "sup-zhang", TEST_PASSWORD)
    tickets = signed_in_page(browser, service.url, "/tickets", "op-chen", TEST_PASSWORD)

    # A new urgent call while both are watching: thirteen workers, six hundred thousand yuan (众, 大).
    report = setup.call(["2"], setup.says(URGENT))
    ticket = service.ticket_of(report.call_sid)
    assert ticket["handling_class"] == "urgent" and {"mass", "large"} <= set(ticket["urgency_flags"])
    number = ticket["number"]

    open_alert = f"#alert-list li.alert.open[data-ticket='{number}']"
    for page in (dashboard, tickets):
        page.wait_for_selector(open_alert)  # polled: no reload
        shown = page.inner_text(open_alert)
        assert "紧急工单" in shown and number in shown and "众" in shown and "大" in shown
        assert page.get_attribute("#alerts-card", "class").split().count("sounding") == 1
        assert page.get_attribute("body", "data-alert-sounding") == "yes"
        page.wait_for_selector("body[data-alert-beeps]", state="attached")  # the Web Audio tone played
    # Still there, still sounding, after further rounds of polling: it waits for a person.
    refreshed = dashboard.get_attribute("body", "data-alerts-refreshed")
    dashboard.wait_for_selector(f"body:not([data-alerts-refreshed={json.dumps(refreshed)}])", state="attached")
    assert dashboard.locator(open_alert).count() == 1
    snapshot(dashboard, "dashboard-alert")

    dashboard.click(f"{open_alert} button.acknowledge")
    taken = f"#alert-list li.alert.acknowledged[data-ticket='{number}']"
    dashboard.wait_for_selector(taken)
    tickets.wait_for_selector(taken)  # the operator's page sees it taken, and by whom
    assert "已由 sup-zhang" in tickets.inner_text(taken) and "确认" in tickets.inner_text(taken)
    assert tickets.locator(open_alert).count() == 0 and dashboard.locator(open_alert).count() == 0
    snapshot(tickets, "tickets-alert-acknowledged")
    for page in (dashboard, tickets):
        no_script_errors(page)
        page.context.close()

    # Recorded: the alert row (who, when), the ticket's history and the audit log.
    supervisor = service.staff("sup-zhang", "supervisor")
    alerts = supervisor.get("/api/alerts", params={"unacknowledged": "false", "kind": "urgent"}).json()
    alert = next(a for a in alerts if a["ticket_number"] == number)
    assert alert["acknowledged_by"] == "sup-zhang" and alert["acknowledged_at"] and not alert["sounding"]
    assert alert["kind_label"] == "紧急工单"
    assert not any(a["id"] == alert["id"] for a in supervisor.get("/api/alerts").json())  # no longer open
    history = service.operator.get(f"/api/tickets/{number}").json()["events"]
    assert any(e["kind"] == "alert_acknowledged" and e["actor"] == "sup-zhang" for e in history)
    audit = supervisor.get("/api/audit", params={"action": "acknowledge_alert"}).json()
    assert any(e["actor"] == "sup-zhang" and e["target"] == str(alert["id"]) for e in audit)
    # Acknowledged twice (another console a moment later): the first person's acknowledgement stands.
    again = service.staff("op-chen", "operator").post(f"/api/alerts/{alert['id']}/acknowledge")
    assert again.status_code == 200 and again.json()["acknowledged_now"] is False
    assert again.json()["acknowledged_by"] == "sup-zhang"


def test_alerts_api_roles_and_csrf(setup):
    service = setup.service
    assert service.staff("insp-alert", "inspector").get("/api/alerts").status_code == 403
    assert service.staff("lawyer-alert", "lawyer", roster_id="L01").get("/api/alerts").status_code == 403
    operator = service.staff("op-alert", "operator")
    assert operator.get("/api/alerts").status_code == 200
    without_csrf = operator.post("/api/alerts/1/acknowledge", headers={"X-CSRF-Token": ""})
    assert without_csrf.status_code == 403
    missing = operator.post("/api/alerts/999999/acknowledge")
    assert missing.status_code == 404 and missing.json()["code"] == "no_alert"
    assert "没有编号为 999999 的提醒" in missing.json()["detail"]
    assert operator.get("/api/alerts", params={"acknowledged_within_minutes": -1}).status_code == 422


def _doubted(number: str) -> Ticket:
    """A ticket the classifier was unsure of (41 % on its subject), waiting for a dispatcher."""
    ticket = Ticket(
        number=number,
        status="accepted",
        route="dispatcher",
        subject="other",
        kind="consult",
        handling_class="consult",
        summary="老板说厂里效益不好这几个月的钱先欠着年底一起给我想问问怎么办",
        evidence={
            "subject": {"value": "other", "words": [], "source": "model", "confidence": 0.41},
            "kind": {"value": "consult", "words": [], "source": "model", "confidence": 0.55},
        },
    )
    mark_for_review(ticket, ["subject_unsure", "kind_unsure"])
    return ticket


def test_a_doubted_ticket_is_marked_with_why_and_the_operator_corrects_it(setup, browser):
    service = setup.service
    number = f"12351-{datetime.now(TZ):%Y%m%d}-9{secrets.randbelow(1000):03d}"
    setup.add(_doubted(number))
    service.staff("op-wu", "operator")
    page = signed_in_page(browser, service.url, "/tickets", "op-wu", TEST_PASSWORD)

    # In the dispatcher queue, and in its own tab, with the reasons in words and how sure the machine was.
    row = page.locator(f"#ticket-table tr[data-number='{number}']")
    row.wait_for()
    assert "review" in row.get_attribute("class")
    assert row.locator("td.review").inner_text() == "事项把握不大、咨询还是求助把握不大（把握 41%）"
    page.click("#tabs [data-tab=review]")
    page.wait_for_selector(f"#ticket-table tr[data-number='{number}']")
    assert all(r.get_attribute("class") == "review" for r in page.locator("#ticket-table tbody tr").all())

    page.locator(f"#ticket-table tr[data-number='{number}'] a.ticket-link").click()
    page.wait_for_url(f"**/tickets/{number}")
    page.wait_for_selector("body[data-loaded=accepted]")
    assert page.is_visible("#review-card")
    assert "事项把握不大" in page.inner_text("#review-reasons") and "事项把握 41%" in page.inner_text("#review-reasons")
    assert page.input_value("#correct-subject") == "other" and page.input_value("#correct-kind") == "consult"
    options = page.eval_on_selector_all("#correct-subject option", "os => os.map(o => o.textContent)")
    assert "欠薪" in options and "其他" in options
    flags = page.eval_on_selector_all("#correct-flags label", "ls => ls.map(l => l.textContent.trim())")
    assert flags == ["危", "众", "多", "大", "隐"]

    # The caller is owed wages and asks for help; the dispatcher also marks it 众 (many workers).
    page.select_option("#correct-subject", "wage_arrears")
    page.select_option("#correct-kind", "help")
    page.check("#correct-flags input[value=mass]")
    page.fill("#correction-note", "来电人说全车间都没发")
    page.click("#correction-form button[type=submit]")
    page.wait_for_selector("#status:has-text('已更正')")
    assert page.inner_text("#subject") == "欠薪"
    assert page.is_hidden("#review-card")  # a person looked: no longer marked
    corrections = [
        [c.strip() for c in r.locator("td").all_inner_texts()][1:] for r in page.locator("#corrections tbody tr").all()
    ]
    assert corrections == [
        ["op-wu", "事项", "其他", "欠薪"],
        ["op-wu", "性质", "咨询", "求助"],
        ["op-wu", "紧急标记", "无", "众"],
    ]
    entry = page.locator("#history tr", has_text="来电人说全车间都没发")
    assert [c.strip() for c in entry.locator("td").all_inner_texts()][1:3] == ["op-wu", "人工更正"]
    assert "事项：其他 → 欠薪" in entry.inner_text()
    no_script_errors(page)
    snapshot(page, "ticket-corrected")
    page.context.close()

    ticket = service.operator.get(f"/api/tickets/{number}").json()
    assert (ticket["subject"], ticket["kind"], ticket["urgency_flags"]) == ("wage_arrears", "help", ["mass"])
    assert ticket["handling_class"] == "urgent" and ticket["needs_review"] is False and ticket["review_reasons"] == []
    assert [(c["field"], c["old"], c["new"], c["actor"]) for c in ticket["corrections"]] == [
        ("subject", "other", "wage_arrears", "op-wu"),
        ("kind", "consult", "help", "op-wu"),
        ("urgency_flags", [], ["mass"], "op-wu"),
    ]
    supervisor = service.staff("sup-zhang", "supervisor")
    audit = supervisor.get("/api/audit", params={"action": "correct_ticket", "target": number}).json()
    assert [e["actor"] for e in audit] == ["op-wu"] and len(audit[0]["detail"]["changes"]) == 3
    # Marked urgent by a person: supervisors are alerted at once.
    alerts = supervisor.get("/api/alerts", params={"kind": "urgent"}).json()
    assert any(a["ticket_number"] == number and a["sounding"] for a in alerts)


def test_correcting_over_the_api_checks_values_roles_and_confirms(setup):
    service = setup.service
    number = f"12351-{datetime.now(TZ):%Y%m%d}-8{secrets.randbelow(1000):03d}"
    setup.add(_doubted(number))
    operator = service.staff("op-api", "operator")
    path = f"/api/tickets/{number}"

    bad = operator.post(f"{path}/corrections", json={"subject": "parking"})
    assert bad.status_code == 422 and "没有这个事项：parking" in bad.json()["detail"]
    assert operator.post(f"{path}/corrections", json={"kind": "complaint"}).status_code == 422
    flag = operator.post(f"{path}/corrections", json={"urgency_flags": ["fire"]})
    assert "没有这个紧急标记：fire" in flag.json()["detail"]
    same = operator.post(f"{path}/corrections", json={"subject": "other"})
    assert same.status_code == 422 and "没有要更正的" in same.json()["detail"]
    for role in ("inspector", "lawyer"):
        who = service.staff(f"{role}-corr", role, roster_id="L02" if role == "lawyer" else None)
        assert who.post(f"{path}/corrections", json={"subject": "severance"}).status_code == 403
    assert (
        operator.post(
            f"{path}/corrections", json={"subject": "severance"}, headers={"X-CSRF-Token": "wrong"}
        ).status_code
        == 403
    )
    assert operator.post("/api/tickets/12351-20000101-9999/corrections", json={"kind": "help"}).status_code == 404

    # The machine was right after all: a person confirms, and the mark is cleared (once).
    confirmed = operator.post(f"{path}/review-confirmation", json={"note": "核对录音无误"})
    assert confirmed.status_code == 200 and confirmed.json()["needs_review"] is False
    assert confirmed.json()["events"][-1]["kind"] == "review_confirmed"
    assert confirmed.json()["events"][-1]["actor"] == "op-api"
    assert operator.post(f"{path}/review-confirmation", json={}).status_code == 409
    listed = operator.get("/api/tickets", params={"needs_review": "true", "limit": 500}).json()
    assert number not in [t["number"] for t in listed]
    # Supervisors may correct too (the README's role table).
    fixed = service.staff("sup-zhang", "supervisor").post(f"{path}/corrections", json={"subject": "severance"})
    assert fixed.status_code == 200 and fixed.json()["subject"] == "severance"


def test_the_dashboard_charts_corrections_per_subject_and_week(setup, browser):
    service = setup.service
    number = f"12351-{datetime.now(TZ):%Y%m%d}-7{secrets.randbelow(1000):03d}"
    setup.add(_doubted(number))
    service.staff("op-li", "operator").post(f"/api/tickets/{number}/corrections", json={"subject": "hardship"})
    supervisor = service.staff("sup-chart", "supervisor")
    page = signed_in_page(browser, service.url, "/dashboard", "sup-chart", TEST_PASSWORD)
    page.wait_for_selector("#chart-corrections .main-svg")
    page.wait_for_selector("#corrections-table table")
    rows = [
        [c.strip() for c in r.locator("td").all_inner_texts()]
        for r in page.locator("#corrections-table tbody tr").all()
    ]
    this_week = (datetime.now(TZ).date() - timedelta(days=datetime.now(TZ).weekday())).isoformat()
    assert any(r[0] == this_week and r[1] == "其他" and int(r[3]) >= 1 for r in rows), rows
    no_script_errors(page)
    page.context.close()
    report = supervisor.get("/api/reports/corrections", params={"weeks": 2}).json()
    assert [w["first_day"] for w in report["weeks"]][-1] == this_week
    assert service.operator.get("/api/reports/corrections").status_code == 403


# --- learning from corrected tickets, and the report: `hotline` commands on a database of known tickets ---------

RECUPERATION = [
    f"{who}，{ask}"
    for who in (
        "我是一名环卫工",
        "我在纺织厂上班",
        "我是公交司机",
        "我在医院做护工",
        "我是建筑公司的电工",
        "我在超市当收银员",
    )
    for ask in (
        "今年单位组织的职工疗休养名额怎么分配",
        "想问一下疗休养是不是每年都有",
        "疗休养期间算不算出勤",
        "听说工会有疗休养活动我能报名吗",
        "疗休养的费用是谁出的",
    )
]


def _hotline(var: Path, database_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "HOTLINE_VAR_DIR": str(var), "HOTLINE_DATABASE_URL": database_url, "COLUMNS": "160"}
    return subprocess.run(
        [sys.executable, "-m", "cli", *args], capture_output=True, text=True, env=env, cwd=var, timeout=600
    )


def _checked_tickets(factory, labels: dict[str, str]) -> None:
    """Tickets as the machine classed them, then corrected (or, where a person agreed, confirmed) to `labels`."""
    taxonomy, model, now = default_taxonomy(), load_model(), utcnow()
    with transaction(factory) as session:
        for i, text in enumerate(RECUPERATION):
            machine = classify("policy", text, taxonomy, model)
            ticket = Ticket(
                number=f"12351-20261201-{i:04d}",
                menu_choice="policy",
                summary=text,
                subject=machine.subject,
                kind=machine.kind,
                handling_class="consult",
            )
            session.add(ticket)
            session.flush()
            if labels[ticket.number] == machine.subject:
                mark_for_review(ticket, ["subject_unsure"])
                confirm_ticket(session, ticket, actor="op-test")
            else:
                correct_ticket(
                    session,
                    ticket,
                    actor="op-test",
                    taxonomy=taxonomy,
                    now=now,
                    subject=labels[ticket.number],
                    kind="consult",
                )


def _split() -> tuple[set[str], set[str]]:
    """The ticket numbers learned from and held back, as `hotline classifier train --from-tickets` splits them."""
    examples = [
        TicketExample(f"12351-20261201-{i:04d}", t, "policy", "x", "consult") for i, t in enumerate(RECUPERATION)
    ]
    learn, judge = hold_back(examples)
    return {t.number for t in learn}, {t.number for t in judge}


# Training takes about a minute, so each of the two training tests runs on one database (the tickets are read by
# the same query on both): PostgreSQL, what a hotline runs, and SQLite, the embedded default.


def test_training_from_corrected_tickets_replaces_the_model_only_when_better(fresh_postgres_url, tmp_path):
    """This hotline files questions about 疗休养 (recuperation trips) under 困难帮扶: its hardship desk runs them.
    The shipped model does not know that; after learning from the dispatchers' corrections the new one does."""
    database_url = fresh_postgres_url
    upgrade(engine := make_engine(database_url))
    factory = make_session_factory(engine)
    learn, judge = _split()
    _checked_tickets(factory, dict.fromkeys(learn | judge, "hardship"))
    engine.dispose()

    done = _hotline(tmp_path, database_url, "classifier", "train", "--from-tickets")
    assert done.returncode == 0, done.stdout + done.stderr
    out = done.stdout
    assert f"on {len(judge)} held-back tickets" in out and "subject accuracy" in out
    current = next(line for line in out.splitlines() if "current (shipped)" in line).split("│")
    new = next(line for line in out.splitlines() if "│ new" in line).split("│")
    assert float(new[3]) > float(current[3])  # subject accuracy on the held-back tickets
    flat = " ".join(out.split())  # rich wraps long lines
    assert "new model written to" in flat and "Restart the service (hotline serve) to use it" in flat
    written = tmp_path / "classifier.json.gz"
    assert written.exists()
    # What `hotline serve` loads when it starts (api.services → load_routing_data): the new model.
    from routing.config import load_routing_data

    started = load_routing_data(
        roster=None,
        unions=None,
        sla=None,
        knowledge=None,
        timezone="Asia/Shanghai",
        case_window_days=30,
        var_dir=tmp_path,
    )
    held_back_text = RECUPERATION[int(min(judge)[-4:])]
    assert classify("policy", held_back_text, default_taxonomy(), started.classifier).subject == "hardship"


def test_training_from_tickets_keeps_the_model_when_the_new_one_is_not_better(tmp_path):
    """The held-back tickets are ones the machine got right (confirmed); the rest were corrected to another
    subject: the new model can only do worse on the held-back part, so nothing is written."""
    database_url = f"sqlite:///{tmp_path / 'hotline.db'}"
    upgrade(engine := make_engine(database_url))
    factory = make_session_factory(engine)
    learn, judge = _split()
    taxonomy, model = default_taxonomy(), load_model()
    labels = dict.fromkeys(learn, "hardship")
    labels.update({n: classify("policy", RECUPERATION[int(n[-4:])], taxonomy, model).subject for n in judge})
    _checked_tickets(factory, labels)
    engine.dispose()

    done = _hotline(tmp_path, database_url, "classifier", "train", "--from-tickets")
    assert done.returncode == 0, done.stdout + done.stderr
    flat = " ".join(done.stdout.split())  # rich wraps long lines
    assert "kept the current model" in flat and "nothing written" in flat
    current = next(line for line in done.stdout.splitlines() if "current (shipped)" in line).split("│")
    assert float(current[3]) == 1.0
    assert not (tmp_path / "classifier.json.gz").exists()

    too_few = _hotline(tmp_path, database_url, "classifier", "train", "--from-tickets", "--min-held-back", "50")
    assert too_few.returncode == 1 and "too few checked tickets" in " ".join(too_few.stdout.split())


def _at_local(day, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), TZ).astimezone(UTC)


def test_corrections_report_counts_per_subject_and_local_week(database_url, tmp_path):
    upgrade(engine := make_engine(database_url))
    factory = make_session_factory(engine)
    taxonomy = default_taxonomy()
    today = datetime.now(TZ).date()
    monday = today - timedelta(days=today.weekday())
    this_week, last_week = _at_local(monday, 0, 30), _at_local(monday - timedelta(days=1), 23, 30)
    with transaction(factory) as session:
        rows = [
            ("0001", this_week, "wage_arrears"),
            ("0002", this_week, "wage_arrears"),
            ("0003", this_week, "wage_arrears"),
            ("0004", this_week, "safety"),
            ("0005", last_week, "wage_arrears"),
            ("0006", last_week, "other"),
            ("0007", last_week - timedelta(weeks=5), "other"),
        ]  # outside --weeks 2
        tickets = {}
        for serial, created, subject in rows:
            tickets[serial] = Ticket(
                number=f"12351-20261101-{serial}", created_at=created, subject=subject, kind="help"
            )
            session.add(tickets[serial])
        session.flush()
        now = utcnow()
        correct_ticket(session, tickets["0001"], actor="op", taxonomy=taxonomy, now=now, subject="severance")
        correct_ticket(session, tickets["0001"], actor="op", taxonomy=taxonomy, now=now, kind="consult")
        correct_ticket(session, tickets["0005"], actor="op", taxonomy=taxonomy, now=now, kind="consult")
        correct_ticket(session, tickets["0006"], actor="op", taxonomy=taxonomy, now=now, urgency_flags=["danger"])
        correct_ticket(session, tickets["0007"], actor="op", taxonomy=taxonomy, now=now, subject="safety")
    engine.dispose()

    done = _hotline(tmp_path, database_url, "report", "corrections", "--weeks", "2", "--format", "json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    got = {
        (r["first_day"], r["subject"]): (
            r["tickets"],
            r["corrected"],
            r["subject_corrected"],
            r["kind_corrected"],
            r["urgency_flags_corrected"],
        )
        for r in report["rows"]
    }
    week, before = monday.isoformat(), (monday - timedelta(weeks=1)).isoformat()
    # 00:30 on Monday local time is still Sunday in UTC: it counts in this (local) week.
    assert got == {
        (week, "wage_arrears"): (3, 1, 1, 1, 0),
        (week, "safety"): (1, 0, 0, 0, 0),
        (before, "wage_arrears"): (1, 1, 0, 1, 0),
        (before, "other"): (1, 1, 0, 0, 1),
    }
    assert [(w["first_day"], w["tickets"], w["corrected"]) for w in report["weeks"]] == [(before, 2, 2), (week, 4, 1)]
    assert {r["subject"]: r["subject_label"] for r in report["rows"]}["wage_arrears"] == "欠薪"

    csv_out = _hotline(tmp_path, database_url, "report", "corrections", "--weeks", "2", "--format", "csv").stdout
    assert csv_out.splitlines()[0].startswith("week,first_day,last_day,subject,subject_label,tickets,corrected")
    assert len(csv_out.splitlines()) == 5
    table = _hotline(tmp_path, database_url, "report", "corrections", "--weeks", "2").stdout
    assert "欠薪" in table and "合计" in table and "33.3%" in table
    bad = _hotline(tmp_path, database_url, "report", "corrections", "--format", "html")
    assert bad.returncode == 2 and "json, csv, table" in bad.stderr


def test_doubts_mark_the_ticket_when_the_classification_lands_and_a_person_s_correction_stands(migrated):
    """apply_decision writes the classifier's doubts on the ticket; a later machine reading (the archive
    transcript) neither overwrites a person's correction nor marks it again."""
    from routing.config import load_routing_data
    from routing.decide import RouteDecision, apply_decision
    from routing.service import _Understood, route_ticket

    data = load_routing_data(
        roster=None, unions=None, sla=None, knowledge=None, timezone="Asia/Shanghai", case_window_days=30
    )
    now = utcnow()
    with transaction(migrated) as session:
        ticket = Ticket(number="12351-20261201-0100", summary=VAGUE, created_at=now)
        session.add(ticket)
        session.flush()
        unsure = _Understood(subject="other", kind="consult", handling_class="consult", doubts=("subject_unsure",))
        apply_decision(session, ticket, unsure, RouteDecision("dispatcher", ["test"]), data, now)
        assert (ticket.needs_review, ticket.review_reasons) == (True, ["subject_unsure"])
        correct_ticket(session, ticket, actor="op", taxonomy=default_taxonomy(), now=now, subject="wage_arrears")
        session.flush()
        session.refresh(ticket)
        route_ticket(
            session, ticket, VAGUE, data, now, WordsFrom.RECORDING
        )  # routed already: refines, keeps the person's subject
        assert ticket.subject == "wage_arrears" and ticket.needs_review is False
    with migrated() as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == "12351-20261201-0100"))
        assert stored.subject == "wage_arrears" and stored.needs_review is False
        rows = session.scalars(select(TicketCorrection).where(TicketCorrection.ticket_id == stored.id)).all()
        assert [(c.field, c.old_value, c.new_value, c.actor) for c in rows] == [
            ("subject", "other", "wage_arrears", "op")
        ]
        assert session.scalar(select(Alert).where(Alert.ticket_id == stored.id)) is None


def test_an_alert_is_acknowledged_once_with_who_and_when(migrated):
    """On SQLite and PostgreSQL: the first acknowledgement is written (alert row and ticket history); a second
    one changes nothing."""
    from routing.alerts import AlertError, acknowledge, recent_alerts

    now = utcnow()
    with transaction(migrated) as session:
        ticket = Ticket(number="12351-20261201-0200", summary="工地有人从楼上摔下来了", urgency_flags=["danger"])
        session.add(ticket)
        session.flush()
        alert = Alert(kind="urgent", ticket_id=ticket.id, message="urgent", at=now)
        session.add(alert)
    with transaction(migrated) as session:
        assert [a.id for a in recent_alerts(session, kinds=["urgent"], now=now)] == [alert.id]
        taken, first = acknowledge(session, alert.id, actor="sup-a", now=now)
        assert first and (taken.acknowledged_by, taken.acknowledged_at) == ("sup-a", now)
    with transaction(migrated) as session:
        taken, first = acknowledge(session, alert.id, actor="op-b", now=now + timedelta(seconds=5))
        assert not first and taken.acknowledged_by == "sup-a"
        assert recent_alerts(session, kinds=["urgent"], now=now) == []
        assert [a.id for a in recent_alerts(session, now=now, acknowledged_within=timedelta(minutes=60))] == [alert.id]
        with pytest.raises(AlertError):
            acknowledge(session, 999999, actor="sup-a", now=now)
    with migrated() as session:
        stored = session.scalar(select(Ticket).where(Ticket.number == "12351-20261201-0200"))
        assert [(e.kind, e.actor) for e in stored.events] == [("alert_acknowledged", "sup-a")]


def test_every_doubt_the_classifier_can_have_has_words_for_the_dispatcher():
    from routing import classify as classifier
    from routing.corrections import DOUBT_LABELS

    codes = getattr(classifier, "DOUBTS", ())
    assert codes, "routing.classify.DOUBTS lists the doubt codes"
    assert [c for c in codes if c not in DOUBT_LABELS] == []


def test_a_vague_caller_s_ticket_is_marked_for_a_person_with_the_reason(setup):
    service = setup.service
    report = setup.call(["2"], setup.says(VAGUE))
    ticket = service.wait_for_ticket(report.call_sid)
    assert ticket["needs_review"] is True and "subject_unsure" in ticket["review_reasons"]
    assert "事项把握不大" in ticket["review_reason_labels"]
    assert 0 < ticket["confidence"]["subject"] < 0.9  # how sure it was, shown beside the reason
    listed = service.operator.get("/api/tickets", params={"needs_review": "true", "limit": 500}).json()
    assert ticket["number"] in [t["number"] for t in listed]
    assert any(e["kind"] == "classified" for e in ticket["events"])
