"""The staff consoles in a real headless Chromium, against the real service and the Twilio emulator.

Calls are real (webhooks, recordings, the Korean Vosk model transcribing the whole-call recording with word
times); only the caller's problem statement is scripted (`speech.scripted`), the Mandarin model being unobtainable.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from emulator import CallerGivesUp, CallerScript, DialBehaviour, TwilioEmulator
from hotline.db import make_engine, make_session_factory, transaction, utcnow
from recordings.rubrics import load_rubric
from recordings.tables import Call
from reports.labels import district_label, subject_label
from routing.classify import default_taxonomy
from routing.tables import QueueEntry, Ticket
from tests.browser import (  # noqa: F401 - the fixture
    assert_chinese_renders,
    browser_fixture,
    no_script_errors,
    signed_in_page,
    snapshot,
    wait_until,
)
from tests.conftest import KO_SPEECH, ZH_SPEECH, korean_model_path
from tests.rosters import round_the_clock_roster
from tests.running_service import TEST_PASSWORD, RunningService, emulator_env
from tests.scripted_clips import script_clip
from tests.waiting import poll

pytestmark = [pytest.mark.shared_data, pytest.mark.filterwarnings("ignore::DeprecationWarning")]

ROSTER = round_the_clock_roster(max_wait_s=3600)  # patient enough for a person clicking in a browser
TZ = "Asia/Shanghai"


class Setup:
    def __init__(self, twilio: TwilioEmulator, service: RunningService) -> None:
        self.twilio, self.service = twilio, service
        self.script = service.var_dir / "scripted.tsv"
        self.script.write_text("", encoding="utf-8")

    def says(self, clip, text: str):
        """The scripted recognizer hears `text` in this clip (as the phone line delivers it)."""
        return script_clip(self.script, clip, text)

    def call(self, keys: list[str], say, **options):
        return self.twilio.place_call(
            f"{self.service.url}/twilio/voice",
            caller=CallerScript(keys=keys, say=say),
            from_=options.pop("from_", f"+86137{secrets.randbelow(10**8):08d}"),
            status_callback=f"{self.service.url}/twilio/status",
            **options,
        )

    def queued_call(self, clip, from_: str, talk_s: int = 20) -> tuple[threading.Thread, dict]:
        """A legal question whose caller waits in the lawyer queue until taken, then talks `talk_s` seconds."""
        done: dict = {}
        thread = threading.Thread(
            target=lambda: done.update(
                report=self.call(
                    ["1"], clip, from_=from_, queue=CallerGivesUp(after=3600), dial=DialBehaviour(talk_seconds=talk_s)
                )
            )
        )
        thread.start()
        return thread, done

    def wait_queued(self, client: httpx.Client) -> str:
        waiting = poll(lambda: client.get("/api/queue").json()["waiting"], every_s=0.02)
        if waiting:
            return waiting[0]["call_sid"]
        raise AssertionError(f"nobody reached the queue\n{self.service.log()[-3000:]}")


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    account = ("AC" + secrets.token_hex(16), secrets.token_hex(16))
    var = tmp_path_factory.mktemp("consoles")
    (var / "roster.yaml").write_text(ROSTER, encoding="utf-8")
    with TwilioEmulator(*account, time_scale=0.02, max_steps=500) as twilio:
        service = RunningService(
            var,
            {
                **emulator_env(twilio),
                "HOTLINE_VOSK_MODEL_PATH": str(korean_model_path()),
                "HOTLINE_ROSTER_FILE": str(var / "roster.yaml"),
                "HOTLINE_TEST_TRANSCRIPTS_FILE": str(var / "scripted.tsv"),
                "HOTLINE_JOB_POLL_SECONDS": "0.1",
                "HOTLINE_QA_SCAN_SECONDS": "3600",
            },
        )
        made = Setup(twilio, service)
        with service:
            yield made


def _today() -> str:
    return datetime.now(ZoneInfo(TZ)).date().isoformat()


def _wait_for_call_recording(service: RunningService, call_sid: str, timeout_s: float = 600) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        ticket = service.ticket_of(call_sid)
        whole = [r for r in (ticket or {}).get("recordings", []) if r["source"] == "call"]
        if whole and whole[0]["status"] in ("transcribed", "failed"):
            return whole[0]
        time.sleep(0.2)
    raise AssertionError(f"the call recording of {call_sid} was not transcribed in {timeout_s} s")


def test_inspector_scores_a_sampled_call_and_the_handler_answers_the_feedback(setup, browser):
    service = setup.service
    inspector = service.staff("insp-zhao", "inspector")  # the only inspector: the sample is given to them
    lawyer = service.staff("lawyer-li", "lawyer", roster_id="L02")
    caller = f"+86137{secrets.randbelow(10**8):08d}"

    # A real call: the caller asks a legal question, waits, and the lawyer L02 takes them from the queue.
    clip = setup.says(min(KO_SPEECH.glob("*.wav")), "请问公司不给签劳动合同可以要求双倍工资吗")
    assert lawyer.post("/api/lawyers/L02/sign-in").status_code == 200
    try:
        thread, done = setup.queued_call(clip, caller, talk_s=5)  # a short call: less audio to transcribe
        call_sid = setup.wait_queued(lawyer)
        assert lawyer.post("/api/queue/take", json={}).status_code == 200
        thread.join(60)
    finally:
        lawyer.post("/api/lawyers/L02/sign-out")
    assert done["report"].dialled == ["+8613900000102"]
    recording = _wait_for_call_recording(service, call_sid)
    assert recording["status"] == "transcribed" and recording["channels"] == 2

    # The day's sample, drawn by hand as an inspector's supervisor would.
    drawn = subprocess.run(
        [sys.executable, "-m", "cli", "qa", "sample", "--date", _today(), "--json"],
        env=service.env_for_child(),
        cwd=service.var_dir,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert drawn.returncode == 0, drawn.stdout + drawn.stderr
    pick = next(p for p in json.loads(drawn.stdout) if p["call_sid"] == call_sid)
    assert (pick["handler"], pick["inspector"]) == ("L02", "insp-zhao")

    page = signed_in_page(browser, service.url, "/qa", "insp-zhao", TEST_PASSWORD)
    page.fill("#day", _today())
    page.click("#filter button[type=submit]")
    page.click(f"a.sample-link[data-call-sid='{call_sid}']")
    page.wait_for_url("**/qa/samples/*")
    sample_id = int(page.url.rsplit("/", 1)[1])

    # The whole-call recording plays in an <audio> element; its words light up as the time passes them.
    audio = page.locator("audio[data-source=call]")
    audio.wait_for()
    assert audio.get_attribute("src") == f"/api/recordings/{recording['recording_sid']}/audio"
    page.wait_for_selector(".recording[data-source=call] .channel")
    words = page.locator(".recording[data-source=call] .channel[data-channel='0'] .word")
    assert words.count() > 0, json.dumps(
        inspector.get(f"/api/qa/samples/{sample_id}").json()["recordings"], ensure_ascii=False
    )[-3000:]
    page.evaluate("document.querySelector('audio[data-source=call]').play()")
    wait_until(page, "() => document.querySelector('audio[data-source=call]').currentTime > 0.5")
    t0 = audio.evaluate("a => a.currentTime")
    wait_until(page, f"() => document.querySelector('audio[data-source=call]').currentTime > {t0 + 0.5}")
    word = words.nth(min(2, words.count() - 1))
    start = float(word.get_attribute("data-start"))
    word.click()  # seeks to the word: it is highlighted, the words before it are marked as heard
    wait_until(page, "(s) => document.querySelector('audio[data-source=call]').currentTime >= s", arg=start)
    page.wait_for_selector(".word.current")
    current = page.locator(".word.current").first
    assert float(current.get_attribute("data-start")) <= audio.evaluate("a => a.currentTime")
    if words.count() > 1 and start > float(words.nth(0).get_attribute("data-end")):
        assert "spoken" in (words.nth(0).get_attribute("class") or "")

    # Score it: two deductions, neither on a critical item; a comment pinned where the audio is now.
    rubric = load_rubric()
    points = {item_id: item.max for item_id, item in rubric.items.items()}
    points["greeting"], points["key_facts"] = points["greeting"] - 2, points["key_facts"] - 5
    for item_id, value in points.items():
        page.fill(f"#rubric input[data-item='{item_id}']", str(value))
    expected = sum(points.values())
    assert page.inner_text("#points-sum") == f"{expected:g}"
    page.evaluate("document.querySelector('audio[data-source=call]').pause()")
    pinned_at = round(audio.evaluate("a => a.currentTime"), 1)
    page.fill("#comment-text", "没有复述确认来电人的诉求")
    page.click("#add-comment")
    page.click("#score-form button[type=submit]")
    page.wait_for_selector("#score-result:has-text('已提交')")
    assert f"{expected:g} 分" in page.inner_text("#score-result")
    assert page.locator(".score .total").first.inner_text() == f"{expected:g} 分"
    stored = inspector.get(f"/api/qa/samples/{sample_id}").json()["scores"]
    assert [(s["stage"], s["total"], s["critical_failed"]) for s in stored] == [("inspection", expected, [])]
    assert stored[0]["comments"] == [{"at_s": pinned_at, "channel": 1, "text": "没有复述确认来电人的诉求"}]

    # Feedback to the lawyer who handled the call.
    page.fill("#feedback-message", "受理时请复述确认来电人的诉求")
    page.click("#feedback-form button[type=submit]")
    page.wait_for_selector(".feedback[data-status=open]")
    snapshot(page, "qa_sample_scored")  # the sampled call's page: recording, transcript, score, feedback

    handler = signed_in_page(browser, service.url, "/feedback", "lawyer-li", TEST_PASSWORD)
    item = handler.locator(".feedback", has_text="受理时请复述确认来电人的诉求")
    item.wait_for()
    assert item.get_attribute("data-status") == "open" and f"得分 {expected:g}" in item.inner_text()
    item.locator("textarea").fill("已学习受理规范，今后先复述确认诉求")
    item.locator("button[type=submit]").click()
    handler.wait_for_selector(".feedback[data-status=answered]")
    assert "已学习受理规范" in handler.locator(".feedback[data-status=answered] .rectification").inner_text()

    page.reload()
    answered = page.locator(".feedback[data-status=answered]")
    answered.wait_for()
    assert "已学习受理规范，今后先复述确认诉求" in answered.inner_text()
    # The inspection's figures per person: the lawyer's score, and one feedback of one rectified.
    page.goto(f"{service.url}/qa")
    page.fill("#day", _today())
    page.click("#filter button[type=submit]")
    person = page.locator("#people tr", has_text="L02")
    person.wait_for()
    cells = [c.strip() for c in person.locator("td").all_inner_texts()]
    assert cells == ["L02", "律师", "1", f"{expected:g}", "0", "1", "1", "100.0%"]
    snapshot(page, "qa_sample")
    snapshot(handler, "feedback")
    assert_chinese_renders(page)  # 质检抽样 in glyphs, not boxes: the machine has a CJK font
    assert_chinese_renders(handler)
    no_script_errors(page)
    no_script_errors(handler)
    page.context.close()
    handler.context.close()


def test_lawyer_goes_on_duty_and_takes_a_queued_caller(setup, browser):
    service = setup.service
    service.staff("lawyer-wang", "lawyer", roster_id="L01")  # the account (and an API client, unused here)
    page = signed_in_page(browser, service.url, "/lawyer", "lawyer-wang", TEST_PASSWORD)
    page.wait_for_selector("#duty:has-text('正在值班')")
    assert page.get_attribute("#signed-in", "data-signed-in") == "false"
    page.click("#seat-toggle")
    page.wait_for_selector("#signed-in[data-signed-in=true]")

    caller = f"+86137{secrets.randbelow(10**8):08d}"
    clip = setup.says(min(ZH_SPEECH.glob("*.wav")), "请问试用期被辞退有没有经济补偿")
    thread, done = setup.queued_call(clip, caller)
    try:
        row = page.locator("#queue tbody tr").first
        row.wait_for(timeout=20_000)  # the queue refreshes every 2 s
        call_sid = row.locator("td").nth(1).inner_text()
        assert row.locator("td").first.inner_text() == "1"
        page.click("#take")
        page.wait_for_selector(f"#status:has-text('{call_sid}')")
        page.wait_for_selector(f"#caller-number:has-text('{caller}')")  # lawyers call back: the full number
        page.wait_for_selector("#caller .classification")
    finally:
        thread.join(60)
    report = done["report"]
    assert report.call_sid == call_sid
    assert report.dialled == ["+8613900000101"] and any("王律师" in h for h in report.heard)
    ticket = service.ticket_of(call_sid)
    assert ticket["assigned_to"] == "L01" and any(e["kind"] == "lawyer_answered" for e in ticket["events"])
    # What was understood, in the taxonomy's words (the code stays in the page's data, not its text).
    assert ticket["subject_label"] in page.inner_text("#caller .classification")
    assert ticket["subject"] not in page.inner_text("#caller .classification")

    # After the call: a consultation note on the ticket, then the seat is left.
    page.wait_for_selector("#note-form:not([hidden])")
    page.fill("#note-text", "已告知试用期解除需说明理由")
    page.click("#note-form button[type=submit]")
    page.wait_for_selector(".note:has-text('已告知试用期解除需说明理由')")
    # A consultation note is read by its lawyer, supervisors and admins only (not the operators' ticket_of).
    notes = [e for e in service.api.get(f"/api/calls/{call_sid}").json()["ticket"]["events"] if e["kind"] == "note"]
    assert not [e for e in service.ticket_of(call_sid)["events"] if e["kind"] == "note"]
    assert [(n["actor"], n["note"]) for n in notes] == [("lawyer-wang", "已告知试用期解除需说明理由")]
    snapshot(page, "lawyer")
    assert_chinese_renders(page)
    page.click("#seat-toggle")
    page.wait_for_selector("#signed-in[data-signed-in=false]")
    no_script_errors(page)
    page.context.close()


def test_supervisor_dashboard_draws_its_charts(setup, browser):
    service = setup.service
    supervisor = service.staff("sup-chen", "supervisor")
    clip = setup.says(sorted(ZH_SPEECH.glob("*.wav"))[1], "我在雁塔区小寨一家饭店打工老板两个月没发工资了")
    setup.call(["2"], clip)  # at least one call and ticket today
    figures = supervisor.get("/api/dashboard").json()
    assert figures["calls_today"]["calls_total"] >= 1 and figures["tickets"]["by_subject"]

    page = signed_in_page(browser, service.url, "/dashboard", "sup-chen", TEST_PASSWORD)
    page.wait_for_selector("body[data-refreshed]")
    for chart in (
        "chart-now",
        "chart-subject",
        "chart-class",
        "chart-state",
        "chart-satisfaction",
        "chart-lawyers",
        "chart-hotspots",
    ):
        assert page.locator(f"#{chart} svg.main-svg").count() > 0, f"{chart} drew nothing"
    drawn = page.evaluate("""() => Object.fromEntries(['chart-now', 'chart-subject', 'chart-satisfaction',
        'chart-hotspots', 'chart-lawyers'].map((id) => [id, document.getElementById(id).data]))""")
    by_subject = figures["tickets"]["by_subject"]  # codes in the API; the chart's axis shows their labels
    shown = {subject_label(default_taxonomy(), code): n for code, n in by_subject.items()}
    assert dict(zip(drawn["chart-subject"][0]["x"], drawn["chart-subject"][0]["y"], strict=False)) == shown
    assert page.locator("#chart-subject g.trace.bars path").count() == len(by_subject)
    assert drawn["chart-now"][0]["value"] == figures["calls_today"]["calls_total"]
    assert drawn["chart-satisfaction"][0]["x"] == [d["day"] for d in figures["satisfaction_trend"]]
    districts = sorted(figures["hot_spots"]["subject_by_district"])
    assert drawn["chart-hotspots"][0]["x"] == [district_label(d) for d in districts]
    assert page.locator("#chart-hotspots .hm image, #chart-hotspots .heatmaplayer image").count() == 1
    assert len(drawn["chart-lawyers"][0]["x"]) == figures["lawyers"]["on_duty"] == 2
    assert page.inner_text("#overdue-count") == f"({figures['deadlines']['overdue_count']})"

    # The reports page: a day's figures with a chart, CSV and HTML to download.
    snapshot(page, "dashboard")
    assert_chinese_renders(page)
    no_script_errors(page)
    page.goto("/reports")
    page.wait_for_selector("#report-table")
    report = supervisor.get("/api/reports/daily", params={"date": _today()}).json()
    rows = page.locator("#report-table tr")
    assert rows.first.get_attribute("data-key") == "calls_total"  # in the order of the report's definitions
    assert page.inner_text("#report-table tr[data-key=calls_total] td") == str(report["calls_total"])
    assert page.inner_text("#report-table tr[data-key=tickets] td") == str(report["tickets"])
    assert page.locator("#chart-subject g.trace.bars path").count() == len(report["by_subject"])
    csv_link = page.get_attribute("#downloads a[download]", "href")
    assert csv_link == f"/api/reports/daily?date={_today()}&format=csv"
    downloaded = page.request.get(csv_link)
    assert downloaded.status == 200 and "calls_total" in downloaded.text()
    snapshot(page, "reports")
    assert_chinese_renders(page)
    no_script_errors(page)
    page.context.close()


def test_a_wrong_role_is_refused_and_signed_out_goes_to_sign_in(setup, browser):
    service = setup.service
    service.staff("insp-qian", "inspector")
    page = signed_in_page(browser, service.url, "/qa", "insp-qian", TEST_PASSWORD)
    for path in ("/dashboard", "/lawyer", "/reports", "/feedback"):
        assert page.goto(path).status == 403, path
        assert "无权访问" in page.inner_text("h1")  # a page that says so, with the inspector's own menu
        assert page.locator("header nav a[href='/qa']").count() == 1
    assert page.request.get("/api/seat/current").status == 403
    assert page.request.get("/static/vendor/plotly.min.js").status == 200  # the chart library is served locally
    page.context.close()

    signed_out = browser.new_context(base_url=service.url)
    anonymous = signed_out.new_page()
    anonymous.goto("/lawyer")
    assert anonymous.url.endswith("/login?next=%2Flawyer")
    assert anonymous.request.get("/api/seat/callbacks").status == 401
    signed_out.close()


def test_seat_api_makes_a_ticket_once_keeps_notes_and_lists_callbacks_due(setup):
    """The lawyer console's own JSON (/api/seat), on known rows: a call L02 took that has no ticket yet."""
    service = setup.service
    lawyer = service.staff("lawyer-li", "lawyer", roster_id="L02")
    other = service.staff("lawyer-wang", "lawyer", roster_id="L01")
    engine = make_engine(f"sqlite:///{service.var_dir / 'hotline.db'}")
    now = utcnow()
    with transaction(make_session_factory(engine)) as session:
        call = Call(
            call_sid="CA-seat-1",
            from_number="+8613812345678",
            started_at=now - timedelta(minutes=5),
            ended_at=now - timedelta(minutes=1),
            handler="L02",
            handler_role="lawyer",
            status="completed",
        )
        session.add(call)
        # the call L02 took last (after the one of the first test), over now
        session.add(
            QueueEntry(
                call_sid="CA-seat-1",
                entered_at=now - timedelta(minutes=1),
                left_at=now,
                outcome="bridged",
                lawyer_id="L02",
                wait_s=60,
            )
        )
        session.add_all(
            [  # an earlier ticket of the same caller, and callbacks for L02, for nobody, for L01, done
                Ticket(
                    number="12351-20261101-0901",
                    caller_number="+8613812345678",
                    subject="wage_arrears",
                    summary="上次来电：欠薪",
                    created_at=now - timedelta(days=20),
                ),
                Ticket(
                    number="12351-20261101-0902",
                    route="lawyer_callback",
                    assigned_to="L02",
                    status="accepted",
                    caller_number="+8613900000001",
                    reply_due_at=now + timedelta(hours=5),
                ),
                Ticket(
                    number="12351-20261101-0903",
                    route="lawyer_callback",
                    assigned_to=None,
                    status="accepted",
                    caller_number="+8613900000002",
                    callback_number="+8613900000009",
                    reply_due_at=now + timedelta(hours=2),
                ),
                Ticket(number="12351-20261101-0904", route="lawyer_callback", assigned_to="L01", status="accepted"),
                Ticket(number="12351-20261101-0905", route="lawyer_callback", assigned_to="L02", status="replied"),
            ]
        )
    engine.dispose()

    current = lawyer.get("/api/seat/current").json()["call"]
    assert (current["call_sid"], current["live"], current["caller"], current["ticket"]) == (
        "CA-seat-1",
        False,
        "+8613812345678",
        None,
    )
    assert [t["number"] for t in current["history"]] == ["12351-20261101-0901"]
    no_ticket = lawyer.post("/api/seat/notes", json={"text": "已解答"})
    assert no_ticket.status_code == 409 and no_ticket.json()["code"] == "no_ticket"
    assert "请先建单" in no_ticket.json()["detail"]

    made = lawyer.post("/api/seat/ticket", json={"summary": "公司不给签劳动合同可以要求双倍工资吗"})
    assert made.status_code == 200, made.text
    assert made.json()["created"] is True and made.json()["assigned_to"] == "L02"
    assert made.json()["classification"]["subject"] == "labor_contract"
    again = lawyer.post("/api/seat/ticket", json={"summary": "重复提交"})  # a retried click: the same ticket
    assert (again.json()["number"], again.json()["created"]) == (made.json()["number"], False)
    assert service.ticket_of("CA-seat-1")["number"] == made.json()["number"]

    assert lawyer.post("/api/seat/notes", json={"text": "  "}).status_code == 422
    noted = lawyer.post("/api/seat/notes", json={"text": "建议先协商，协商不成可申请仲裁"})
    assert [(n["actor"], n["text"]) for n in noted.json()["notes"]] == [("lawyer-li", "建议先协商，协商不成可申请仲裁")]
    stranger = other.post("/api/seat/notes", json={"text": "x", "call_sid": "CA-seat-1"})
    assert stranger.status_code == 404 and stranger.json()["code"] == "not_your_call"
    assert "您（L01）" in stranger.json()["detail"]

    due = {t["number"]: t for t in lawyer.get("/api/seat/callbacks").json()}
    mine = [n for n in due if n.startswith("12351-20261101-09")]
    assert mine == ["12351-20261101-0903", "12351-20261101-0902"]  # soonest deadline first; not L01's, not replied
    assert due["12351-20261101-0903"]["callback_number"] == "+8613900000009"
    assert service.staff("insp-zhao", "inspector").get("/api/seat/callbacks").status_code == 403
